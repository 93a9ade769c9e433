package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
)

// stringList is a list flag: repeats add, commas separate. Values are
// trimmed but empty ones are kept, so that validation can refuse them.
type stringList []string

// String implements flag.Value.
func (l *stringList) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value.
func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		*l = append(*l, strings.TrimSpace(s))
	}
	return nil
}

// clientJSON is how the CLI prints a client. Lists are never null, so the
// shape is stable.
type clientJSON struct {
	ClientID               string   `json:"client_id"`
	ClientSecret           string   `json:"client_secret,omitempty"`
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	GrantTypes             []string `json:"grant_types"`
	Scopes                 []string `json:"scopes"`
	Audience               []string `json:"audience"`
	BackchannelLogoutURI   string   `json:"backchannel_logout_uri"`
	Public                 bool     `json:"public"`
	Trusted                bool     `json:"trusted"`
	RequireMFA             bool     `json:"require_mfa"`
}

func toClientJSON(c store.Client) clientJSON {
	list := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return clientJSON{
		ClientID:               c.ID,
		Name:                   c.Name,
		RedirectURIs:           list(c.RedirectURIs),
		PostLogoutRedirectURIs: list(c.PostLogoutRedirectURIs),
		GrantTypes:             list(c.Grants),
		Scopes:                 list(c.Scopes),
		Audience:               list(c.Audience),
		BackchannelLogoutURI:   c.BackchannelLogoutURI,
		Public:                 c.Public,
		Trusted:                c.Trusted,
		RequireMFA:             c.RequireMFA,
	}
}

// clientSpec is what clients add was asked for.
type clientSpec struct {
	name                     string
	redirectURIs, postLogout stringList
	grants, scopes, audience stringList
	backchannelLogoutURI     string
	public, trusted          bool
	requireMFA               bool
}

// clientsCmd runs clients sub (one of the command table's).
func clientsCmd(ctx context.Context, std stdio, sub string, args []string) error {
	cfg := config.Default()
	var spec clientSpec
	var asJSON bool
	var synopsis string
	wantArgs := 0
	switch sub {
	case "add":
		synopsis = "clients add --name N --redirect-uri URI [--backchannel-logout-uri URI] [--public] [--grant G] [--scope S] [--audience A] [--trusted] [--require-mfa] [flags]"
	case "list":
		synopsis = "clients list [--json] [flags]"
	case "delete", "rotate-secret":
		synopsis, wantArgs = "clients "+sub+" ID [flags]", 1
	}
	fs := newFlags(std, "clients "+sub, synopsis)
	cfg.Register(fs, config.StoreSettings...)
	switch sub {
	case "add":
		fs.StringVar(&spec.name, "name", "", "the client's name, 1 to 64 characters (required)")
		fs.Var(&spec.redirectURIs, "redirect-uri", "a redirect `URI` (repeat or comma-separate; required for authorization_code); a loopback http://127.0.0.1/... or http://[::1]/... without a port matches any port")
		fs.Var(&spec.postLogout, "post-logout-redirect-uri", "a `URI` to return to after logout (repeat or comma-separate)")
		fs.StringVar(&spec.backchannelLogoutURI, "backchannel-logout-uri", "", "where to POST a logout token when a session the client was issued to ends (https, or http on 127.0.0.1 or [::1])")
		fs.BoolVar(&spec.public, "public", false, "a public client (native or browser app): no secret, must use PKCE")
		fs.Var(&spec.grants, "grant", "a `grant` type: "+strings.Join(oauth2.Grants, ", ")+" (repeat or comma-separate; default authorization_code,refresh_token)")
		fs.Var(&spec.scopes, "scope", "a `scope` the client may ask for (repeat or comma-separate; at most 64, of 2048 bytes in all; default openid,profile,email,offline_access)")
		fs.Var(&spec.audience, "audience", "an `aud` of the client's access tokens (repeat or comma-separate; default the client id); the issuer URL makes them good at GET /user")
		fs.BoolVar(&spec.trusted, "trusted", false, "skip the consent page (first-party clients only; a public client only on an https redirect URI)")
		fs.BoolVar(&spec.requireMFA, "require-mfa", false, "its users must pass a second factor (enrolling one at sign-in if they have none); its password grant, if any, is refused to every user")
	case "list":
		fs.BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
	}
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) != wantArgs {
		fs.Usage()
		return fmt.Errorf("%w: clients %s takes %d argument(s), got %d", errUsage, sub, wantArgs, len(pos))
	}
	if wantArgs == 1 {
		if err := checkIdentifier("ID", pos[0]); err != nil {
			return err
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	var c store.Client
	if sub == "add" { // validate before touching the store
		if c, err = spec.client(); err != nil {
			return err
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, rec := cliEvents(ctx, std, st)

	switch sub {
	case "add":
		return addClient(ctx, std, st, rec, c)
	case "list":
		return listClients(ctx, std.out, st, asJSON)
	case "delete":
		return deleteClient(ctx, std, st, rec, pos[0])
	default: // rotate-secret
		return rotateSecret(ctx, std, st, rec, pos[0])
	}
}

// client validates the spec, reporting every problem at once, and returns
// the client to create (without its id, secret and times).
func (s clientSpec) client() (store.Client, error) {
	c, problems := s.check()
	if len(problems) > 0 {
		return store.Client{}, fmt.Errorf("%w: %s", errUsage, strings.Join(problems, "; "))
	}
	return c, nil
}

// check returns the client the spec describes, with the defaults filled in
// (without its id, secret and times), and every problem of the spec, each
// naming its flag: oauth2.Registration.Check, which import (backup.Read)
// validates clients with too.
func (s clientSpec) check() (store.Client, []string) {
	c, problems := oauth2.Registration{
		Name: s.name, RedirectURIs: s.redirectURIs, PostLogoutRedirectURIs: s.postLogout,
		Grants: s.grants, Scopes: s.scopes, Audience: s.audience,
		BackchannelLogoutURI: s.backchannelLogoutURI, Public: s.public, Trusted: s.trusted, RequireMFA: s.requireMFA,
	}.Check()
	out := make([]string, len(problems))
	for i, p := range problems {
		out[i] = p.String()
	}
	return c, out
}

func addClient(ctx context.Context, std stdio, st store.Store, rec events.Recorder, c store.Client) error {
	if slices.Contains(c.Grants, oauth2.GrantPassword) {
		fmt.Fprintln(std.errOut, "warning: the password grant exposes users' passwords to the client (RFC 9700 §2.4); use it only for a migration")
	}
	for _, u := range c.RedirectURIs {
		if w := oauth2.LoopbackPortWarning(u); w != "" {
			fmt.Fprintln(std.errOut, "warning: "+w)
		}
	}
	c, secret, err := oauth2.Register(ctx, st, c, now())
	if err != nil {
		return err
	}
	rec.Record(ctx, events.Event{Type: events.ClientAdded, ClientID: c.ID, Detail: map[string]string{
		"name": c.Name, "public": strconv.FormatBool(c.Public), "trusted": strconv.FormatBool(c.Trusted), "require_mfa": strconv.FormatBool(c.RequireMFA), "grants": strings.Join(c.Grants, ","),
	}})
	out := toClientJSON(c)
	out.ClientSecret = secret
	return printJSON(std.out, out)
}

func listClients(ctx context.Context, w io.Writer, st store.Store, asJSON bool) error {
	list, err := st.ListClients(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]clientJSON, 0, len(list))
		for _, c := range list {
			out = append(out, toClientJSON(c))
		}
		return printJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tGRANTS\tREDIRECT URIS")
	for _, c := range list {
		kind := "confidential"
		if c.Public {
			kind = "public"
		}
		uris := strings.Join(c.RedirectURIs, ",")
		if uris == "" {
			uris = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, kind, strings.Join(c.Grants, ","), uris)
	}
	return tw.Flush()
}

func deleteClient(ctx context.Context, std stdio, st store.Store, rec events.Recorder, id string) error {
	if err := st.DeleteClient(ctx, id); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no client with id %q", id)
	} else if err != nil {
		return err
	}
	rec.Record(ctx, events.Event{Type: events.ClientDeleted, ClientID: id})
	fmt.Fprintf(std.out, "deleted %s\n", id)
	return nil
}

func rotateSecret(ctx context.Context, std stdio, st store.Store, rec events.Recorder, id string) error {
	secret, err := oauth2.RotateSecret(ctx, st, id, now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no client with id %q", id)
	case errors.Is(err, oauth2.ErrPublicClient):
		return fmt.Errorf("client %q: %w", id, oauth2.ErrPublicClient)
	case err != nil:
		return err
	}
	rec.Record(ctx, events.Event{Type: events.ClientSecretRotated, ClientID: id})
	return printJSON(std.out, struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}{id, secret})
}

// printJSON writes v as one line of JSON.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
