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
)

const keysUsage = `Usage: inkan keys <subcommand> [flags]

Subcommands:
  generate [--alg RS256|ES256|EdDSA] [--bits 2048|3072|4096] [--out FILE]
                   make a new key: with --out, write it as a PKCS#8 PEM file
                   (mode 0600); without, add it to the store as the active key
  import FILE.pem  make an existing private key (PKCS#1, PKCS#8 or SEC1 PEM)
                   the active signing key
                   (generate and import print the new key's kid on stdout)
  list             list keys: kid, algorithm, created, active

Keys added to the store sign new tokens within seconds on a running server;
earlier keys stay in the JWKS so that the tokens they signed keep verifying.
Every subcommand takes --data-dir (default ./inkan-data) [$INKAN_DATA_DIR]
and --database (a postgres:// URL instead of SQLite) [$INKAN_DATABASE].
`

func keysCmd(ctx context.Context, std stdio, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(std.errOut, keysUsage)
		return fmt.Errorf("%w: keys needs a subcommand", errUsage)
	}
	sub, args := args[0], args[1:]
	cfg := config.Default()
	var alg, out string
	var bits int
	var synopsis string
	wantArgs := 0
	switch sub {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(std.out, keysUsage)
		return nil
	case "generate":
		synopsis = "keys generate [--alg RS256|ES256|EdDSA] [--bits N] [--out FILE] [flags]"
	case "import":
		synopsis, wantArgs = "keys import FILE.pem [flags]", 1
	case "list":
		synopsis = "keys list [flags]"
	default:
		fmt.Fprint(std.errOut, keysUsage)
		return fmt.Errorf("%w: unknown keys subcommand %q", errUsage, sub)
	}
	fs := newFlags(std, "keys "+sub, synopsis)
	cfg.Register(fs, config.StoreSettings...)
	switch sub {
	case "generate":
		fs.StringVar(&alg, "alg", keys.RS256, "algorithm: RS256, ES256 or EdDSA")
		fs.IntVar(&bits, "bits", 0, "RSA modulus size: 2048 (the default), 3072 or 4096")
		fs.StringVar(&out, "out", "", "write a PKCS#8 PEM file (mode 0600) instead of adding to the store")
	case "import":
		fs.StringVar(&alg, "alg", "", "algorithm (default: RS256 for RSA, ES256 for P-256, ES384 for P-384, EdDSA for Ed25519)")
	}
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) != wantArgs {
		fs.Usage()
		return fmt.Errorf("%w: keys %s takes %d argument(s), got %d", errUsage, sub, wantArgs, len(pos))
	}

	if sub == "generate" {
		switch alg {
		case keys.RS256, keys.ES256, keys.EdDSA:
		default:
			return fmt.Errorf("%w: --alg %q: use RS256, ES256 or EdDSA", errUsage, alg)
		}
		if out != "" {
			return writeKeyFile(std.out, out, alg, bits)
		}
	}
	// Read the key file before touching the store.
	var pemBytes []byte
	if sub == "import" {
		if pemBytes, err = readInput(std.in, pos[0]); err != nil {
			return err
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "generate":
		kid, err := keys.AddGenerated(ctx, st, alg, bits, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(std.errOut, "generated %s key; it is now the active signing key\n", alg)
		fmt.Fprintln(std.out, kid)
		return nil
	case "import":
		priv, err := keys.ParsePrivatePEM(pemBytes)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		kid, err := keys.Add(ctx, st, priv, alg, time.Now())
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		fmt.Fprintln(std.errOut, "imported key; it is now the active signing key")
		fmt.Fprintln(std.out, kid)
		return nil
	default: // list
		list, err := st.ListKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALG\tCREATED\tACTIVE")
		for i, k := range list {
			active := "no"
			if i == 0 {
				active = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.CreatedAt.Format(time.RFC3339), active)
		}
		return tw.Flush()
	}
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
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: refusing to overwrite a key file", path)
	} else if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
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
	if path != "-" {
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
