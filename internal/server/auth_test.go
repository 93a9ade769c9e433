package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func httptestDo(h http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	return rec
}

func TestParseBearer(t *testing.T) {
	tests := []struct {
		name, header, want string
		wantErr            error
	}{
		{"plain", "Bearer abc.def.ghi", "abc.def.ghi", nil},
		{"lower-case scheme", "bearer abc", "abc", nil},
		{"extra spaces", "Bearer   abc  ", "abc", nil},
		{"empty", "", "", errNoAuthorization},
		{"spaces only", "   ", "", errNoAuthorization},
		{"basic", "Basic abc", "", errBadScheme},
		{"no space", "Bearerabc", "", errBadScheme},
		{"scheme only", "Bearer", "", errBadScheme},
		{"empty token", "Bearer ", "", errBadScheme},
		{"space inside", "Bearer a b", "", errMalformedCredentials},
		{"quote", `Bearer a"b`, "", errMalformedCredentials},
		{"too long", "Bearer " + strings.Repeat("a", 8193), "", errMalformedCredentials},
		{"max length", "Bearer " + strings.Repeat("a", 8192), strings.Repeat("a", 8192), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseBearer(tc.header, 8192)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("parseBearer(%.40q) = %.20q, %v; want %.20q, %v", tc.header, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseBasic(t *testing.T) {
	tests := []struct {
		name, header, user, pass string
		wantErr                  bool
	}{
		{"plain", basic("a@b.c", "pw"), "a@b.c", "pw", false},
		{"colon in password", basic("a@b.c", "p:w"), "a@b.c", "p:w", false},
		{"empty password", basic("a@b.c", ""), "a@b.c", "", false},
		{"unpadded", "Basic YUBiLmM6cHc", "a@b.c", "pw", false},
		{"no colon", "Basic YUBiLmM", "", "", true},
		{"empty user", basic("", "pw"), "", "", true},
		{"bad base64", "Basic %%%", "", "", true},
		{"bearer", "Bearer YUBiLmM6cHc=", "", "", true},
		{"missing", "", "", "", true},
		{"huge", "Basic " + strings.Repeat("QUFB", 1000), "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, p, err := parseBasic(tc.header)
			if (err != nil) != tc.wantErr || u != tc.user || p != tc.pass {
				t.Errorf("parseBasic(%.40q) = %q, %q, %v; want %q, %q, error %v", tc.header, u, p, err, tc.user, tc.pass, tc.wantErr)
			}
		})
	}
}

// FuzzParseBearer: never panics; a token it returns is bounded and made of
// b64token characters only, so it can never smuggle a quote or a newline.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer x", "", "Basic abc", "Bearer a\"b", "Bearer  \t x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := parseBearer(header, 8192)
		if err != nil {
			if tok != "" {
				t.Errorf("parseBearer(%q) = %q with error %v", header, tok, err)
			}
			return
		}
		if tok == "" || len(tok) > 8192 || strings.ContainsAny(tok, " \t\r\n\"\\") {
			t.Errorf("parseBearer(%q) = %q, not a b64token", header, tok)
		}
	})
}

// FuzzParseBasic: never panics; what it returns re-encodes to credentials
// that parse to the same pair.
func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{basic("a@b.c", "pw"), "Basic YUBiLmM6cHc", "Basic ", "Basic %%%", basic("x", "a:b:c")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		u, p, err := parseBasic(header)
		if err != nil {
			return
		}
		if u == "" || strings.Contains(u, ":") {
			t.Errorf("parseBasic(%q) user = %q", header, u)
		}
		u2, p2, err := parseBasic(basic(u, p))
		if err != nil || u2 != u || p2 != p {
			t.Errorf("round trip of %q, %q = %q, %q, %v", u, p, u2, p2, err)
		}
	})
}
