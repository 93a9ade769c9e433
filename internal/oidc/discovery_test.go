package oidc

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// The document marshals with its members sorted by name, as the map it
// replaced did (the server's testdata/discovery.golden holds the bytes),
// and lists what it was given.
func TestNewDiscovery(t *testing.T) {
	s := Supported{
		GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, ResponseModes: []string{"query"},
		Prompts: []string{"none"}, CodeChallengeMethods: []string{"S256"}, SigningAlgorithms: []string{"ES256"},
		ClientAuthMethods: []string{"none"}, IntrospectionAuthMethods: []string{"client_secret_basic"},
	}
	d := NewDiscovery("https://id.test", s)
	got, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	sorted, err := json.Marshal(m) // a map marshals with its keys sorted
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sorted) {
		t.Errorf("json.Marshal(NewDiscovery()) =\n%s\nwant its members sorted:\n%s", got, sorted)
	}
	if len(m) != reflect.TypeFor[Discovery]().NumField() {
		t.Errorf("the document has %d members for the %d fields of Discovery: a JSON name is taken twice", len(m), reflect.TypeFor[Discovery]().NumField())
	}
	for _, tc := range []struct {
		member string
		want   any
	}{
		{"issuer", "https://id.test"},
		{"authorization_endpoint", "https://id.test/oauth2/authorize"},
		{"end_session_endpoint", "https://id.test/oauth2/logout"},
		{"grant_types_supported", []any{"authorization_code"}},
		{"id_token_signing_alg_values_supported", []any{"ES256"}},
		{"token_endpoint_auth_methods_supported", []any{"none"}},
		{"revocation_endpoint_auth_methods_supported", []any{"none"}},
		{"introspection_endpoint_auth_methods_supported", []any{"client_secret_basic"}},
		{"prompt_values_supported", []any{"none"}},
		{"scopes_supported", []any{"openid", "profile", "email", "offline_access"}},
		{"request_parameter_supported", false},
		{"backchannel_logout_session_supported", true},
	} {
		if !reflect.DeepEqual(m[tc.member], tc.want) {
			t.Errorf("%s = %v, want %v", tc.member, m[tc.member], tc.want)
		}
	}
}
