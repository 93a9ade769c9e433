package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// command is an entry of the command table: inkan itself, a command or a
// subcommand. From the table come the dispatch of a command line, the
// errors for a missing or unknown command, and the listings of the help
// texts.
type command struct {
	name string
	// args follows the name in the parent's listing ("revoke KID"); a
	// line break continues it on a line indented six spaces.
	args string
	// summary says what the command does, beside or below its entry in
	// the parent's listing: one line, or lines broken to fit from the
	// listing's column. inkan's own is the title of its help.
	summary string
	// run runs a command without subcommands, given the arguments after
	// its name.
	run func(ctx context.Context, std stdio, args []string) error

	// A command with subcommands has these instead of run.
	subs   []command
	usage  string // what follows the name in its usage line
	column int    // where the summaries of its listing start
	notes  string // what its help text says after the listing
}

// helpNames ask any command with subcommands for its help text, on stdout.
var helpNames = []string{"help", "-h", "-help", "--help"}

// commands is the table of inkan's commands. A command's flags and its
// own --help are the business of its run (see newFlags).
var commands = command{
	summary: "inkan — the seal that signs: an identity provider and JWT token service.",
	usage:   "<command> [flags] [arguments]",
	column:  13,
	subs: []command{
		{name: "serve", summary: "run the HTTP server (zero-config: creates its data dir, database and key)", run: serve},
		{
			name: "users", summary: "add, list, disable, enable, delete users; change a password; verify emails;\nlist or reset second factors",
			usage: "<subcommand> [flags]", column: 24,
			subs: append(shared(users,
				command{name: "add", args: "--email E --name N [--password-hash HASH] [--email-verified]",
					summary: "add a user; the password is read from stdin (first line),\n" +
						"or prompted for without echo on a terminal; --password-hash\n" +
						"brings over an existing bcrypt or argon2id hash instead"},
				command{name: "list", summary: "list users"},
				command{name: "disable", args: "EMAIL|ID", summary: "refuse the user's logins and tokens"},
				command{name: "enable", args: "EMAIL|ID", summary: "allow logins again; tokens issued before the disable\nstay refused"},
				command{name: "delete", args: "EMAIL|ID", summary: "delete the user; their tokens stop working"},
				command{name: "passwd", args: "EMAIL|ID", summary: "set a new password (stdin or prompt, as for add); every\n" +
					"token, code and refresh token issued before stops working"},
				command{name: "verify-email", args: "EMAIL|ID", summary: "mark the user's email verified (email_verified)"},
				command{name: "verify-link", args: "EMAIL|ID --issuer URL",
					summary: "print a one-time link that verifies the user's email, for\n" +
						"an operator without SMTP to pass on; valid 24h"},
				command{name: "reset-link", args: "EMAIL|ID --issuer URL [--recovery-ttl D]",
					summary: "print a one-time link to a page that sets a new password\n" +
						"(and ends every session and token), valid --recovery-ttl"},
			), usersMFA),
			notes: storeNotes,
		},
		{
			name: "clients", summary: "add, list, delete OAuth 2.0 clients; rotate a client's secret",
			usage: "<subcommand> [flags]", column: 24,
			subs: shared(clientsCmd,
				command{name: "add",
					args: "--name N --redirect-uri URI [--redirect-uri URI...]\n" +
						"[--post-logout-redirect-uri URI...] [--backchannel-logout-uri URI]\n" +
						"[--public] [--grant G...] [--scope S...] [--audience A...] [--trusted]",
					summary: "register an OAuth 2.0 client and print it as JSON; a\n" +
						"confidential client's secret is printed this once and\n" +
						"only its hash is stored"},
				command{name: "list", args: "[--json]", summary: "list clients (never a secret)"},
				command{name: "delete", args: "ID", summary: "delete the client with its codes, refresh tokens and\nconsents"},
				command{name: "rotate-secret", args: "ID", summary: "give a confidential client a new secret, printed once;\n" +
					"the old one stops working (on running servers within\n" +
					"a quarter of a second)"},
			),
			notes: clientsNotes,
		},
		{
			name: "keys", summary: "generate, import, rotate, revoke, rekey and list signing keys",
			usage: "<subcommand> [flags]", column: 19,
			subs: shared(keysCmd,
				command{name: "generate", args: "[--alg A] [--bits 2048|3072|4096] [--out FILE] [--now]",
					summary: "make a new key: with --out, write it as a PKCS#8 PEM file\n" +
						"(mode 0600); without, add it to the store as the next key"},
				command{name: "import", args: "FILE.pem [--alg A] [--now]",
					summary: "add an existing private key (PKCS#1, PKCS#8 or SEC1 PEM)\nas the next key"},
				command{name: "rotate", args: "[--now]", summary: "add a new key of --signing-alg as the next key"},
				command{name: "revoke", args: "KID",
					summary: "revoke a compromised key: it leaves the JWKS at once and\n" +
						"every token it signed is refused. A revoked active key is\n" +
						"replaced at once by the next key that was to sign, already\n" +
						"in the JWKS, or by a new key when there is none"},
				command{name: "rekey", args: "--new-master-key-file FILE",
					summary: "re-seal every key under a new master key; then it replaces\n" +
						"<data-dir>/master.key if that was the key, and otherwise\n" +
						"says what to change (INKAN_MASTER_KEY, --master-key-file);\n" +
						"restart the servers"},
				command{name: "list",
					summary: "each key's state and the times of its next transitions;\n" +
						"NOTE marks the key that signs now and the next key that\n" +
						"will sign"},
			),
			notes: keysNotes,
		},
		{name: "events", summary: "list the audit trail: logins, account, session, client and key changes", run: eventsCmd},
		{name: "jwk", summary: "convert a PEM key to a JWKS (the job of pem-jwk)", run: jwk},
		{
			name: "token", summary: "decode a token, or verify it against a JWKS",
			usage: "<subcommand> [flags] TOKEN", column: 19,
			subs: shared(tokenCmd,
				command{name: "decode", args: "TOKEN",
					summary: "print the header and claims, with times made readable; the\nsignature is NOT checked"},
				command{name: "verify", args: "--jwks ISSUER|URL|FILE [--issuer I] [--audience A] TOKEN",
					summary: "check the token against a JWKS: exit 0 when valid, 1 with\n" +
						"the reason otherwise. --jwks is an issuer's URL (its\n" +
						"/.well-known/openid-configuration names the JWKS, and the\n" +
						"issuer is then checked too), the JWKS's own URL, or a file"},
			),
			notes: "TOKEN \"-\" reads the token from stdin.\n",
		},
		{name: "migrate", summary: "apply pending database migrations and exit", run: migrateCmd},
		{name: "export", summary: "write every key, user, OAuth client and consent as JSON Lines (a move)", run: exportCmd},
		{name: "import", summary: "add the keys, users, clients and consents of an export to the store", run: importCmd},
		{name: "version", summary: "print the version, VCS revision and Go version of this build", run: versionCmd},
		// Listed only: dispatch answers the helpNames of every command.
		{name: "help", summary: "show this help"},
	},
	notes: `Every setting has an INKAN_* environment variable (--token-ttl ↔ INKAN_TOKEN_TTL),
shown in [brackets] by --help; a flag wins over its variable. INKAN_MASTER_KEY
holds the master key itself. Run "inkan <command> --help" for a command's flags.
`,
}

// shared gives each of subs, subcommands that one function runs (keys',
// users'), a run that calls it with the subcommand's name.
func shared(run func(ctx context.Context, std stdio, sub string, args []string) error, subs ...command) []command {
	for i := range subs {
		name := subs[i].name
		subs[i].run = func(ctx context.Context, std stdio, args []string) error { return run(ctx, std, name, args) }
	}
	return subs
}

// dispatch runs the command line args (after the name) of c, whose path
// is its name with its parents' ("keys", or "" for inkan itself).
func (c *command) dispatch(ctx context.Context, std stdio, path string, args []string) error {
	if c.run != nil {
		return c.run(ctx, std, args)
	}
	if len(args) == 0 {
		fmt.Fprint(std.errOut, c.help(path))
		if path == "" {
			return fmt.Errorf("%w: no command given", errUsage)
		}
		return fmt.Errorf("%w: %s needs a subcommand", errUsage, path)
	}
	name, rest := args[0], args[1:]
	if slices.Contains(helpNames, name) {
		fmt.Fprint(std.out, c.help(path))
		return nil
	}
	i := slices.IndexFunc(c.subs, func(s command) bool { return s.name == name })
	if i < 0 {
		fmt.Fprint(std.errOut, c.help(path))
		if path == "" {
			return fmt.Errorf("%w: unknown command %q", errUsage, name)
		}
		return fmt.Errorf("%w: unknown %s subcommand %q", errUsage, path, name)
	}
	return c.subs[i].dispatch(ctx, std, strings.TrimSpace(path+" "+name), rest)
}

// help is the help text of a command with subcommands: its usage line, the
// listing of its subcommands and its notes.
func (c *command) help(path string) string {
	if path == "" {
		return c.summary + "\n\nUsage:\n  inkan " + c.usage + "\n\nCommands:\n" + c.listing() + "\n" + c.notes
	}
	return "Usage: inkan " + path + " " + c.usage + "\n\nSubcommands:\n" + c.listing() + "\n" + c.notes
}

// listing lists the subcommands, each indented two spaces with its args,
// and its summary from the column: beside the entry when that leaves two
// spaces, otherwise on the lines below.
func (c *command) listing() string {
	var b strings.Builder
	indent := "\n" + strings.Repeat(" ", c.column)
	for _, s := range c.subs {
		entry := "  " + s.name
		if s.args != "" {
			entry += " " + strings.ReplaceAll(s.args, "\n", "\n      ")
		}
		b.WriteString(entry)
		if n := utf8.RuneCountInString(entry); !strings.Contains(entry, "\n") && n+2 <= c.column {
			b.WriteString(strings.Repeat(" ", c.column-n))
		} else {
			b.WriteString(indent)
		}
		b.WriteString(strings.ReplaceAll(s.summary, "\n", indent))
		b.WriteString("\n")
	}
	return b.String()
}

// storeNotes end the help of users and clients, whose subcommands open
// the store.
const storeNotes = `Every subcommand takes --data-dir (default ./inkan-data) [$INKAN_DATA_DIR]
and --database (a postgres:// URL instead of SQLite) [$INKAN_DATABASE].
`

// clientsNotes end the help of clients.
const clientsNotes = `List flags repeat or take comma-separated values. Grants default to
authorization_code,refresh_token; scopes to openid,profile,email,offline_access.
--audience is the aud of the client's access tokens (default the client id);
GET /user, the tutorial's route, takes an access token only when its aud
includes the issuer URL (--audience http://localhost:8000).

Redirect URIs are absolute, without a fragment: https, http on a loopback IP
literal (127.0.0.1 or [::1]), or a private-use scheme with a dot
(com.example.app:/cb) for native apps (RFC 8252 §7). They match the request's
redirect_uri character for character, with one exception (RFC 8252 §7.3):
a loopback URI registered WITHOUT a port, such as http://127.0.0.1/cb, matches
that URI with any port (http://127.0.0.1:49152/cb), so a native app may listen
on whatever port it gets. A loopback URI registered WITH a port matches only
that port, and clients add warns about it. http://localhost is refused: the
name may resolve to another address or interface than the one the app
listens on (RFC 8252 §8.3); register http://127.0.0.1/... instead.
A back-channel logout URI, which is sent a logout token when a session the
client was issued to ends (OpenID Connect Back-Channel Logout 1.0), is https,
or http on 127.0.0.1 or [::1], without a fragment.

` + storeNotes

// keysNotes end the help of keys.
const keysNotes = `A key's life: next (published in the JWKS, not yet signing) → active (signs;
one at a time) → retiring (published, verifies) → retired (gone from the
JWKS). A next key signs --jwks-max-age (plus 0.25 s) after it was added, so
that every cache of the JWKS holds it first; --now skips that wait and breaks
caches: tokens it signs fail at verifiers whose cached JWKS lacks it until they
refetch. The first key of an empty store is active at once. A key leaves the
JWKS --token-ttl + 60 s + --jwks-max-age after its successor activates.

These are the servers' --jwks-max-age and --token-ttl: every server records
its own in the store at start and every minute, and these commands schedule
with them (with replicas that differ, the largest of each among the servers
running in the last 3 minutes). This command's own --jwks-max-age and
--token-ttl count only while no server has recorded any.
generate, import and rotate print the new key's kid on stdout.

Private keys are sealed (AES-256-GCM) under the master key: INKAN_MASTER_KEY,
--master-key-file, or <data-dir>/master.key, made on first use.
Every subcommand takes --data-dir and --database, as serve does.
`
