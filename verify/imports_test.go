package verify

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// verify is public and imports the standard library and go-jose only, never
// anything of inkan's internal packages, so that a resource server can
// depend on it alone.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.Split(path, "/")[0], ".")
			if !std && !strings.HasPrefix(path, "github.com/go-jose/go-jose/v4") {
				t.Errorf("%s imports %q; verify may import only the standard library and go-jose", name, path)
			}
		}
	}
}

// verify is a module of its own whose go.mod requires go-jose alone, in
// its tests too (go mod tidy lists what the tests need), so that a resource
// server that depends on verify inherits nothing else. Importing anything
// of inkan would also need github.com/inkan-dev/inkan here (go mod tidy adds
// it, and .ci/run checks that go.mod is tidy), which this test refuses.
func TestGoMod(t *testing.T) {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var module string
	var requires []string
	inBlock := false
	for line := range strings.Lines(string(data)) {
		line, _, _ = strings.Cut(line, "//")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case inBlock && fields[0] == ")":
			inBlock = false
		case inBlock:
			requires = append(requires, fields[0])
		case fields[0] == "module" && len(fields) == 2:
			module = fields[1]
		case fields[0] == "require" && len(fields) == 2 && fields[1] == "(":
			inBlock = true
		case fields[0] == "require" && len(fields) == 3:
			requires = append(requires, fields[1])
		case fields[0] == "replace":
			t.Errorf("go.mod has %q; a replace in verify's go.mod would not reach its users", strings.TrimSpace(line))
		}
	}
	if module != "github.com/inkan-dev/inkan/verify" {
		t.Errorf("go.mod module = %q, want github.com/inkan-dev/inkan/verify", module)
	}
	if len(requires) != 1 || requires[0] != "github.com/go-jose/go-jose/v4" {
		t.Errorf("go.mod requires %q, want only github.com/go-jose/go-jose/v4", requires)
	}
}
