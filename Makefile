# Shortcuts for the commands the README and .ci/run use; nothing here is
# needed to build or test. verify is a Go module of its own (go.work uses
# both), and ./... stops at a nested module: go test reaches it through
# internal/modules' test, and vet and the linter name ./verify/... too.
.PHONY: test race lint bench

# The packages of both modules: inkan's and verify's.
PKGS = ./... ./verify/...

# Every test. The PostgreSQL tests run when INKAN_TEST_POSTGRES is set.
test:
	go test ./...

# What .ci/run runs: the tests under the race detector.
race:
	go test -race -count=1 ./...

# gofmt, go vet and golangci-lint (.golangci.yaml), as .ci/run checks them.
# golangci-lint v2: go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet $(PKGS)
	golangci-lint run $(PKGS)

# The Go benchmarks; bench/load.sh, bench/memory.sh and bench/peers measure
# the whole server (docs/performance.md).
bench:
	go test -run '^$$' -bench . ./verify ./internal/token ./internal/server ./internal/password ./internal/logsink
