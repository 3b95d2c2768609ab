package server

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// reviewParticipants is the one path by which approvals and rejections are
// made, for one participant or many: on a study linked to Prolific they go
// to Prolific first (approvals of several in one bulk approval), and only
// what Prolific accepted is recorded here; a rejection there needs a
// message of at least 100 characters and a category. Marking returned, and
// every action on an unlinked study, is recorded here only. Every review is
// logged with who took it (by) and whether it went to Prolific, which is
// what decides whether it can be undone (study.MayUndo).
func (s *Server) reviewParticipants(ctx context.Context, st study.Study, ids []uuid.UUID, act postgres.Action, reason, category string, by uuid.UUID) error {
	if len(ids) == 0 {
		return problem.Errorf(problem.ECONFLICT, "No participant matches.")
	}
	link, linked, err := s.store.ProlificLinkOf(ctx, st.ID)
	if err != nil {
		return err
	}
	sent := linked && (act == postgres.Approve || act == postgres.Reject)
	if sent {
		if err := s.reviewOnProlific(ctx, link, st, ids, act, reason, category); err != nil {
			return err
		}
	}
	_, err = s.store.Review(ctx, st.ID, ids, act, reason, postgres.ReviewLog{By: by, At: s.now(), SentToProlific: sent})
	return err
}

func (s *Server) reviewOnProlific(ctx context.Context, link postgres.ProlificLink, st study.Study, ids []uuid.UUID, act postgres.Action, reason, category string) error {
	c, err := s.prolificClient()
	if err != nil {
		return err
	}
	if act == postgres.Reject {
		if err := checkRejection(true, reason, category); err != nil {
			return err
		}
	}
	targets, err := s.store.ReviewTargets(ctx, st.ID, ids)
	if err != nil {
		return err
	}
	sessions := make([]string, 0, len(targets))
	for _, t := range targets {
		if t.SessionID == "" {
			return problem.Errorf(problem.ECONFLICT, "Participant %s came without a SESSION_ID, so Prolific cannot be told: "+
				"review them on Prolific and mark them here.", t.PID)
		}
		if act == postgres.Approve && !t.Status.Allows(act) {
			return problem.Errorf(problem.ECONFLICT, "Participant %s is %s; only completed participants can be approved.", t.PID, t.Status)
		}
		sessions = append(sessions, t.SessionID)
	}
	// Not cancelled with the request: once sent, Prolific's answer must be
	// heard so that the record here matches.
	ctx = context.WithoutCancel(ctx)
	switch {
	case act == postgres.Approve && len(sessions) == 1:
		err = c.Approve(ctx, sessions[0])
	case act == postgres.Approve:
		err = c.BulkApprove(ctx, sessions)
	default:
		for _, id := range sessions {
			if err = c.Reject(ctx, id, reason, category); err != nil {
				break
			}
		}
	}
	if err != nil {
		msg := prolific.Message(err)
		if rerr := s.store.RecordProlificError(ctx, st.ID, "Review: "+msg); rerr != nil {
			s.log.Warn("recording a prolific error failed", "err", rerr)
		}
		return prolificError(err)
	}
	return nil
}

// checkRejection refuses a rejection without a reason, or on a study linked
// to Prolific one whose reason is shorter than Prolific takes or that has no
// category: checked before the confirmation is asked for.
func checkRejection(linked bool, reason, category string) error {
	if strings.TrimSpace(reason) == "" {
		return problem.Errorf(problem.EINVALID, "A rejection needs a reason: Prolific shows it to the participant.")
	}
	if !linked {
		return nil
	}
	if len([]rune(reason)) < prolific.MinRejectionMessage {
		return problem.Errorf(problem.EINVALID, "Prolific needs a rejection reason of at least %d characters (this one has %d): "+
			"the participant reads it.", prolific.MinRejectionMessage, len([]rune(reason)))
	}
	if !prolific.ValidRejectionCategory(category) {
		return problem.Errorf(problem.EINVALID, "Choose a rejection category: Prolific needs one.")
	}
	return nil
}

// rejectionCategories are Prolific's rejection categories for a form.
func rejectionCategories() []web.Option {
	var out []web.Option
	for _, c := range prolific.RejectionCategories() {
		out = append(out, web.Option{Value: c[0], Label: c[1]})
	}
	return out
}
