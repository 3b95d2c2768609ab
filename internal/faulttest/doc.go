// Package faulttest holds cubelab's fault tests: the built server binary and
// a private PostgreSQL cluster, run as separate processes, are killed and
// restarted in the middle of a load run, and the database is then checked
// against every answer the server acknowledged. The package has no code of
// its own beyond the tests; they never touch the shared PostgreSQL on 5432.
package faulttest
