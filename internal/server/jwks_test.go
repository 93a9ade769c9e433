package server

import (
	"net/http"
	"testing"
	"time"
)

func TestJWKS_ETag(t *testing.T) {
	h := newHarness(t)
	first := h.do(t, "GET", "/.well-known/jwks.json", "")
	etag := first.Header().Get("ETag")
	if first.Code != http.StatusOK || len(etag) < 3 || etag[0] != '"' {
		t.Fatalf("GET jwks = %d, ETag %q; want 200 and a quoted ETag", first.Code, etag)
	}
	tests := []struct {
		name        string
		ifNoneMatch string
		want        int
	}{
		{"same tag", etag, http.StatusNotModified},
		{"weak form", "W/" + etag, http.StatusNotModified},
		{"in a list", `"other", ` + etag, http.StatusNotModified},
		{"any", "*", http.StatusNotModified},
		{"other tag", `"other"`, http.StatusOK},
		{"unquoted", etag[1 : len(etag)-1], http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.do(t, "GET", "/.well-known/jwks.json", "", "If-None-Match", tc.ifNoneMatch)
			if rec.Code != tc.want {
				t.Fatalf("GET jwks with If-None-Match %q = %d, want %d", tc.ifNoneMatch, rec.Code, tc.want)
			}
			if got := rec.Header().Get("ETag"); got != etag {
				t.Errorf("ETag = %q, want %q", got, etag)
			}
			if got := rec.Header().Get("Cache-Control"); got != "public, max-age=300" {
				t.Errorf("Cache-Control = %q, want the max-age on a 304 too", got)
			}
			if tc.want == http.StatusNotModified && rec.Body.Len() != 0 {
				t.Errorf("304 carries a body of %d bytes", rec.Body.Len())
			}
			if tc.want == http.StatusOK && rec.Body.String() != first.Body.String() {
				t.Errorf("200 body differs from the first answer")
			}
		})
	}
}

func TestJWKSCache_NewDocumentNewTag(t *testing.T) {
	c := newJWKSCache(time.Minute)
	a := []byte(`{"keys":[{"kid":"a"}]}`)
	b := []byte(`{"keys":[{"kid":"b"}]}`)
	da := c.get(a)
	if again := c.get(a); again != da {
		t.Error("the same document was tagged twice")
	}
	db := c.get(b)
	if db.etag[0] == da.etag[0] {
		t.Errorf("a new document kept the tag %s", da.etag[0])
	}
	if string(db.body) != string(b) {
		t.Errorf("body = %s, want %s", db.body, b)
	}
	if got := c.cacheControl[0]; got != "public, max-age=60" {
		t.Errorf("Cache-Control = %q", got)
	}
}
