package account

import (
	"time"

	"github.com/google/uuid"
)

// Admin is an experimenter's account.
type Admin struct {
	ID    uuid.UUID
	Email string
	Role  Role
}

// Role is what an account may do besides its own studies.
type Role string

// Roles. Every account works on the studies it owns or is a member of; an
// admin also manages accounts (create, role, disable).
const (
	Experimenter Role = "experimenter"
	RoleAdmin    Role = "admin"
)

// ParseRole reads a role by its name.
func ParseRole(s string) (Role, bool) {
	switch r := Role(s); r {
	case Experimenter, RoleAdmin:
		return r, true
	}
	return "", false
}

// ManagesAccounts reports whether an account of role r may create, change
// and disable accounts.
func (r Role) ManagesAccounts() bool { return r == RoleAdmin }

// Session is a logged-in experimenter: who, and the token every form of this
// session must carry back.
type Session struct {
	Admin     Admin
	CSRFToken string
	ExpiresAt time.Time
}

// Login limits, over the failed logins within Window. One address may fail
// MaxFailuresEmail times for one email and MaxFailuresIP times in all before
// it is refused: that stops one client guessing. Failures for an email from
// every address together never refuse anyone, since that would let anyone
// lock the owner out; past MaxFailuresEmail each attempt for that email
// waits EmailDelay(n) first, which makes guessing from many addresses slow.
const (
	Window           = 15 * time.Minute
	MaxFailuresEmail = 5
	MaxFailuresIP    = 20
	SessionLifetime  = 12 * time.Hour
)

// EmailDelay is how long a login for an email waits when that email has
// failed n times within Window from any address: nothing up to
// MaxFailuresEmail, then one second doubling to at most 16.
func EmailDelay(n int) time.Duration {
	if n < MaxFailuresEmail {
		return 0
	}
	return time.Second << min(n-MaxFailuresEmail, 4)
}
