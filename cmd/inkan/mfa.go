package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/password"
)

// usersMFA is the command group users mfa: a user's second factors.
var usersMFA = command{
	name: "mfa", summary: "list or reset a user's second factors (TOTP, passkeys,\nrecovery codes)",
	usage: "<subcommand> [flags]", column: 22,
	subs: shared(usersMFACmd,
		command{name: "list", args: "EMAIL|ID", summary: "the user's TOTP (since when), passkeys (created, last\nused) and how many recovery codes are left"},
		command{name: "reset", args: "EMAIL|ID", summary: "delete every second factor of the user, for one who lost\n" +
			"them: they sign in with the password alone (or enrol again\n" +
			"where a factor is required); every session and token issued\nbefore ends"},
	),
	notes: storeNotes,
}

// usersMFACmd runs users mfa sub (list or reset).
func usersMFACmd(ctx context.Context, std stdio, sub string, args []string) error {
	cfg := config.Default()
	fs := newFlags(std, "users mfa "+sub, "users mfa "+sub+" EMAIL|ID [flags]")
	cfg.Register(fs, config.StoreSettings...)
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: users mfa %s takes 1 argument(s), got %d", errUsage, sub, len(pos))
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, rec := cliEvents(ctx, std, st)
	accounts, err := account.New(ctx, account.Options{Store: st, Passwords: password.New(password.Default, 1), Events: rec})
	if err != nil {
		return err
	}
	u, err := lookupUser(ctx, st, pos[0])
	if err != nil {
		return err
	}
	f, err := accounts.Factors(ctx, u.ID)
	if err != nil {
		return err
	}
	if sub == "reset" {
		if err := accounts.ResetMFA(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(std.out, "%s of %s; every session and token issued before has ended\n", removedFactors(f), u.Email)
		return nil
	}
	totp, err := accounts.TOTPStatus(ctx, u.ID)
	if err != nil {
		return err
	}
	pks, err := accounts.Passkeys(ctx, u.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "USER\t%s (%s)\n", u.Email, u.ID)
	switch {
	case totp.Confirmed():
		fmt.Fprintf(tw, "TOTP\tyes, since %s\n", totp.ConfirmedAt.UTC().Format(time.RFC3339))
	case totp.Pending:
		fmt.Fprintln(tw, "TOTP\tno (an enrolment is pending: no code confirmed it)")
	default:
		fmt.Fprintln(tw, "TOTP\tno")
	}
	fmt.Fprintf(tw, "PASSKEYS\t%d\n", len(pks))
	fmt.Fprintf(tw, "RECOVERY CODES\t%d left\n", f.RecoveryCodes)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(pks) == 0 {
		return nil
	}
	fmt.Fprintln(std.out)
	tw = tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PASSKEY\tCREATED\tLAST USED")
	for _, p := range pks {
		last := "never"
		if !p.LastUsedAt.IsZero() {
			last = p.LastUsedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.CreatedAt.UTC().Format(time.RFC3339), last)
	}
	return tw.Flush()
}

// removedFactors says what a reset removed of f.
func removedFactors(f account.Factors) string {
	var parts []string
	if f.TOTP {
		parts = append(parts, "the TOTP")
	}
	if f.Passkeys > 0 {
		parts = append(parts, plural(f.Passkeys, "passkey"))
	}
	if f.RecoveryCodes > 0 {
		parts = append(parts, plural(f.RecoveryCodes, "recovery code"))
	}
	switch len(parts) {
	case 0:
		return "no second factor to remove"
	case 1:
		return "removed " + parts[0]
	}
	return "removed " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// plural is n things.
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
