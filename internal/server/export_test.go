package server

// HoldLogins takes every place of the login semaphore, as logins in progress
// would, until release is called.
func (s *Server) HoldLogins() (release func()) {
	for range cap(s.logins) {
		s.logins <- struct{}{}
	}
	return func() {
		for range cap(s.logins) {
			<-s.logins
		}
	}
}
