package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/verify"
)

// tokenCmd runs token sub (one of the command table's).
func tokenCmd(ctx context.Context, std stdio, sub string, args []string) error {
	var jwks, issuer, audience string
	var synopsis string
	switch sub {
	case "decode":
		synopsis = "token decode TOKEN"
	case "verify":
		synopsis = "token verify --jwks ISSUER|URL|FILE [--issuer I] [--audience A] TOKEN"
	}
	fs := newFlags(std, "token "+sub, synopsis)
	if sub == "verify" {
		fs.StringVar(&jwks, "jwks", "", "the keys: an issuer's http(s) URL (found through its discovery document), a JWKS URL, or a JWKS file (- for stdin is not allowed here)")
		fs.StringVar(&issuer, "issuer", "", "the iss the token must carry (default: the issuer --jwks names, else not checked)")
		fs.StringVar(&audience, "audience", "", "an aud the token must carry (default: not checked)")
	}
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: token %s takes one token", errUsage, sub)
	}
	raw := pos[0]
	if raw == "-" {
		b, err := io.ReadAll(io.LimitReader(std.in, 64<<10))
		if err != nil {
			return err
		}
		raw = string(b)
	}
	raw = strings.TrimSpace(raw)
	header, claims, err := decodeJWT(raw)
	if err != nil {
		return err
	}
	if sub == "decode" {
		return printDecoded(std.out, header, claims, time.Now())
	}
	if jwks == "" {
		return fmt.Errorf("%w: token verify needs --jwks", errUsage)
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Any token inkan signs: access tokens, the tutorial's, and ID tokens.
	cfg := verify.Config{Issuer: issuer, Audience: audience, Leeway: time.Minute, AllowIDTokens: true}
	discovered := ""
	if strings.HasPrefix(jwks, "https://") || strings.HasPrefix(jwks, "http://") {
		if cfg.JWKSURL, discovered, err = resolveJWKS(vctx, http.DefaultClient, jwks); err != nil {
			return err
		}
		if cfg.Issuer == "" {
			cfg.Issuer = discovered
		}
	} else {
		data, err := readInput(nil, jwks)
		if err != nil {
			return err
		}
		if cfg.KeySet, err = verify.ParseJWKS(data); err != nil {
			return fmt.Errorf("%s: %w", jwks, err)
		}
	}
	checked := cfg.Issuer != ""
	if !checked { // not checked: accept the token's own
		cfg.Issuer, _ = claims["iss"].(string)
		if cfg.Issuer == "" {
			cfg.Issuer = "(none)"
		}
	}
	v, err := verify.New(vctx, cfg)
	if err != nil {
		return err
	}
	c, err := v.Verify(vctx, raw)
	if err != nil {
		return fmt.Errorf("invalid: %w", err)
	}
	fmt.Fprintf(std.out, "valid: kid %s, sub %q, expires %s\n", c.KeyID, c.Subject, c.Expiry.Format(time.RFC3339))
	switch {
	case !checked:
		fmt.Fprintln(std.out, "note: the issuer was not checked (no --issuer)")
	case issuer == "":
		fmt.Fprintf(std.out, "issuer %s checked, from its discovery document\n", discovered)
	}
	return nil
}

// maxDocBytes bounds a discovery document or JWKS fetched by token verify.
const maxDocBytes = 1 << 20

// resolveJWKS turns --jwks given as a URL into the JWKS URL: the URL itself
// when it serves a JWKS, or else the jwks_uri of the discovery document of
// the issuer it names (OpenID Connect Discovery §4: the document at
// <issuer>/.well-known/openid-configuration, whose issuer must be that URL),
// with that issuer.
func resolveJWKS(ctx context.Context, client *http.Client, raw string) (jwksURL, issuer string, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	errJWKS := fetchJSON(ctx, client, raw, &set)
	if errJWKS == nil && set.Keys != nil {
		return raw, "", nil
	}
	iss := strings.TrimSuffix(raw, "/")
	discoveryURL := iss + "/.well-known/openid-configuration"
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := fetchJSON(ctx, client, discoveryURL, &doc); err != nil {
		if errJWKS == nil {
			errJWKS = errors.New(`no "keys" array`)
		}
		return "", "", fmt.Errorf("--jwks %s is neither a JWKS (%w) nor an issuer (%s: %w)", raw, errJWKS, discoveryURL, err)
	}
	if doc.Issuer != iss {
		return "", "", fmt.Errorf("--jwks %s: the discovery document names issuer %q, not this URL (OpenID Connect Discovery §4.3)", raw, doc.Issuer)
	}
	if u, err := url.Parse(doc.JWKSURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", fmt.Errorf("--jwks %s: the discovery document has no usable jwks_uri (%q)", raw, doc.JWKSURI)
	}
	return doc.JWKSURI, doc.Issuer, nil
}

// fetchJSON GETs a JSON document of at most maxDocBytes into v.
func fetchJSON(ctx context.Context, client *http.Client, target string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocBytes+1))
	if err != nil {
		return err
	}
	if len(body) > maxDocBytes {
		return fmt.Errorf("larger than %d bytes", maxDocBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errors.New("not a JSON object")
	}
	return nil
}

// decodeJWT decodes a compact JWS's header and claims without checking it.
func decodeJWT(raw string) (header, claims map[string]any, err error) {
	if len(raw) > verify.DefaultMaxTokenSize {
		return nil, nil, fmt.Errorf("token longer than %d bytes", verify.DefaultMaxTokenSize)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("not a JWT: want three dot-separated parts")
	}
	out := [2]map[string]any{}
	for i, name := range []string{"header", "claims"} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, nil, fmt.Errorf("%s is not base64url: %w", name, err)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&out[i]); err != nil || out[i] == nil {
			return nil, nil, fmt.Errorf("%s is not a JSON object", name)
		}
	}
	return out[0], out[1], nil
}

func printDecoded(w io.Writer, header, claims map[string]any, now time.Time) error {
	for _, part := range []struct {
		name string
		v    map[string]any
	}{{"header", header}, {"claims", claims}} {
		b, _ := json.MarshalIndent(part.v, "", "  ")
		fmt.Fprintf(w, "%s:\n%s\n", part.name, b)
	}
	fmt.Fprintln(w, "times:")
	for _, k := range []string{"iat", "nbf", "auth_time", "exp"} {
		n, ok := claims[k].(json.Number)
		if !ok {
			continue
		}
		sec, err := n.Float64()
		if err != nil {
			continue
		}
		t := time.Unix(int64(sec), 0).UTC()
		rel := t.Sub(now).Round(time.Second)
		when := "in " + rel.String()
		if rel < 0 {
			when = (-rel).String() + " ago"
		}
		fmt.Fprintf(w, "  %-9s %s (%s)\n", k, t.Format(time.RFC3339), when)
	}
	fmt.Fprintln(w, "note: decoded only; the signature and claims were not checked (use inkan token verify)")
	return nil
}
