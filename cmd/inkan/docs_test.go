package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = "../.."

// docFiles are the repository's Markdown documents.
func docFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(repoRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	mdLinkRE   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	outsideRE  = regexp.MustCompile("`\\.\\./[^`]*`|\\]\\(\\.\\./\\.\\./\\.\\.")
	passwordRE = regexp.MustCompile(`"password": ?"([^"]+)"`)
	basicRE    = regexp.MustCompile(`-u 'alice@example\.com:([^']+)'`)
	formRE     = regexp.MustCompile(`-d 'password=([^']+)'`) // the password grant
)

// Every relative link of every document names a file inside the
// repository, and no document points at paths outside it.
func TestDocs_linksStayInRepository(t *testing.T) {
	root, _ := filepath.Abs(repoRoot)
	files := docFiles(t)
	if len(files) < 4 {
		t.Fatalf("found %d Markdown files under %s", len(files), repoRoot)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, f)
		for _, m := range mdLinkRE.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			abs, _ := filepath.Abs(filepath.Join(filepath.Dir(f), target))
			if in, err := filepath.Rel(root, abs); err != nil || strings.HasPrefix(in, "..") {
				t.Errorf("%s links to %s, outside the repository", rel, m[1])
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s links to %s, which does not exist", rel, m[1])
			}
		}
		for _, m := range outsideRE.FindAllString(string(data), -1) {
			if strings.Contains(m, "shared") || strings.Contains(m, "](../../..") {
				t.Errorf("%s points outside the repository: %s", rel, m)
			}
		}
	}
	readme, _ := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if !strings.Contains(string(readme), "](CONTRIBUTING.md)") {
		t.Error("README.md does not link CONTRIBUTING.md")
	}
}

// The README and examples/resource-server register and log in Alice with
// the same example password.
func TestDocs_samePassword(t *testing.T) {
	passwords := func(path string) []string {
		data, err := os.ReadFile(filepath.Join(repoRoot, path))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, re := range []*regexp.Regexp{passwordRE, basicRE, formRE} {
			for _, m := range re.FindAllStringSubmatch(string(data), -1) {
				out = append(out, m[1])
			}
		}
		if len(out) < 2 {
			t.Fatalf("%s: found the example password %d times, want in the registration and the login", path, len(out))
		}
		return out
	}
	want := passwords("examples/resource-server/README.md")[0]
	for _, path := range []string{"README.md", "examples/resource-server/README.md"} {
		for _, got := range passwords(path) {
			if got != want {
				t.Errorf("%s uses the example password %q, want %q as examples/resource-server does", path, got, want)
			}
		}
	}
}
