// Package modules holds no code. Its test runs the tests of the
// repository's nested Go module, verify (verify/go.mod, so that a resource
// server depending on it gets go-jose alone): `go test ./...` at the root
// stops at a nested go.mod, and this test is how the README's one test
// command still runs every test.
package modules
