package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/verify"
)

// algUsage describes --alg of keys import and jwk: the algorithms each key
// type allows, the default first.
var algUsage = "algorithm (default: the first of the key's type): " + keys.AlgorithmsByKeyType()

// keysCmd runs keys sub (one of the command table's).
func keysCmd(ctx context.Context, std stdio, sub string, args []string) error {
	cfg := config.Default()
	var alg, out, newMaster string
	var bits int
	var now bool
	var synopsis string
	wantArgs := 0
	switch sub {
	case "generate":
		synopsis = "keys generate [--alg A] [--bits N] [--out FILE] [--now] [flags]"
	case "import":
		synopsis, wantArgs = "keys import FILE.pem [--alg A] [--now] [flags]", 1
	case "rotate":
		synopsis = "keys rotate [--now] [flags]"
	case "revoke":
		synopsis, wantArgs = "keys revoke [flags] [--] KID\n\nA kid that begins with \"-\" goes after \"--\".", 1
	case "rekey":
		synopsis = "keys rekey --new-master-key-file FILE [flags]\n\nRe-seals every signing key and every user's TOTP secret under the new master key."
	case "list":
		synopsis = "keys list [flags]"
	}
	fs := newFlags(std, "keys "+sub, synopsis)
	cfg.Register(fs, config.KeySettings...)
	switch sub {
	case "generate":
		fs.StringVar(&alg, "alg", keys.RS256, "algorithm: "+strings.Join(verify.Algorithms(), ", "))
		fs.IntVar(&bits, "bits", 0, "RSA modulus size: 2048, 3072 or 4096 (0 means 2048)")
		fs.StringVar(&out, "out", "", "write a PKCS#8 PEM file (mode 0600) instead of adding to the store")
	case "import":
		fs.StringVar(&alg, "alg", "", algUsage)
	case "rekey":
		fs.StringVar(&newMaster, "new-master-key-file", "", "file holding the new master key (32 bytes, standard base64)")
	}
	if sub == "generate" || sub == "import" || sub == "rotate" {
		fs.BoolVar(&now, "now", false, "activate at once, skipping pre-publication (breaks JWKS caches: for emergencies)")
	}
	for _, name := range []string{config.FlagJWKSMaxAge, config.FlagTokenTTL} {
		fs.Lookup(name).Usage = "--" + name + " of the servers, used only while no server has recorded its own (keys follow the servers' settings)"
	}
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) != wantArgs {
		fs.Usage()
		return fmt.Errorf("%w: keys %s takes %d argument(s), got %d", errUsage, sub, wantArgs, len(pos))
	}
	if sub == "revoke" {
		if err := checkIdentifier("KID", pos[0]); err != nil {
			return err
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}

	if sub == "generate" {
		if !slices.Contains(verify.Algorithms(), alg) {
			return fmt.Errorf("%w: --alg %q: use one of %s", errUsage, alg, strings.Join(verify.Algorithms(), ", "))
		}
		if out != "" {
			return writeKeyFile(std.out, out, alg, bits)
		}
	}
	var next *keys.Sealer
	if sub == "rekey" {
		if newMaster == "" {
			return fmt.Errorf("%w: keys rekey needs --new-master-key-file", errUsage)
		}
		if next, err = readSealer(newMaster); err != nil {
			return err
		}
	}
	// Read the key file before touching the store.
	var pemBytes []byte
	if sub == "import" {
		if pemBytes, err = readInput(std.in, pos[0]); err != nil {
			return err
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := openKeys(ctx, std, cfg, st, cliLogger(std))
	if err != nil {
		return err
	}
	if err := useServing(ctx, std, fs, m, sub == "generate" || sub == "import" || sub == "rotate"); err != nil {
		return err
	}
	if sub == "generate" || sub == "import" || sub == "rotate" || sub == "revoke" {
		before, err := m.Statuses(ctx)
		if err != nil {
			return err
		}
		defer recordKeyChanges(ctx, std, st, m, before) // what changed, even if the command failed halfway
	}
	switch sub {
	case "generate", "rotate":
		if sub == "rotate" {
			alg = ""
		}
		kid, err := m.Generate(ctx, alg, bits, now)
		if err != nil {
			return err
		}
		return printAdded(ctx, std, m, kid)
	case "import":
		priv, err := keys.ParsePrivatePEM(pemBytes)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		kid, err := m.Add(ctx, priv, alg, now)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		return printAdded(ctx, std, m, kid)
	case "revoke":
		repl, promoted, err := m.Revoke(ctx, pos[0])
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no key with kid %q", pos[0])
		} else if err != nil {
			return err
		}
		fmt.Fprintf(std.out, "revoked %s\n", pos[0])
		switch {
		case promoted:
			fmt.Fprintf(std.out, "it was the active key: %s, the next key already in the JWKS, signs from now on\n", repl)
		case repl != "":
			fmt.Fprintf(std.out, "it was the active key: %s, a new key, signs from now on; verifiers whose cached JWKS lacks it refuse its tokens until they refetch\n", repl)
		}
		return nil
	case "rekey":
		// The TOTP secrets first: each run re-seals what is not under the
		// new key yet, and a failure here leaves the keys, and so the
		// master key this command opens them with, as they were.
		nt, err := account.ResealTOTPs(ctx, st, m.Sealer.TokenSecret(), next.TokenSecret())
		if err != nil {
			return fmt.Errorf("re-seal the TOTP secrets (the signing keys are still under the old master key; "+
				"a TOTP that no key opens can be removed with inkan users mfa reset): %w", err)
		}
		n, err := m.Rekey(ctx, next)
		if err != nil {
			return err
		}
		fmt.Fprintf(std.out, "re-sealed %d keys under the new master key in %s\n", n, newMaster)
		fmt.Fprintf(std.out, "re-sealed %d TOTP secrets under it: until restarted, the running servers refuse every TOTP code\n", nt)
		return switchMasterKey(std, cfg, newMaster)
	default: // list
		sts, err := m.Statuses(ctx)
		if err != nil {
			return err
		}
		t := func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format(time.RFC3339)
		}
		tw := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tACTIVE FROM\tRETIRING FROM\tLEAVES JWKS\tNOTE")
		for _, k := range sts {
			note := "-"
			switch {
			case k.State == keys.StateActive:
				note = "signs now"
			case k.SignsNext:
				note = "signs next"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.State,
				t(k.CreatedAt), t(k.ActiveFrom), t(k.RetiringFrom), t(k.RetiredAt), note)
		}
		return tw.Flush()
	}
}

// useServing makes m schedule by the settings the running servers recorded
// (the largest of each among them), not by this command's --jwks-max-age and
// --token-ttl, which count only while no server has recorded any; an
// explicit flag that disagrees is overruled with a note on stderr.
func useServing(ctx context.Context, std stdio, fs *flag.FlagSet, m *keys.Manager, adds bool) error {
	own := m.Schedule
	s, ok, err := m.UseServing(ctx)
	if err != nil {
		return err
	}
	if !ok {
		if !adds {
			return nil
		}
		fmt.Fprintf(std.errOut, "note: no server has recorded its settings in this store yet: keys are scheduled with --jwks-max-age %v and --token-ttl %v\n",
			own.MaxAge, own.TokenTTL)
		return nil
	}
	fs.Visit(func(f *flag.Flag) {
		switch {
		case f.Name == config.FlagJWKSMaxAge && own.MaxAge != s.JWKSMaxAge:
			fmt.Fprintf(std.errOut, "note: --jwks-max-age %v ignored: the servers serve %v, and keys follow them\n", own.MaxAge, s.JWKSMaxAge)
		case f.Name == config.FlagTokenTTL && own.TokenTTL != s.TokenTTL:
			fmt.Fprintf(std.errOut, "note: --token-ttl %v ignored: the servers issue tokens for %v, and keys follow them\n", own.TokenTTL, s.TokenTTL)
		}
	})
	return nil
}

// printAdded prints a new key's kid on stdout and its state on stderr.
func printAdded(ctx context.Context, std stdio, m *keys.Manager, kid string) error {
	sts, err := m.Statuses(ctx)
	if err != nil {
		return err
	}
	for _, st := range sts {
		if st.ID == kid {
			fmt.Fprintf(std.errOut, "key %s is %s; it signs from %s\n", kid, st.State, st.ActiveFrom.UTC().Format(time.RFC3339))
		}
	}
	fmt.Fprintln(std.out, kid)
	return nil
}

// readSealer reads a master key file for rekey.
func readSealer(path string) (*keys.Sealer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	master, err := keys.ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys.NewSealer(master)
}

// writeKeyFile writes a new private key as PKCS#8 PEM, mode 0600, refusing
// to overwrite a file.
func writeKeyFile(w io.Writer, path, alg string, bits int) error {
	priv, err := keys.Generate(alg, bits)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	data, err := keys.MarshalPrivatePEM(priv)
	if err != nil {
		return err
	}
	if err := writeNewFile(path, data); err != nil {
		return err
	}
	kid, _ := keys.Thumbprint(priv.Public())
	fmt.Fprintf(w, "wrote %s key %s to %s\n", alg, kid, path)
	return nil
}

// maxPEMBytes bounds a key file read by the CLI.
const maxPEMBytes = 1 << 20

// readInput reads a file, or stdin for "-", up to maxPEMBytes.
func readInput(stdin io.Reader, path string) ([]byte, error) {
	r := stdin
	if path != "-" || stdin == nil {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxPEMBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxPEMBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxPEMBytes)
	}
	return data, nil
}

// recordKeyChanges records, in the audit trail, how the keys changed since
// before: each key added, revoked, or replaced as the signer by a new one
// (key.retired, with when it stops signing).
func recordKeyChanges(ctx context.Context, std stdio, st store.Store, m *keys.Manager, before []keys.Status) {
	after, err := m.Statuses(ctx)
	if err != nil {
		fmt.Fprintf(std.errOut, "warning: the audit trail misses this change: %v\n", err)
		return
	}
	ctx, rec := cliEvents(ctx, std, st)
	was := map[string]keys.Status{}
	for _, k := range before {
		was[k.ID] = k
	}
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	// Revocations and additions first, then the retirements they cause;
	// each the oldest key first.
	for _, k := range slices.Backward(after) {
		old, existed := was[k.ID]
		switch {
		case k.State == keys.StateRevoked && existed && old.State != keys.StateRevoked:
			rec.Record(ctx, events.Event{Type: events.KeyRevoked, Detail: map[string]string{"kid": k.ID, "alg": k.Algorithm, "was": string(old.State)}})
		case !existed:
			rec.Record(ctx, events.Event{Type: events.KeyAdded, Detail: map[string]string{"kid": k.ID, "alg": k.Algorithm, "signs_from": stamp(k.ActiveFrom)}})
		}
	}
	for _, k := range slices.Backward(after) {
		if old, existed := was[k.ID]; existed && k.State != keys.StateRevoked && old.RetiringFrom.IsZero() && !k.RetiringFrom.IsZero() {
			rec.Record(ctx, events.Event{Type: events.KeyRetired, Detail: map[string]string{"kid": k.ID, "alg": k.Algorithm, "retiring_from": stamp(k.RetiringFrom)}})
		}
	}
}
