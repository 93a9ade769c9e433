package oauth2

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/internal/store"
)

func TestAuthorizer_ParseRequest_maxAgeAndACR(t *testing.T) {
	a, _ := mustAuthorizer(t)
	for _, tc := range []struct {
		name      string
		q         []string
		wantErr   bool
		maxAge    int64
		acrValues []string
	}{
		{"neither", nil, false, -1, nil},
		{"max_age 0", []string{"max_age", "0"}, false, 0, nil},
		{"max_age 3600", []string{"max_age", "3600"}, false, 3600, nil},
		{"max_age negative", []string{"max_age", "-1"}, true, 0, nil},
		{"max_age not a number", []string{"max_age", "1h"}, true, 0, nil},
		{"max_age fractional", []string{"max_age", "1.5"}, true, 0, nil},
		{"max_age huge", []string{"max_age", "99999999999999999999"}, true, 0, nil},
		{"acr_values", []string{"acr_values", oidc.ACRMultiFactor + " x"}, false, -1, []string{oidc.ACRMultiFactor, "x"}},
		{"too many acr_values", []string{"acr_values", "a b c d e f g h i"}, true, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ar, err := a.ParseRequest(t.Context(), authParams(tc.q...))
			if tc.wantErr {
				var aerr *AuthorizeError
				if !errors.As(err, &aerr) || !aerr.Redirect || aerr.Err.Code != InvalidRequest {
					t.Fatalf("ParseRequest() = %v, want invalid_request redirected to the client", err)
				}
				return
			}
			if err != nil || ar.MaxAge != tc.maxAge || !slices.Equal(ar.ACRValues, tc.acrValues) {
				t.Fatalf("ParseRequest() = %+v, %v; want max_age %d, acr_values %q", ar, err, tc.maxAge, tc.acrValues)
			}
		})
	}
}

func TestAuthorizeRequest_Reauthenticate(t *testing.T) {
	sess := store.Session{AuthTime: t0.Add(-time.Hour)}
	for _, tc := range []struct {
		name   string
		ar     AuthorizeRequest
		reauth bool
	}{
		{"no max_age", AuthorizeRequest{MaxAge: -1}, false},
		{"prompt=login", AuthorizeRequest{MaxAge: -1, Prompt: PromptLogin}, true},
		{"max_age 0", AuthorizeRequest{MaxAge: 0}, true},
		{"max_age passed", AuthorizeRequest{MaxAge: 3599}, true},
		{"max_age just met", AuthorizeRequest{MaxAge: 3600}, false},
		{"max_age not passed", AuthorizeRequest{MaxAge: 7200}, false},
	} {
		if got := tc.ar.Reauthenticate(sess, t0); got != tc.reauth {
			t.Errorf("%s: Reauthenticate() = %v, want %v", tc.name, got, tc.reauth)
		}
	}
}

func TestAuthorizeRequest_WantsMultiFactor(t *testing.T) {
	for _, tc := range []struct {
		name string
		ar   AuthorizeRequest
		want bool
	}{
		{"nothing asked", AuthorizeRequest{}, false},
		{"client requires", AuthorizeRequest{Client: store.Client{RequireMFA: true}}, true},
		{"2fa asked", AuthorizeRequest{ACRValues: []string{oidc.ACRMultiFactor}}, true},
		{"2fa or 1fa asked", AuthorizeRequest{ACRValues: []string{oidc.ACRMultiFactor, oidc.ACRSingleFactor}}, false},
		{"unknown value", AuthorizeRequest{ACRValues: []string{"urn:other:loa:3"}}, false},
	} {
		if got := tc.ar.WantsMultiFactor(); got != tc.want {
			t.Errorf("%s: WantsMultiFactor() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAuthorizeRequest_LoginParams(t *testing.T) {
	a, _ := mustAuthorizer(t)
	for _, tc := range []struct {
		prompt, wantPrompt string
	}{{"login", ""}, {"consent", "consent"}, {"none", ""}, {"", ""}} {
		ar, err := a.ParseRequest(t.Context(), authParams("prompt", tc.prompt, "max_age", "0", "acr_values", oidc.ACRMultiFactor))
		if err != nil {
			t.Fatal(err)
		}
		p := ar.LoginParams()
		if p.Get("prompt") != tc.wantPrompt || p.Has("max_age") || p.Get("acr_values") != oidc.ACRMultiFactor || p.Get("state") != "st" {
			t.Errorf("prompt=%q: LoginParams() = %v, want prompt %q, no max_age, the rest kept", tc.prompt, p, tc.wantPrompt)
		}
		if !ar.Params.Has("max_age") {
			t.Errorf("LoginParams() changed the request's own parameters")
		}
	}
}

func TestIssueCode_carriesAMR(t *testing.T) {
	a, st := mustAuthorizer(t)
	ar, err := a.ParseRequest(t.Context(), authParams())
	if err != nil {
		t.Fatal(err)
	}
	sess := store.Session{Hash: "h", ID: "sid", UserID: "u1", AuthTime: t0, AMR: []string{"mfa", "otp", "pwd"}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := st.CreateSession(t.Context(), sess); err != nil {
		t.Fatal(err)
	}
	raw, err := a.IssueCode(t.Context(), ar, sess, store.User{ID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	code, err := st.GetAuthCode(t.Context(), HashToken(raw))
	if err != nil || !slices.Equal(code.AMR, sess.AMR) {
		t.Errorf("stored code = %+v, %v; want the session's AMR %q", code, err, sess.AMR)
	}
}

func TestPasswordGrant_secondFactor(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	var asked []string
	need := map[string]bool{}
	for _, g := range f.endpoint.grants {
		if pg, ok := g.(*PasswordGrant); ok {
			pg.SecondFactor = func(_ context.Context, u store.User, c store.Client) (bool, error) {
				asked = append(asked, u.ID)
				return need[u.ID], nil
			}
		}
	}
	req := func(pw string) *TokenRequest {
		return &TokenRequest{GrantType: GrantPassword, Client: f.client, Username: "alice@example.com", Password: pw, From: netip.MustParseAddr("192.0.2.7")}
	}
	resp, err := f.endpoint.Exchange(ctx, req("correct horse"))
	if err != nil {
		t.Fatalf("Exchange(no second factor) = %v", err)
	}
	if id := claims(t, resp.IDToken); !slices.Equal(toStrings(id["amr"]), []string{"pwd"}) || id["acr"] != oidc.ACRSingleFactor {
		t.Errorf("ID token amr, acr = %v, %v; want [pwd], %s", id["amr"], id["acr"], oidc.ACRSingleFactor)
	}
	need[f.user.ID] = true
	_, err = f.endpoint.Exchange(ctx, req("wrong"))
	wantCode(t, "Exchange(wrong password, second factor)", err, InvalidGrant)
	if AsError(err).Description == ErrSecondFactorRequired.Description {
		t.Errorf("a wrong password was told that the user has a second factor")
	}
	_, err = f.endpoint.Exchange(ctx, req("correct horse"))
	wantCode(t, "Exchange(second factor)", err, InvalidGrant)
	if !errors.Is(err, ErrSecondFactorRequired) {
		t.Errorf("Exchange(second factor) = %v, want ErrSecondFactorRequired", err)
	}
	if len(asked) != 2 {
		t.Errorf("SecondFactor asked %d times, want twice: once per right password", len(asked))
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestRefreshPolicy_requireMFA(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	one := store.RefreshToken{Family: "f1", ClientID: f.client.ID, UserID: f.user.ID, AuthTime: t0.Add(-time.Minute),
		AMR: []string{"pwd"}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	two := one
	two.AMR = []string{"mfa", "otp", "pwd"}
	strict := f.client
	strict.RequireMFA = true
	for _, tc := range []struct {
		name   string
		global bool
		rt     store.RefreshToken
		client store.Client
		active bool
	}{
		{"one factor, nothing required", false, one, f.client, true},
		{"one factor, required by the server", true, one, f.client, false},
		{"one factor, required by the client", false, one, strict, false},
		{"two factors, required", true, two, strict, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := *f.policy
			p.RequireMFA = tc.global
			_, err := p.Active(ctx, tc.rt, tc.client, t0)
			if got := err == nil; got != tc.active || err != nil && !errors.Is(err, ErrGrantEnded) {
				t.Errorf("Active() = %v, want active %v", err, tc.active)
			}
		})
	}
}

func TestRefreshGrant_keepsAMR(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	resp, err := f.issuer.Issue(ctx, UserGrant{Client: f.client, User: f.user, Scope: []string{"openid"}, AuthTime: t0, AMR: []string{"hwk", "mfa", "user"}, Family: NewFamily()})
	if err != nil {
		t.Fatal(err)
	}
	next, err := f.endpoint.Exchange(ctx, &TokenRequest{GrantType: GrantRefreshToken, Client: f.client, RefreshToken: resp.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	id := claims(t, next.IDToken)
	if !slices.Equal(toStrings(id["amr"]), []string{"hwk", "mfa", "user"}) || id["acr"] != oidc.ACRMultiFactor || id["auth_time"] != float64(t0.Unix()) {
		t.Errorf("refreshed ID token = %v, want the sign-in's amr, acr and auth_time", id)
	}
	if at := claims(t, next.AccessToken); !slices.Equal(toStrings(at["amr"]), []string{"hwk", "mfa", "user"}) || at["acr"] != oidc.ACRMultiFactor {
		t.Errorf("refreshed access token = %v, want the sign-in's amr and acr (RFC 9068 §2.2.1)", at)
	}
	rt, err := f.st.GetRefreshToken(ctx, HashToken(next.RefreshToken))
	if err != nil || !slices.Equal(rt.AMR, []string{"hwk", "mfa", "user"}) {
		t.Errorf("successor = %+v, %v; want the AMR kept", rt, err)
	}
}

// The authorization request's max_age and acr_values, as anyone may send
// them: never a panic, and what is accepted is within bounds.
func FuzzParseRequest_maxAgeACR(f *testing.F) {
	for _, seed := range [][2]string{{"0", ""}, {"3600", oidc.ACRMultiFactor}, {"-1", "a b"}, {"1e3", "\x00"}, {"99999999999", strings.Repeat("x ", 100)}} {
		f.Add(seed[0], seed[1])
	}
	a, _ := mustAuthorizer(f)
	f.Fuzz(func(t *testing.T, maxAge, acr string) {
		ar, err := a.ParseRequest(context.Background(), authParams("max_age", maxAge, "acr_values", acr))
		if err != nil {
			var aerr *AuthorizeError
			if !errors.As(err, &aerr) {
				t.Fatalf("ParseRequest() = %v, want an *AuthorizeError", err)
			}
			return
		}
		if ar.MaxAge < -1 || ar.MaxAge > maxMaxAge || len(ar.ACRValues) > maxACRValues {
			t.Fatalf("ParseRequest() accepted max_age %d and %d acr_values", ar.MaxAge, len(ar.ACRValues))
		}
		if maxAge != "" && ar.MaxAge < 0 {
			t.Fatalf("max_age %q accepted as absent", maxAge)
		}
		_ = ar.WantsMultiFactor()
	})
}
