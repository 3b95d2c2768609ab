package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/problem"
)

// visibleTo is study.Study.VisibleTo in SQL, for the study aliased st and
// the account in parameter param: owner, member, or a study made without an
// account. TestVisibleToFollowsStudy holds the two equal.
func visibleTo(param string) string {
	return `(st.owner_id IS NULL OR st.owner_id = ` + param + ` OR EXISTS (SELECT 1 FROM study_members sm
		WHERE sm.study_id = st.id AND sm.admin_id = ` + param + `))`
}

// StudiesVisibleTo lists the studies the account sees (study.Study.VisibleTo),
// newest first, with participant counts, archived ones included.
func (s *Store) StudiesVisibleTo(ctx context.Context, viewer uuid.UUID) ([]StudySummary, error) {
	return s.studies(ctx, visibleTo("$1"), viewer)
}

// StudyMembers are the owner's email ("" for none) and the members' emails
// of a study, with their ids.
type StudyMembers struct {
	Owner   account.Admin
	Members []account.Admin
}

// MembersOf reads a study's owner and members, ordered by email.
func (s *Store) MembersOf(ctx context.Context, studyID uuid.UUID) (StudyMembers, error) {
	var m StudyMembers
	rows, err := s.pool.Query(ctx, `
		SELECT a.id, a.email, a.role, a.id = st.owner_id FROM studies st
		JOIN admins a ON a.id = st.owner_id OR a.id IN (SELECT admin_id FROM study_members WHERE study_id = st.id)
		WHERE st.id = $1 ORDER BY a.email`, studyID)
	if err != nil {
		return m, fmt.Errorf("postgres: members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a account.Admin
		var owner bool
		if err := rows.Scan(&a.ID, &a.Email, &a.Role, &owner); err != nil {
			return m, fmt.Errorf("postgres: members: %w", err)
		}
		if owner {
			m.Owner = a
		} else {
			m.Members = append(m.Members, a)
		}
	}
	if err := rows.Err(); err != nil {
		return m, fmt.Errorf("postgres: members: %w", err)
	}
	return m, nil
}

// MemberIDs lists the ids of a study's members (not its owner).
func (s *Store) MemberIDs(ctx context.Context, studyID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `SELECT admin_id FROM study_members WHERE study_id = $1`, studyID)
	if err != nil {
		return nil, fmt.Errorf("postgres: members: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("postgres: members: %w", err)
	}
	return ids, nil
}

// AddStudyMember gives the account with this email access to the study.
func (s *Store) AddStudyMember(ctx context.Context, studyID uuid.UUID, email, actor string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var id uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id FROM admins WHERE email = $1 AND disabled_at IS NULL`, email).Scan(&id)
		if err == pgx.ErrNoRows {
			return problem.Errorf(problem.EINVALID, "There is no account %s. An admin creates accounts.", email)
		} else if err != nil {
			return fmt.Errorf("postgres: add member: %w", err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO study_members (study_id, admin_id)
			SELECT $1, $2 FROM studies WHERE id = $1 AND owner_id IS DISTINCT FROM $2
			ON CONFLICT DO NOTHING`, studyID, id)
		if err != nil {
			return fmt.Errorf("postgres: add member: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		return logChange(ctx, tx, studyID, 0, actor, "member "+email+" added")
	})
}

// RemoveStudyMember takes a member's access away.
func (s *Store) RemoveStudyMember(ctx context.Context, studyID, member uuid.UUID, actor string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var email string
		err := tx.QueryRow(ctx, `DELETE FROM study_members sm USING admins a
			WHERE sm.study_id = $1 AND sm.admin_id = $2 AND a.id = sm.admin_id RETURNING a.email`, studyID, member).Scan(&email)
		if err == pgx.ErrNoRows {
			return nil
		} else if err != nil {
			return fmt.Errorf("postgres: remove member: %w", err)
		}
		return logChange(ctx, tx, studyID, 0, actor, "member "+email+" removed")
	})
}

// AccountRow is an account as the accounts page lists it.
type AccountRow struct {
	account.Admin
	Disabled  bool
	CreatedAt time.Time
	Studies   int // studies it owns
}

// Accounts lists every account by email.
func (s *Store) Accounts(ctx context.Context) ([]AccountRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT a.id, a.email, a.role, a.disabled_at IS NOT NULL, a.created_at,
		(SELECT count(*) FROM studies st WHERE st.owner_id = a.id)
		FROM admins a ORDER BY a.email`)
	if err != nil {
		return nil, fmt.Errorf("postgres: accounts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AccountRow, error) {
		var a AccountRow
		return a, r.Scan(&a.ID, &a.Email, &a.Role, &a.Disabled, &a.CreatedAt, &a.Studies)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: accounts: %w", err)
	}
	return out, nil
}

// SetAccountRole sets an account's role. The last enabled admin cannot stop
// being one: someone must be able to manage accounts.
func (s *Store) SetAccountRole(ctx context.Context, email string, role account.Role) error {
	return s.changeAccount(ctx, email, func(tx pgx.Tx, id uuid.UUID) error {
		_, err := tx.Exec(ctx, `UPDATE admins SET role = $2 WHERE id = $1`, id, string(role))
		return err
	})
}

// SetAccountDisabled disables an account (its sessions end at once; it can
// no longer log in) or enables it again. The last enabled admin cannot be
// disabled.
func (s *Store) SetAccountDisabled(ctx context.Context, email string, disabled bool) error {
	return s.changeAccount(ctx, email, func(tx pgx.Tx, id uuid.UUID) error {
		if _, err := tx.Exec(ctx, `UPDATE admins SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, now()) END WHERE id = $1`, id, disabled); err != nil {
			return err
		}
		if disabled {
			_, err := tx.Exec(ctx, `DELETE FROM admin_sessions WHERE admin_id = $1`, id)
			return err
		}
		return nil
	})
}

// changeAccount runs change on the account with this email, then refuses
// the whole change if no enabled admin is left. Accounts are locked in one
// order (the admins table, by a table lock) so that two changes cannot
// each leave the other's admin as the last one.
func (s *Store) changeAccount(ctx context.Context, email string, change func(pgx.Tx, uuid.UUID) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE admins IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("postgres: lock accounts: %w", err)
		}
		var id uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id FROM admins WHERE email = $1`, email).Scan(&id)
		if err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "There is no account %s.", email)
		} else if err != nil {
			return fmt.Errorf("postgres: account: %w", err)
		}
		if err := change(tx, id); err != nil {
			return fmt.Errorf("postgres: change account: %w", err)
		}
		var admins int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM admins WHERE role = $1 AND disabled_at IS NULL`,
			string(account.RoleAdmin)).Scan(&admins); err != nil {
			return fmt.Errorf("postgres: count admins: %w", err)
		}
		if admins == 0 {
			return problem.Errorf(problem.ECONFLICT, "%s is the last enabled admin: make another account admin first, so that someone can manage accounts.", email)
		}
		return nil
	})
}
