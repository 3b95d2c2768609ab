package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/cubelab/cubelab/web"
)

// Handler is every route of cubelab. All routes live in this one function,
// so that the whole surface of the server can be read in one place.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer, s.logRequests, s.securityHeaders, s.checkInput)

	r.Get("/healthz", s.handleHealth)
	r.Handle("/static/*", http.StripPrefix("/static/", staticFiles(web.Static())))

	// The participant path. Every page after the entry identifies the
	// participant by the study's cookie alone.
	r.Route("/s/{slug}", func(r chi.Router) {
		r.Use(limitBody(16<<10), s.participantOrigin, s.readForm)
		r.With(s.limitEntry).Get("/", s.handle(s.handleEntry))
		r.Get("/example", s.handle(s.handleExampleImage))
		r.Get("/consent", s.handle(s.handleConsent))
		r.Post("/consent", s.handle(s.handleConsentSave))
		r.Get("/instructions", s.handle(s.handleInstructions))
		r.Get("/about-you", s.handle(s.handleDemographics))
		r.Post("/about-you", s.handle(s.handleDemographicsSave))
		r.Get("/trial", s.handle(s.handleTrial))
		r.Post("/trial", s.handle(s.handleAnswer))
		r.Get("/image/{position}", s.handle(s.handleTrialImage))
		r.Get("/break", s.handle(s.handleBreak))
		r.Get("/practice", s.handle(s.handlePractice))
		r.Post("/practice", s.handle(s.handlePracticeAnswer))
		r.Get("/practice/feedback/{position}", s.handle(s.handlePracticeFeedback))
		r.Get("/practice/image/{position}", s.handle(s.handlePracticeImage))
		r.Get("/done", s.handle(s.handleEnd))
		r.Get("/time-up", s.handle(s.handleTimeUp))

		// The preview: the same pages, state in the URL, nothing recorded;
		// a draft's or a closed study's only for a logged-in researcher.
		r.Get("/preview", s.handle(s.handlePreviewStart))
		r.Get("/preview/instructions", s.handle(s.handlePreviewInstructions))
		r.Get("/preview/trial/{position}", s.handle(s.handlePreviewTrial))
		r.Get("/preview/answer", s.handle(s.handlePreviewAnswer))
		r.Get("/preview/break/{done}", s.handle(s.handlePreviewBreak))
		r.Get("/preview/practice/{position}", s.handle(s.handlePreviewPractice))
		r.Get("/preview/practice/answer", s.handle(s.handlePreviewPracticeAnswer))
		r.Get("/preview/practice/feedback/{position}", s.handle(s.handlePreviewPracticeFeedback))
		r.Get("/preview/practice/image/{position}", s.handle(s.handlePreviewPracticeImage))
		r.Get("/preview/image/{position}", s.handle(s.handlePreviewImage))
		r.Get("/preview/done", s.handle(s.handlePreviewEnd))
	})

	// Prolific's hooks: signed with the workspace secret, checked before
	// anything is read (prolific_side.go).
	r.With(limitBody(64<<10)).Post("/prolific/webhook", s.handleProlificWebhook)

	// The experimenters' side (admin_routes.go): every route but the login
	// form needs a session, every unsafe one a CSRF token.
	r.Route("/admin", s.adminRoutes)

	r.NotFound(s.handle(notFound))
	r.MethodNotAllowed(s.methodNotAllowed(r))
	return r
}
