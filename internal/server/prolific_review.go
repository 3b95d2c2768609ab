package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// reviewParticipants is the one path by which approvals and rejections are
// made, for one participant or many: on a study linked to Prolific they go
// to Prolific first (approvals of several in one bulk approval), and only
// what Prolific accepted is recorded here; a rejection there needs a
// message of at least 100 characters and a category. Marking returned, and
// every action on an unlinked study, is recorded here only. It returns how
// many participants were acted on.
func (s *Server) reviewParticipants(ctx context.Context, st study.Study, ids []uuid.UUID, act postgres.Action, reason, category string) (int, error) {
	if len(ids) == 0 {
		return 0, study.Errorf(study.ECONFLICT, "No participant matches.")
	}
	link, linked, err := s.store.ProlificLinkOf(ctx, st.ID)
	if err != nil {
		return 0, err
	}
	if linked && (act == postgres.Approve || act == postgres.Reject) {
		if err := s.reviewOnProlific(ctx, link, st, ids, act, reason, category); err != nil {
			return 0, err
		}
	}
	for _, id := range ids {
		if err := s.store.ActOnParticipant(ctx, st.ID, id, act, reason); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

func (s *Server) reviewOnProlific(ctx context.Context, link postgres.ProlificLink, st study.Study, ids []uuid.UUID, act postgres.Action, reason, category string) error {
	c, err := s.prolificClient()
	if err != nil {
		return err
	}
	if act == postgres.Reject {
		if len([]rune(reason)) < prolific.MinRejectionMessage {
			return study.Errorf(study.EINVALID, "Prolific needs a rejection reason of at least %d characters (this one has %d): "+
				"the participant reads it.", prolific.MinRejectionMessage, len([]rune(reason)))
		}
		if !prolific.ValidRejectionCategory(category) {
			return study.Errorf(study.EINVALID, "Choose a rejection category: Prolific needs one.")
		}
	}
	targets, err := s.store.ReviewTargets(ctx, st.ID, ids)
	if err != nil {
		return err
	}
	sessions := make([]string, 0, len(targets))
	for _, t := range targets {
		if t.SessionID == "" {
			return study.Errorf(study.ECONFLICT, "Participant %s came without a SESSION_ID, so Prolific cannot be told: "+
				"review them on Prolific and mark them here.", t.PID)
		}
		if act == postgres.Approve && !t.Status.Allows(act) {
			return study.Errorf(study.ECONFLICT, "Participant %s is %s; only completed participants can be approved.", t.PID, t.Status)
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

// handleBulkApprove approves every completed participant that matches the
// monitor's filter (the pid prefix), leaving out those who failed an
// attention check unless with_failures is ticked; on a linked study through
// one bulk approval on Prolific.
func (s *Server) handleBulkApprove(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	q, _ := url.ParseQuery(r.PostFormValue("q"))
	f := monitorFilter(q)
	if f.Status != "" && f.Status != string(study.Completed) {
		return study.Errorf(study.ECONFLICT, "Only completed participants can be approved: filter by completed or by none.")
	}
	ids, err := s.store.ReviewableIDs(r.Context(), st.ID, f.PID, r.PostFormValue("with_failures") == "1")
	if err != nil {
		return err
	}
	n, err := s.reviewParticipants(r.Context(), st, ids, postgres.Approve, "", "")
	if err != nil {
		return err
	}
	v := filterQuery(f)
	v.Set("approved", strconv.Itoa(n))
	return redirect(w, r, studyURL(st.ID)+"?"+v.Encode())
}

// rejectionCategories are Prolific's rejection categories for a form.
func rejectionCategories() []web.Option {
	var out []web.Option
	for _, c := range prolific.RejectionCategories() {
		out = append(out, web.Option{Value: c[0], Label: c[1]})
	}
	return out
}
