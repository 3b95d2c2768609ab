package account

import (
	"time"

	"github.com/google/uuid"
)

// Admin is an experimenter's account.
type Admin struct {
	ID    uuid.UUID
	Email string
}

// Session is a logged-in experimenter: who, and the token every form of this
// session must carry back.
type Session struct {
	Admin     Admin
	CSRFToken string
	ExpiresAt time.Time
}

// Login limits: after this many failed logins within Window, from one
// address or for one email, further attempts are refused until older
// failures leave the window. Per email stops guessing one account from many
// addresses; per address stops one client trying many accounts.
const (
	Window           = 15 * time.Minute
	MaxFailuresEmail = 5
	MaxFailuresIP    = 20
	SessionLifetime  = 12 * time.Hour
)
