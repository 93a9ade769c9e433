package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// users runs users sub (one of the command table's).
func users(ctx context.Context, std stdio, sub string, args []string) error {
	cfg := config.Default()
	var email, name, hash string
	var verified bool
	synopsis := "users " + sub + " EMAIL|ID [flags]"
	switch sub {
	case "add":
		synopsis = "users add --email E --name N [--password-hash HASH] [flags]"
	case "list":
		synopsis = "users list [flags]"
	}
	switch sub {
	case "verify-link":
		synopsis = "users verify-link EMAIL|ID --issuer URL [flags]"
	case "reset-link":
		synopsis = "users reset-link EMAIL|ID --issuer URL [--recovery-ttl D] [flags]"
	}
	fs := newFlags(std, "users "+sub, synopsis)
	cfg.Register(fs, config.StoreSettings...)
	switch sub {
	case "verify-link":
		cfg.Register(fs, config.FlagIssuer)
	case "reset-link":
		cfg.Register(fs, config.FlagIssuer, config.FlagRecoveryTTL)
	}
	if sub == "add" {
		fs.StringVar(&email, "email", "", "the user's email (required)")
		fs.StringVar(&name, "name", "", "the user's name (required)")
		fs.StringVar(&hash, "password-hash", "", "an existing bcrypt ($2a$/$2b$/$2y$) or argon2id hash, instead of a password")
		fs.BoolVar(&verified, "email-verified", false, "mark the email as verified (OpenID Connect email_verified)")
	}
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	wantArgs := 1
	if sub == "add" || sub == "list" {
		wantArgs = 0
	}
	if len(pos) != wantArgs {
		fs.Usage()
		return fmt.Errorf("%w: users %s takes %d argument(s), got %d", errUsage, sub, wantArgs, len(pos))
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if (sub == "verify-link" || sub == "reset-link") && cfg.Issuer == "" {
		return fmt.Errorf("%w: users %s: --issuer (or INKAN_ISSUER) must be the server's issuer URL, the base of the link: "+
			"the server's own --issuer, or, for a server started without one, http://localhost:8000 (http:// + the host and port of its --addr)", errUsage, sub)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, rec := cliEvents(ctx, std, st)
	accounts, err := account.New(ctx, account.Options{
		Store: st, Passwords: password.New(password.Default, 1), Events: rec,
		LinkBase: strings.TrimRight(cfg.Issuer, "/"), RecoveryTTL: cfg.RecoveryTTL,
	})
	if err != nil {
		return err
	}

	switch sub {
	case "add":
		return addUser(ctx, std, accounts, rec, email, name, hash, verified)
	case "list":
		return listUsers(ctx, std.out, st)
	}
	u, err := lookupUser(ctx, st, pos[0])
	if err != nil {
		return err
	}
	switch sub {
	case "delete":
		if err := accounts.Delete(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(std.out, "deleted %s\n", u.Email)
		return nil
	case "disable":
		if _, err := accounts.Disable(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(std.out, "disabled %s\n", u.Email)
		return nil
	case "enable":
		if _, err := accounts.Enable(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(std.out, "enabled %s\n", u.Email)
		return nil
	case "verify-email":
		if _, err := accounts.MarkVerified(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(std.out, "email verified for %s\n", u.Email)
		return nil
	case "verify-link", "reset-link":
		return printLink(ctx, std, accounts, u, sub)
	default: // passwd
		pw, err := readPassword(std)
		if err != nil {
			return err
		}
		if _, err := accounts.SetPassword(ctx, u.ID, pw); err != nil {
			return err
		}
		fmt.Fprintf(std.out, "password changed for %s\n", u.Email)
		return nil
	}
}

// lookupUser finds the user an argument names: by id when it is a UUID,
// by email otherwise.
func lookupUser(ctx context.Context, st store.Store, arg string) (store.User, error) {
	if err := checkIdentifier("EMAIL|ID", arg); err != nil {
		return store.User{}, err
	}
	if account.IsID(arg) {
		u, err := st.GetUser(ctx, arg)
		if errors.Is(err, store.ErrNotFound) {
			return store.User{}, fmt.Errorf("no user with id %s", arg)
		}
		return u, err
	}
	target := account.NormalizeEmail(arg)
	u, err := st.GetUserByEmail(ctx, target)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("no user with email %q", target)
	}
	return u, err
}

// printLink prints a one-time link of the user's for the operator to pass
// on: stdout has the link alone, stderr what it is for and until when.
func printLink(ctx context.Context, std stdio, accounts *account.Service, u store.User, sub string) error {
	purpose, what := store.PurposeRecover, "sets a new password"
	if sub == "verify-link" {
		if u.EmailVerified {
			return fmt.Errorf("the email of %s is verified already", u.Email)
		}
		purpose, what = store.PurposeVerify, "verifies the email"
	}
	if u.Disabled {
		return fmt.Errorf("%s is disabled: enable the user first", u.Email)
	}
	link, expires, err := accounts.IssueLink(ctx, u.ID, purpose)
	if err != nil {
		return err
	}
	fmt.Fprintf(std.errOut, "One-time link for %s: it %s once, until %s, and voids the earlier ones of its kind.\n"+
		"It opens a page whose button uses it: pass it on to the user alone.\n", u.Email, what, expires.Format(time.RFC3339))
	fmt.Fprintln(std.out, link)
	return nil
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func addUser(ctx context.Context, std stdio, accounts *account.Service, rec events.Recorder, email, name, hash string, verified bool) error {
	var problems []string
	if !plaintext.Valid(email) { // before normalising, which makes U+FFFD of invalid UTF-8
		problems = append(problems, "--email: control characters or invalid UTF-8")
	}
	email, name = account.NormalizeEmail(email), strings.TrimSpace(name)
	if p := account.CheckEmail(email); p != nil {
		problems = append(problems, "--email: "+p.Msg)
	}
	if p := account.CheckName(name); p != nil {
		problems = append(problems, "--name: "+p.Msg)
	}
	if hash != "" {
		if err := password.Check(hash); err != nil {
			problems = append(problems, "--password-hash: "+err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", errUsage, strings.Join(problems, "; "))
	}
	n := account.NewUser{Name: name, Email: email, PasswordHash: hash, EmailVerified: verified}
	if hash == "" {
		pw, err := readPassword(std)
		if err != nil {
			return err
		}
		n.Password = pw
	}
	u, err := accounts.Create(ctx, n)
	if errors.Is(err, account.ErrEmailTaken) {
		return fmt.Errorf("a user with email %q exists", email)
	} else if err != nil {
		return err
	}
	rec.Record(ctx, events.Event{Type: events.UserCreated, UserID: u.ID})
	out, _ := json.Marshal(map[string]any{"id": u.ID, "name": u.Name, "email": u.Email, "created_at": u.CreatedAt})
	fmt.Fprintf(std.out, "%s\n", out)
	return nil
}

func listUsers(ctx context.Context, w io.Writer, st store.Store) error {
	list, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tSTATUS\tCREATED")
	for _, u := range list {
		status := "enabled"
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, status, u.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// readPassword reads a new password: prompted twice without echo when stdin
// is a terminal, otherwise the first line of stdin.
func readPassword(std stdio) (string, error) {
	var pw string
	if f, ok := std.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(std.errOut, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(std.errOut)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(std.errOut, "Repeat password: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(std.errOut)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(b) != string(again) {
			return "", errors.New("the passwords do not match")
		}
		pw = string(b)
	} else {
		line, err := bufio.NewReader(io.LimitReader(std.in, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if p := account.CheckPassword(pw); p != nil {
		return "", fmt.Errorf("password: %s", p.Msg)
	}
	return pw, nil
}
