package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
)

const keysUsage = `Usage: inkan keys <subcommand> [flags]

Subcommands:
  generate [--alg RS256|PS256|ES256|EdDSA] [--bits 2048|3072|4096] [--out FILE] [--now]
                   make a new key: with --out, write it as a PKCS#8 PEM file
                   (mode 0600); without, add it to the store as the next key
  import FILE.pem [--alg A] [--now]
                   add an existing private key (PKCS#1, PKCS#8 or SEC1 PEM)
                   as the next key
  rotate [--now]   add a new key of --signing-alg as the next key
  revoke KID       revoke a compromised key: it leaves the JWKS at once and
                   every token it signed is refused (a revoked active key is
                   replaced at once)
  rekey --new-master-key-file FILE
                   re-seal every key under a new master key; then it replaces
                   <data-dir>/master.key if that was the key, and otherwise
                   says what to change (INKAN_MASTER_KEY, --master-key-file);
                   restart the servers
  list             each key's state and the times of its next transitions

A key's life: next (published in the JWKS, not yet signing) → active (signs;
one at a time) → retiring (published, verifies) → retired (gone from the
JWKS). A next key signs --jwks-max-age (plus 0.25 s) after it was added, so
that every cache of the JWKS holds it first; --now skips that wait and breaks
caches: tokens it signs fail at verifiers whose cached JWKS lacks it until they
refetch. The first key of an empty store is active at once. A key leaves the
JWKS --token-ttl + 60 s + --jwks-max-age after its successor activates.
generate, import and rotate print the new key's kid on stdout.

Private keys are sealed (AES-256-GCM) under the master key: INKAN_MASTER_KEY,
--master-key-file, or <data-dir>/master.key, made on first use.
Every subcommand takes --data-dir and --database, as serve does.
`

func keysCmd(ctx context.Context, std stdio, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(std.errOut, keysUsage)
		return fmt.Errorf("%w: keys needs a subcommand", errUsage)
	}
	sub, args := args[0], args[1:]
	cfg := config.Default()
	var alg, out, newMaster string
	var bits int
	var now bool
	var synopsis string
	wantArgs := 0
	switch sub {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(std.out, keysUsage)
		return nil
	case "generate":
		synopsis = "keys generate [--alg A] [--bits N] [--out FILE] [--now] [flags]"
	case "import":
		synopsis, wantArgs = "keys import FILE.pem [--alg A] [--now] [flags]", 1
	case "rotate":
		synopsis = "keys rotate [--now] [flags]"
	case "revoke":
		synopsis, wantArgs = "keys revoke KID [flags]", 1
	case "rekey":
		synopsis = "keys rekey --new-master-key-file FILE [flags]"
	case "list":
		synopsis = "keys list [flags]"
	default:
		fmt.Fprint(std.errOut, keysUsage)
		return fmt.Errorf("%w: unknown keys subcommand %q", errUsage, sub)
	}
	fs := newFlags(std, "keys "+sub, synopsis)
	cfg.Register(fs, config.KeySettings...)
	switch sub {
	case "generate":
		fs.StringVar(&alg, "alg", keys.RS256, "algorithm: RS256, PS256, ES256 or EdDSA")
		fs.IntVar(&bits, "bits", 0, "RSA modulus size: 2048 (the default), 3072 or 4096")
		fs.StringVar(&out, "out", "", "write a PKCS#8 PEM file (mode 0600) instead of adding to the store")
	case "import":
		fs.StringVar(&alg, "alg", "", "algorithm (default: RS256 for RSA, ES256 for P-256, ES384 for P-384, EdDSA for Ed25519)")
	case "rekey":
		fs.StringVar(&newMaster, "new-master-key-file", "", "file holding the new master key (32 bytes, standard base64)")
	}
	if sub == "generate" || sub == "import" || sub == "rotate" {
		fs.BoolVar(&now, "now", false, "activate at once, skipping pre-publication (breaks JWKS caches: for emergencies)")
	}
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) != wantArgs {
		fs.Usage()
		return fmt.Errorf("%w: keys %s takes %d argument(s), got %d", errUsage, sub, wantArgs, len(pos))
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}

	if sub == "generate" {
		switch alg {
		case keys.RS256, keys.PS256, keys.ES256, keys.EdDSA:
		default:
			return fmt.Errorf("%w: --alg %q: use RS256, PS256, ES256 or EdDSA", errUsage, alg)
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
		repl, err := m.Revoke(ctx, pos[0])
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no key with kid %q", pos[0])
		} else if err != nil {
			return err
		}
		fmt.Fprintf(std.out, "revoked %s\n", pos[0])
		if repl != "" {
			fmt.Fprintf(std.out, "it was the active key: %s signs from now on\n", repl)
		}
		return nil
	case "rekey":
		n, err := m.Rekey(ctx, next)
		if err != nil {
			return err
		}
		fmt.Fprintf(std.out, "re-sealed %d keys under the new master key in %s\n", n, newMaster)
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
		fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tACTIVE FROM\tRETIRING FROM\tLEAVES JWKS")
		for _, k := range sts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.State,
				t(k.CreatedAt), t(k.ActiveFrom), t(k.RetiringFrom), t(k.RetiredAt))
		}
		return tw.Flush()
	}
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
		return fmt.Errorf("%w: %v", errUsage, err)
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
