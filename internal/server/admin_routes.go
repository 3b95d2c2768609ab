package server

import (
	"github.com/go-chi/chi/v5"
)

// adminRoutes are the experimenter's routes, under /admin. Everything but
// the login form needs a session, and every unsafe method a CSRF token:
// the two middlewares wrap each of the groups below, so a route added
// there cannot forget them (admin_routes_test.go walks this table to prove it).
func (s *Server) adminRoutes(r chi.Router) {
	r.With(limitBody(maxAdminFormSize)).Get("/login", s.adminHandle(s.handleLoginPage))
	r.With(limitBody(maxAdminFormSize), s.readForm).Post("/login", s.adminHandle(s.handleLogin))

	// Model output files are far larger than any form: their own limit, and
	// parsed before the CSRF check reads the token from them.
	r.Group(func(r chi.Router) {
		r.Use(limitBody(maxModelUpload), s.requireAdmin, s.readUpload, s.checkCSRF)
		r.Post("/models", s.adminHandle(s.handleModelUpload))
	})

	// A stimulus set's ZIP: larger still, and slow to arrive and import.
	r.Group(func(r chi.Router) {
		r.Use(limitBody(maxSetUpload), s.requireAdmin, slowUpload(setUploadTime), s.readUpload, s.checkCSRF)
		r.Post("/sets", s.adminHandle(s.handleSetUpload))
	})

	reports := s.newReports()
	r.Group(func(r chi.Router) {
		r.Use(limitBody(maxAdminFormSize), s.requireAdmin, s.readForm, s.checkCSRF)
		r.Post("/logout", s.adminHandle(s.handleLogout))
		r.Get("/", s.adminHandle(s.handleStudyList))
		r.Get("/studies/new", s.adminHandle(s.handleStudyNew))
		r.Post("/studies", s.adminHandle(s.handleStudyCreate))
		r.Get("/export", s.adminHandle(s.handleExport))
		r.Get("/export/download", s.adminHandle(s.handleExportDownload))
		r.Get("/models", s.adminHandle(s.handleModels))
		r.Get("/models/batch-input", s.adminHandle(s.handleBatchInput))
		r.Get("/sets", s.adminHandle(s.handleSets))
		r.Get("/prolific", s.adminHandle(s.handleProlificPage))
		r.Get("/accounts", s.adminHandle(s.handleAccounts))
		r.Post("/accounts/{account}/role", s.adminHandle(s.handleAccountRole))
		r.Post("/accounts/{account}/disable", s.adminHandle(s.handleAccountDisable))
		r.Get("/plan", s.adminHandle(reports.plan))
		r.Route("/sets/{set}", func(r chi.Router) {
			r.Get("/", s.adminHandle(s.handleSetBrowser))
			r.Get("/thumbs/{stimulus}", s.adminHandle(s.handleThumbnail))
			r.Get("/report", s.adminHandle(reports.page(s.setSubject)))
			r.Get("/report.csv", s.adminHandle(reports.csv(s.setSubject)))
			r.Get("/report/{task}/{figure}", s.adminHandle(reports.figure(s.setSubject)))
		})
		r.Route("/studies/{id}", func(r chi.Router) {
			r.Get("/", s.adminHandle(s.handleStudy))
			r.Get("/edit", s.adminHandle(s.handleStudyEdit))
			r.Post("/", s.adminHandle(s.handleStudySave))
			r.Post("/status", s.adminHandle(s.handleStudyStatus))
			r.Post("/duplicate", s.adminHandle(s.handleStudyDuplicate))
			r.Post("/delete", s.adminHandle(s.handleStudyDelete))
			r.Post("/archive", s.adminHandle(s.handleStudyArchive))
			r.Post("/members", s.adminHandle(s.handleMemberAdd))
			r.Post("/members/{account}/remove", s.adminHandle(s.handleMemberRemove))
			r.Get("/monitor", s.adminHandle(s.handleMonitor))
			r.Post("/participants/approve", s.adminHandle(s.handleBulkApprove))
			r.Post("/participants/{participant}/{action}", s.adminHandle(s.handleParticipantAction))
			r.Post("/undo/{review}", s.adminHandle(s.handleUndo))
			r.Post("/checks", s.adminHandle(s.handlePickChecks))
			r.Post("/prolific/link", s.adminHandle(s.handleProlificLink))
			r.Post("/prolific/create", s.adminHandle(s.handleProlificCreate))
			r.Post("/prolific/publish", s.adminHandle(s.handleProlificPublish))
			r.Post("/prolific/places", s.adminHandle(s.handleProlificPlaces))
			r.Post("/prolific/sync", s.adminHandle(s.handleProlificSync))
			r.Post("/prolific/settings", s.adminHandle(s.handleProlificStudySettings))
			r.Get("/payouts", s.adminHandle(s.handlePayouts))
			r.Post("/payouts", s.adminHandle(s.handleBonusExport))
			r.Get("/payouts/{number}/bonuses.csv", s.adminHandle(s.handleBonusBatchCSV))
			r.Post("/payouts/{number}/paid", s.adminHandle(s.handleBatchPaid))
			r.Post("/payouts/{number}/pay", s.adminHandle(s.handleBatchPay))
			r.Get("/answers.csv", s.adminHandle(s.handleAnswersCSV))
			r.Get("/participants.csv", s.adminHandle(s.handlePayCSV))
			r.Get("/items.csv", s.adminHandle(s.handleItemsCSV))
			r.Get("/soft", s.adminHandle(s.handleSoftLabels))
			r.Get("/soft.csv", s.adminHandle(s.handleSoftCSV))
			r.Get("/disagreements", s.adminHandle(s.handleDisagreements))
			r.Get("/disagreements.csv", s.adminHandle(s.handleDisagreementsCSV))
			r.Get("/items/{stimulus}/image", s.adminHandle(s.handleStudyItemImage))
			r.Get("/report", s.adminHandle(reports.page(s.studySubject)))
			r.Get("/report.csv", s.adminHandle(reports.csv(s.studySubject)))
			r.Get("/report/{task}/{figure}", s.adminHandle(reports.figure(s.studySubject)))
		})
	})
}
