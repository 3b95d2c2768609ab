// Package db holds cubelab's SQL migrations, embedded in the binary so that the
// server applies exactly the schema it was built for.
package db

import (
	"embed"
	"io/fs"
)

// files sits here, not in internal/postgres, because go:embed cannot reach
// outside the directory of the package that embeds.
//
//go:embed migrations/*.sql
var files embed.FS

// Migrations is the folder of golang-migrate files (NNNNNN_name.up.sql and
// .down.sql) at its root.
func Migrations() fs.FS {
	sub, err := fs.Sub(files, "migrations")
	if err != nil {
		// fs.Sub fails only on an invalid path, and "migrations" is a constant.
		panic(err)
	}
	return sub
}
