// Package architecture holds no code: its test reads the import graph with
// `go list` and fails on an edge that docs/ARCHITECTURE.md forbids.
package architecture
