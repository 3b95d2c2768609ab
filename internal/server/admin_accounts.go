package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// Accounts and study members (issue 16, item 7): an account sees only the
// studies it owns or is a member of (visibleStudy); the owner, or an
// account whose role manages accounts, adds and removes members; an admin
// changes roles and disables accounts.

// mayManageMembers reports whether the request's account may change who
// sees st: its owner, or an admin.
func mayManageMembers(r *http.Request, st study.Study) bool {
	a := adminSession(r).Admin
	return st.OwnerID == a.ID || a.Role.ManagesAccounts()
}

// membersView is the members panel of a study's page.
func (s *Server) membersView(r *http.Request, st study.Study) (web.MembersView, error) {
	m, err := s.store.MembersOf(r.Context(), st.ID)
	if err != nil {
		return web.MembersView{}, err
	}
	v := web.MembersView{Base: studyURL(st.ID), CSRF: adminSession(r).CSRFToken, Owner: m.Owner.Email,
		Manage: mayManageMembers(r, st)}
	for _, a := range m.Members {
		v.Members = append(v.Members, web.Option{Value: a.ID.String(), Label: a.Email})
	}
	return v, nil
}

// handleMemberAdd gives an account access to the study.
func (s *Server) handleMemberAdd(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	if !mayManageMembers(r, st) {
		return problem.Errorf(problem.EFORBIDDEN, "Only the study's owner or an admin can change who sees it.")
	}
	email, err := account.NormalizeEmail(r.PostFormValue("email"))
	if err != nil {
		return problem.Errorf(problem.EINVALID, "Give the email of an account to add as a member.")
	}
	if err := s.store.AddStudyMember(r.Context(), st.ID, email, adminSession(r).Admin.Email); err != nil {
		return err
	}
	return redirect(w, r, studyURL(st.ID)+"#members-h")
}

// handleMemberRemove takes a member's access away.
func (s *Server) handleMemberRemove(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	if !mayManageMembers(r, st) {
		return problem.Errorf(problem.EFORBIDDEN, "Only the study's owner or an admin can change who sees it.")
	}
	id, err := uuid.Parse(chi.URLParam(r, "account"))
	if err != nil {
		return problem.Errorf(problem.ENOTFOUND, "There is no such member.")
	}
	if err := s.store.RemoveStudyMember(r.Context(), st.ID, id, adminSession(r).Admin.Email); err != nil {
		return err
	}
	return redirect(w, r, studyURL(st.ID)+"#members-h")
}

// requireAccountAdmin lets only accounts whose role manages accounts
// through; for anyone else the accounts pages do not exist (404).
func requireAccountAdmin(r *http.Request) error {
	if !adminSession(r).Admin.Role.ManagesAccounts() {
		return problem.Errorf(problem.ENOTFOUND, "There is no such page.")
	}
	return nil
}

// handleAccounts lists the accounts, with their roles and whether they are
// disabled, for an admin.
func (s *Server) handleAccounts(w http.ResponseWriter, r *http.Request) error {
	if err := requireAccountAdmin(r); err != nil {
		return err
	}
	v, err := s.accountsView(r)
	if err != nil {
		return err
	}
	v.Notice = r.URL.Query().Get("done")
	return render(w, r, http.StatusOK, web.Accounts(v))
}

// accountsView is the accounts page with every account.
func (s *Server) accountsView(r *http.Request) (web.AccountsView, error) {
	list, err := s.store.Accounts(r.Context())
	if err != nil {
		return web.AccountsView{}, err
	}
	v := web.AccountsView{AdminPage: adminPage(r, "Accounts", "accounts")}
	self := adminSession(r).Admin.ID
	for _, a := range list {
		v.Accounts = append(v.Accounts, web.AccountRow{ID: a.ID.String(), Email: a.Email, Role: string(a.Role),
			Disabled: a.Disabled, Created: when(a.CreatedAt), Studies: a.Studies, Self: a.ID == self})
	}
	return v, nil
}

// handleAccountCreate makes an account with the role chosen and a new
// password, shown on the page this once (never in a URL or a log).
func (s *Server) handleAccountCreate(w http.ResponseWriter, r *http.Request) error {
	if err := requireAccountAdmin(r); err != nil {
		return err
	}
	ctx := r.Context()
	typed, roleName := strings.TrimSpace(r.PostFormValue("email")), strings.TrimSpace(r.PostFormValue("role"))
	refuse := func(status int, msg string) error {
		v, err := s.accountsView(r)
		if err != nil {
			return err
		}
		v.Error, v.Email, v.Role = msg, typed, roleName
		return render(w, r, status, web.Accounts(v))
	}
	email, err := account.NormalizeEmail(typed)
	if err != nil {
		return refuse(http.StatusUnprocessableEntity, "The email is not an address: "+problem.Message(err))
	}
	role, ok := account.ParseRole(roleName)
	if !ok {
		return refuse(http.StatusUnprocessableEntity, "Choose a role: admin or experimenter.")
	}
	password := newPassword()
	hash, err := account.Hash(password, account.DefaultParams())
	if err != nil {
		return err
	}
	if _, err := s.store.CreateAccount(ctx, email, hash, role); problem.Code(err) == problem.ECONFLICT {
		return refuse(http.StatusConflict, "An account for "+email+" already exists.")
	} else if err != nil {
		return err
	}
	v, err := s.accountsView(r)
	if err != nil {
		return err
	}
	v.Created = &web.NewAccount{Email: email, Role: string(role), Password: password}
	w.Header().Set("Cache-Control", "no-store")
	return render(w, r, http.StatusCreated, web.Accounts(v))
}

// accountParam finds the account of an /admin/accounts/{account} route.
func (s *Server) accountParam(r *http.Request) (account.Admin, error) {
	id, err := uuid.Parse(chi.URLParam(r, "account"))
	if err == nil {
		list, lerr := s.store.Accounts(r.Context())
		if lerr != nil {
			return account.Admin{}, lerr
		}
		for _, a := range list {
			if a.ID == id {
				return a.Admin, nil
			}
		}
	}
	return account.Admin{}, problem.Errorf(problem.ENOTFOUND, "There is no such account.")
}

// handleAccountRole makes an account an admin or an experimenter.
func (s *Server) handleAccountRole(w http.ResponseWriter, r *http.Request) error {
	if err := requireAccountAdmin(r); err != nil {
		return err
	}
	a, err := s.accountParam(r)
	if err != nil {
		return err
	}
	role, ok := account.ParseRole(strings.TrimSpace(r.PostFormValue("role")))
	if !ok {
		return problem.Errorf(problem.EINVALID, "Choose a role: admin or experimenter.")
	}
	if err := s.store.SetAccountRole(r.Context(), a.Email, role); err != nil {
		return err
	}
	return redirect(w, r, "/admin/accounts?done="+url.QueryEscape(a.Email+" is now "+string(role)+"."))
}

// handleAccountDisable disables an account (disable=1: its sessions end at
// once) or enables it again (disable=0).
func (s *Server) handleAccountDisable(w http.ResponseWriter, r *http.Request) error {
	if err := requireAccountAdmin(r); err != nil {
		return err
	}
	a, err := s.accountParam(r)
	if err != nil {
		return err
	}
	var disable bool
	switch r.PostFormValue("disable") {
	case "1":
		disable = true
	case "0":
	default:
		return problem.Errorf(problem.EINVALID, "Say whether to disable the account (1) or enable it (0).")
	}
	if err := s.store.SetAccountDisabled(r.Context(), a.Email, disable); err != nil {
		return err
	}
	done := a.Email + " is enabled."
	if disable {
		done = a.Email + " is disabled: it cannot log in, and its sessions have ended."
	}
	return redirect(w, r, "/admin/accounts?done="+url.QueryEscape(done))
}
