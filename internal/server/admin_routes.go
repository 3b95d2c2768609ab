package server

import (
	"github.com/go-chi/chi/v5"
)

// adminRoutes are the experimenter's routes, under /admin. Everything but
// the login form needs a session, and every unsafe method a CSRF token:
// the two middlewares wrap the whole group, so a route added here cannot
// forget them (admin_routes_test.go walks this table to prove it).
func (s *Server) adminRoutes(r chi.Router) {
	r.Use(limitBody(maxAdminFormSize))
	r.Get("/login", s.adminHandle(s.handleLoginPage))
	r.Post("/login", s.adminHandle(s.handleLogin))

	r.Group(func(r chi.Router) {
		r.Use(s.requireAdmin, s.checkCSRF)
		r.Post("/logout", s.adminHandle(s.handleLogout))
		r.Get("/", s.adminHandle(s.handleStudyList))
		r.Get("/studies/new", s.adminHandle(s.handleStudyNew))
		r.Post("/studies", s.adminHandle(s.handleStudyCreate))
		r.Get("/export", s.adminHandle(s.handleExport))
		r.Get("/export/download", s.adminHandle(s.handleExportDownload))
		r.Route("/studies/{id}", func(r chi.Router) {
			r.Get("/", s.adminHandle(s.handleStudy))
			r.Get("/edit", s.adminHandle(s.handleStudyEdit))
			r.Post("/", s.adminHandle(s.handleStudySave))
			r.Post("/status", s.adminHandle(s.handleStudyStatus))
			r.Get("/monitor", s.adminHandle(s.handleMonitor))
			r.Post("/participants/{participant}/{action}", s.adminHandle(s.handleParticipantAction))
			r.Get("/payouts", s.adminHandle(s.handlePayouts))
			r.Post("/payouts", s.adminHandle(s.handleBonusExport))
			r.Get("/payouts/{number}/bonuses.csv", s.adminHandle(s.handleBonusBatchCSV))
			r.Post("/payouts/{number}/paid", s.adminHandle(s.handleBatchPaid))
			r.Get("/answers.csv", s.adminHandle(s.handleAnswersCSV))
			r.Get("/participants.csv", s.adminHandle(s.handlePayCSV))
		})
	})
}
