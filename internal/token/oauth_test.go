package token

import (
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/inkan-dev/inkan/internal/keys"
)

func TestIssuer_IssueAccess(t *testing.T) {
	s, pub := mustSigner(t, keys.ES256)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	iss := &Issuer{Issuer: "https://id.test", TTL: 10 * time.Minute, Keys: staticSource{s}, Now: func() time.Time { return now }}
	a, err := iss.IssueAccess(AccessClaims{Subject: "u1", Audience: []string{"api"}, ClientID: "c1", Scope: "openid email"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(a.Raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if typ := tok.Headers[0].ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
		t.Errorf("typ = %v, want at+jwt (RFC 9068 §2.1)", typ)
	}
	var c AccessClaims
	if err := tok.Claims(pub, &c); err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "https://id.test" || c.Subject != "u1" || c.Audience[0] != "api" || c.ClientID != "c1" ||
		c.Scope != "openid email" || c.IssuedAt != now.Unix() || c.Expiry != now.Add(10*time.Minute).Unix() || len(c.ID) < 26 {
		t.Errorf("claims = %+v", c)
	}
}

// A credential change at validAfter ends every token minted before it:
// tokens minted after it, even in the same second, get an iat no earlier
// than validAfter, so that iat >= validAfter tells them apart.
func TestIssuedAt(t *testing.T) {
	change := time.Date(2026, 11, 25, 12, 0, 0, 400_000_000, time.UTC)
	whole := change.Truncate(time.Second)
	for _, tc := range []struct {
		name       string
		now        time.Time
		validAfter time.Time // what the issuer knew when it minted
		change     time.Time // the change the token is then checked against
		want       int64
		accepted   bool
	}{
		{"no change", change, time.Time{}, time.Time{}, change.Unix(), true},
		{"same second, before the change", change.Add(-100 * time.Millisecond), time.Time{}, change, change.Unix(), false},
		{"same second, after the change", change.Add(100 * time.Millisecond), change, change, change.Unix() + 1, true},
		{"next second", change.Add(time.Second), change, change, change.Unix() + 1, true},
		{"long after", change.Add(time.Hour), change, change, change.Add(time.Hour).Unix(), true},
		{"change on a whole second, just before", whole.Add(-time.Microsecond), time.Time{}, whole, whole.Unix() - 1, false},
		{"change on a whole second, at it", whole, whole, whole, whole.Unix(), true},
	} {
		got := issuedAt(tc.now, tc.validAfter)
		if got != tc.want {
			t.Errorf("%s: issuedAt(%v, %v) = %d, want %d", tc.name, tc.now, tc.validAfter, got, tc.want)
		}
		if accepted := !time.Unix(got, 0).Before(tc.change); accepted != tc.accepted {
			t.Errorf("%s: a token minted at %v with iat %d is accepted=%v after a change at %v, want %v", tc.name, tc.now, got, accepted, tc.change, tc.accepted)
		}
	}
}

// Credential changes in quick succession: each ends every token minted
// before it, those whose iat issuedAt rounded up included, and none minted
// after it.
func TestValidAfter(t *testing.T) {
	sec := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return sec.Add(time.Duration(n) * time.Millisecond) }
	for _, tc := range []struct {
		name    string
		changes []time.Time // each change, at which tokens are minted just before and just after
	}{
		{"one change", []time.Time{ms(500)}},
		{"one change on a whole second", []time.Time{sec}},
		{"two changes in a second", []time.Time{ms(500), ms(700)}},
		{"three changes in a second", []time.Time{ms(100), ms(200), ms(300)}},
		{"changes a second apart", []time.Time{ms(500), ms(1500)}},
		{"changes in adjacent seconds", []time.Time{ms(900), ms(1100)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var validAfter time.Time
			var minted []int64 // iat of every token minted so far
			for _, at := range tc.changes {
				minted = append(minted, issuedAt(at.Add(-time.Microsecond), validAfter))
				validAfter = ValidAfter(at, validAfter)
				for _, iat := range minted {
					if !time.Unix(iat, 0).Before(validAfter) {
						t.Errorf("a token with iat %d, minted before the change at %v, is accepted (TokensValidAfter %v)", iat, at, validAfter)
					}
				}
				iat := issuedAt(at.Add(time.Microsecond), validAfter)
				if time.Unix(iat, 0).Before(validAfter) {
					t.Errorf("a token minted just after the change at %v has iat %d, refused (TokensValidAfter %v)", at, iat, validAfter)
				}
				minted = append(minted, iat) // before the next change
				if skew := time.Unix(issuedAt(at, validAfter), 0).Sub(at); skew > time.Duration(len(tc.changes))*time.Second {
					t.Errorf("iat runs %v ahead of the clock", skew)
				}
			}
		})
	}
	if got := ValidAfter(ms(500).In(time.FixedZone("JST", 9*3600)).Add(123), time.Time{}); !got.Equal(ms(500)) || got.Location() != time.UTC {
		t.Errorf("ValidAfter() = %v, want %v in UTC, to the microsecond", got, ms(500))
	}
}
