package server

import (
	"github.com/go-chi/chi/v5"
)

// adminRoutes are the experimenter's routes, under /admin. Everything but
// the login form needs a session, and every unsafe method a CSRF token:
// the two middlewares wrap each of the groups below, so a route added
// there cannot forget them (admin_routes_test.go walks this table to prove it).
func (s *Server) adminRoutes(r chi.Router) {
	r.With(limitBody(maxAdminFormSize)).Get("/login", s.handle(s.handleLoginPage))
	r.With(limitBody(maxAdminFormSize), s.readForm).Post("/login", s.handle(s.handleLogin))

	// Model output files are far larger than any form: their own limit, and
	// parsed before the CSRF check reads the token from them.
	r.Group(func(r chi.Router) {
		r.Use(limitBody(maxModelUpload), s.requireAdmin, s.readUpload, s.checkCSRF)
		r.Post("/models", s.handle(s.handleModelUpload))
	})

	// A stimulus set's ZIP: larger still, and slow to arrive and import.
	r.Group(func(r chi.Router) {
		r.Use(limitBody(maxSetUpload), s.requireAdmin, slowUpload(setUploadTime), s.readUpload, s.checkCSRF)
		r.Post("/sets", s.handle(s.handleSetUpload))
	})

	reports := s.newReports()
	r.Group(func(r chi.Router) {
		r.Use(limitBody(maxAdminFormSize), s.requireAdmin, s.readForm, s.checkCSRF)
		r.Post("/logout", s.handle(s.handleLogout))
		r.Get("/", s.handle(s.handleStudyList))
		r.Get("/studies/new", s.handle(s.handleStudyNew))
		r.Post("/studies", s.handle(s.handleStudyCreate))
		r.Get("/export", s.handle(s.handleExport))
		r.Get("/export/download", s.handle(s.handleExportDownload))
		r.Get("/models", s.handle(s.handleModels))
		r.Get("/models/batch-input", s.handle(s.handleBatchInput))
		r.Get("/sets", s.handle(s.handleSets))
		r.Get("/prolific", s.handle(s.handleProlificPage))
		r.Get("/accounts", s.handle(s.handleAccounts))
		r.Post("/accounts", s.handle(s.handleAccountCreate))
		r.Get("/password", s.handle(s.handlePasswordPage))
		r.Post("/password", s.handle(s.handlePasswordChange))
		r.Post("/accounts/{account}/role", s.handle(s.handleAccountRole))
		r.Post("/accounts/{account}/disable", s.handle(s.handleAccountDisable))
		r.Get("/plan", s.handle(reports.plan))
		r.Route("/sets/{set}", func(r chi.Router) {
			r.Get("/", s.handle(s.handleSetBrowser))
			r.Get("/thumbs/{stimulus}", s.handle(s.handleThumbnail))
			r.Get("/report", s.handle(reports.page(s.setSubject)))
			r.Get("/report.csv", s.handle(reports.csv(s.setSubject)))
			r.Get("/report/{task}/{figure}", s.handle(reports.figure(s.setSubject)))
		})
		r.Route("/studies/{id}", func(r chi.Router) {
			r.Get("/", s.handle(s.handleStudy))
			r.Get("/edit", s.handle(s.handleStudyEdit))
			r.Post("/", s.handle(s.handleStudySave))
			r.Post("/status", s.handle(s.handleStudyStatus))
			r.Post("/duplicate", s.handle(s.handleStudyDuplicate))
			r.Post("/delete", s.handle(s.handleStudyDelete))
			r.Post("/archive", s.handle(s.handleStudyArchive))
			r.Post("/members", s.handle(s.handleMemberAdd))
			r.Post("/members/{account}/remove", s.handle(s.handleMemberRemove))
			r.Get("/monitor", s.handle(s.handleMonitor))
			r.Get("/live", s.handle(s.handleLive))
			r.Post("/stop-rule", s.handle(s.handleStopRule))
			r.Post("/participants/approve", s.handle(s.handleBulkApprove))
			r.Post("/participants/{participant}/{action}", s.handle(s.handleParticipantAction))
			r.Post("/undo/{review}", s.handle(s.handleUndo))
			r.Post("/checks", s.handle(s.handlePickChecks))
			r.Post("/practice-items", s.handle(s.handlePickPractice))
			r.Post("/prolific/link", s.handle(s.handleProlificLink))
			r.Post("/prolific/create", s.handle(s.handleProlificCreate))
			r.Post("/prolific/publish", s.handle(s.handleProlificPublish))
			r.Post("/prolific/places", s.handle(s.handleProlificPlaces))
			r.Post("/prolific/sync", s.handle(s.handleProlificSync))
			r.Post("/prolific/settings", s.handle(s.handleProlificStudySettings))
			r.Get("/payouts", s.handle(s.handlePayouts))
			r.Post("/payouts", s.handle(s.handleBonusExport))
			r.Get("/payouts/{number}/bonuses.csv", s.handle(s.handleBonusBatchCSV))
			r.Post("/payouts/{number}/paid", s.handle(s.handleBatchPaid))
			r.Post("/payouts/{number}/pay", s.handle(s.handleBatchPay))
			r.Get("/answers.csv", s.handle(s.handleAnswersCSV))
			r.Get("/participants.csv", s.handle(s.handlePayCSV))
			r.Get("/items.csv", s.handle(s.handleItemsCSV))
			r.Get("/soft", s.handle(s.handleSoftLabels))
			r.Get("/soft.csv", s.handle(s.handleSoftCSV))
			r.Get("/disagreements", s.handle(s.handleDisagreements))
			r.Get("/disagreements.csv", s.handle(s.handleDisagreementsCSV))
			r.Get("/items/{stimulus}/image", s.handle(s.handleStudyItemImage))
			r.Get("/report", s.handle(reports.page(s.studySubject)))
			r.Get("/report.csv", s.handle(reports.csv(s.studySubject)))
			r.Get("/report/{task}/{figure}", s.handle(reports.figure(s.studySubject)))
		})
	})
}
