package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// TestVisibleToFollowsStudy holds the listing's SQL (visibleTo) equal to
// study.Study.VisibleTo for owners, members, others and studies made
// without an account; and the first account is an admin, the next not.
func TestVisibleToFollowsStudy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	var accounts []uuid.UUID
	for i := range 3 {
		id, err := store.CreateAdmin(ctx, fmt.Sprintf("a%d@example.org", i), "$argon2id$x")
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, id)
	}
	list, err := store.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if want := map[bool]account.Role{true: account.RoleAdmin, false: account.Experimenter}[a.ID == accounts[0]]; a.Role != want {
			t.Errorf("%s has role %q, want %q", a.Email, a.Role, want)
		}
	}
	base := pgtest.NewStudy(t, store, "nobodys", 2) // made without an account
	owned := base
	owned.ID, owned.Slug, owned.OwnerID = uuid.Nil, "owned", accounts[0]
	if err := store.CreateStudy(ctx, &owned); err != nil {
		t.Fatal(err)
	}
	if err := store.AddStudyMember(ctx, owned.ID, "a1@example.org", "a0@example.org"); err != nil {
		t.Fatal(err)
	}
	for _, viewer := range accounts {
		got, err := store.StudiesVisibleTo(ctx, viewer)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uuid.UUID]bool{}
		for _, s := range got {
			seen[s.ID] = true
		}
		for _, st := range []study.Study{base, owned} {
			st, err := store.StudyByID(ctx, st.ID)
			if err != nil {
				t.Fatal(err)
			}
			members, err := store.MemberIDs(ctx, st.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := st.VisibleTo(viewer, members); seen[st.ID] != want {
				t.Errorf("study %s for account %s: listed %v, VisibleTo %v", st.Slug, viewer, seen[st.ID], want)
			}
		}
	}
	if err := store.SetAccountDisabled(ctx, "a0@example.org", true); problem.Code(err) != problem.ECONFLICT {
		t.Errorf("disable the only admin: %v", err)
	}
}
