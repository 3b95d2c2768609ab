# make run   serves the platform with a ready demo study (PostgreSQL found or started by scripts/db.sh)
# make test  checks generated files, vets, runs staticcheck, and runs every test (the import rules of
#            docs/ARCHITECTURE.md among them) against a real PostgreSQL and Chromium
SHELL := /bin/bash
GO ?= go
ADDR ?= :8080

.PHONY: run test race generate bench

run:
	@url=$$(scripts/db.sh) && DATABASE_URL="$$url" $(GO) run ./cmd/server serve -addr $(ADDR) -demo

test:
	@scripts/need.sh
	@scripts/check-generated.sh
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@url=$$(scripts/db.sh) && DATABASE_URL="$$url" $(GO) test -count=1 -timeout 12m ./...

# race: the packages with concurrency under the race detector, browser tests
# left out (too slow for make test on two cores; .ci/run runs it after make test)
race:
	@scripts/need.sh
	@url=$$(scripts/db.sh) && DATABASE_URL="$$url" $(GO) test -race -count=1 -timeout 25m -skip Browser \
		./internal/postgres/... ./internal/server/... ./internal/analysis ./internal/stimulus

generate:
	$(GO) tool templ generate

bench:
	@url=$$(scripts/db.sh) && DATABASE_URL="$$url" $(GO) test -run '^$$' -bench . -benchmem ./...
