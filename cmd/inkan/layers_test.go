package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The import rules of CONTRIBUTING.md, checked over the packages' real
// imports (go list), so that a change that breaks one fails here:
//   - verify, the public package, imports nothing of this module
//     (verify/verifytest imports verify);
//   - a storage backend imports, of this module, only store;
//   - nothing imports server but cmd/inkan, and nothing imports cmd;
//   - account imports, of this module, only store, password, plaintext,
//     token, events and mail;
//   - events imports, of this module, only store and periodic;
//   - token does not import store.
func TestImportRules(t *testing.T) {
	const mod = "github.com/inkan-dev/inkan/"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{} // package → this module's packages it imports
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		pkg, deps, _ := strings.Cut(strings.TrimSpace(line), ":")
		for _, d := range strings.Fields(deps) {
			if strings.HasPrefix(d, mod) {
				imports[strings.TrimPrefix(pkg, mod)] = append(imports[strings.TrimPrefix(pkg, mod)], strings.TrimPrefix(d, mod))
			}
		}
	}
	if len(imports) < 5 {
		t.Fatalf("go list found %d packages importing others of the module; the listing is broken:\n%s", len(imports), out)
	}
	// Known exceptions, each with the issue that removes it.
	pending := map[[2]string]string{}
	for pkg, deps := range imports {
		for _, d := range deps {
			var broken string
			switch {
			case strings.HasPrefix(pkg, "verify") && d != "verify" && !strings.HasPrefix(d, "verify/"):
				broken = "verify imports nothing of this module"
			case (pkg == "internal/store/sqlite" || pkg == "internal/store/postgres") && d != "internal/store":
				broken = "a storage backend imports only store"
			case pkg == "internal/account" && !slices.Contains([]string{"internal/store", "internal/password", "internal/plaintext", "internal/token", "internal/events", "internal/mail"}, d):
				broken = "account imports only store, password, plaintext, token, events and mail"
			case pkg == "internal/events" && !slices.Contains([]string{"internal/store", "internal/periodic"}, d):
				broken = "events imports only store and periodic"
			case d == "internal/server" && pkg != "cmd/inkan":
				broken = "only cmd/inkan imports server"
			case strings.HasPrefix(d, "cmd/"):
				broken = "nothing imports cmd"
			case pkg == "internal/token" && strings.HasPrefix(d, "internal/store"):
				broken = "token does not import store"
			case pkg == "internal/i18n" && d != "internal/i18n/locales", pkg == "internal/i18n/locales":
				broken = "i18n imports of this module only its catalogues (i18n/locales), which import nothing"
			}
			if broken == "" {
				continue
			}
			if why, ok := pending[[2]string{pkg, d}]; ok {
				t.Logf("%s imports %s: known, pending %s", pkg, d, why)
				continue
			}
			t.Errorf("%s imports %s, but %s", pkg, d, broken)
		}
	}
}
