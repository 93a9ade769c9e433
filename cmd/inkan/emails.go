package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/inkan-dev/inkan/internal/server"
	"github.com/inkan-dev/inkan/internal/store"
)

// emailReport is what normalizeEmails did and found.
type emailReport struct {
	rewritten []string        // ids of the users whose email it rewrote
	conflicts []emailConflict // users whose emails are one address once normalised
}

// emailConflict is users whose stored emails differ but are one address in
// normal form.
type emailConflict struct {
	holder string   // the user stored in normal form, who logs in; "" if none is
	others []string // the users stored otherwise, whom no login finds
}

// errNormalised ends an update that another process made already.
var errNormalised = errors.New("email normalised meanwhile")

// normalizeEmails brings the stored emails to server.NormalizeEmail's form,
// which gained Unicode NFC after emails were first stored: a login looks up
// the normal form, so an email stored otherwise (an accent decomposed, say)
// would lock its owner out. Such an email is rewritten when no other user's
// email is the same address once normalised: that changes nothing but its
// bytes. When several are, nothing is changed or merged, and the report
// names them: only the one stored in normal form, if any, can log in, and
// an operator decides what becomes of the others. It runs at
// every start and migrate, in Go because SQLite has no NFC; the scan is
// linear, and rewrites are compare-and-swap, so replicas starting together
// agree.
func normalizeEmails(ctx context.Context, st store.UserStore) (emailReport, error) {
	var rep emailReport
	users, err := st.ListUsers(ctx)
	if err != nil {
		return rep, fmt.Errorf("check stored emails: %w", err)
	}
	groups := map[string][]store.User{} // normal form → users stored otherwise
	for _, u := range users {
		if n := server.NormalizeEmail(u.Email); n != u.Email {
			groups[n] = append(groups[n], u)
		}
	}
	if len(groups) == 0 {
		return rep, nil
	}
	holders := map[string]string{} // normal form → id of the user stored in it
	for _, u := range users {
		if _, ok := groups[u.Email]; ok {
			holders[u.Email] = u.ID
		}
	}
	for _, n := range slices.Sorted(maps.Keys(groups)) {
		us := groups[n]
		holder, held := holders[n]
		if !held && len(us) == 1 {
			err := rewriteEmail(ctx, st, us[0], n)
			if err == nil {
				rep.rewritten = append(rep.rewritten, us[0].ID)
				continue
			}
			if !errors.Is(err, store.ErrConflict) {
				return rep, err
			}
			// Someone registered the normal form meanwhile.
			if u, err := st.GetUserByEmail(ctx, n); err == nil {
				holder, held = u.ID, true
			}
		}
		c := emailConflict{}
		if held {
			c.holder = holder
		}
		for _, u := range us {
			c.others = append(c.others, u.ID)
		}
		rep.conflicts = append(rep.conflicts, c)
	}
	return rep, nil
}

func rewriteEmail(ctx context.Context, st store.UserStore, u store.User, normal string) error {
	_, err := st.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
		if old.Email != u.Email {
			return old, errNormalised
		}
		old.Email = normal
		old.UpdatedAt = now()
		return old, nil
	})
	if errors.Is(err, errNormalised) || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("normalise the email of user %s: %w", u.ID, err)
	}
	return nil
}

// lines says what the report holds, one line per finding, naming user ids
// (never emails: "inkan users list" shows them, and the users commands take
// an id).
func (r emailReport) lines() []string {
	var out []string
	if len(r.rewritten) > 0 {
		out = append(out, fmt.Sprintf("rewrote the email of %d user(s) in Unicode NFC, the form logins look up: %s",
			len(r.rewritten), strings.Join(r.rewritten, ", ")))
	}
	for _, c := range r.conflicts {
		out = append(out, c.String())
	}
	return out
}

func (c emailConflict) String() string {
	ids := c.others
	who := "none is stored in that form, so no password login finds them"
	if c.holder != "" {
		ids = append([]string{c.holder}, c.others...)
		who = "only " + c.holder + ", stored in that form, can log in with a password"
	}
	return fmt.Sprintf("users %s have one email address once normalised to Unicode NFC and are left unchanged: %s; "+
		"resolve with \"inkan users disable|delete ID\"", strings.Join(ids, ", "), who)
}

// log writes the report: rewrites at info, conflicts at warn.
func (r emailReport) log(ctx context.Context, logger *slog.Logger) {
	if len(r.rewritten) > 0 {
		logger.InfoContext(ctx, "stored emails rewritten in Unicode NFC, the form logins look up", "users", r.rewritten)
	}
	for _, c := range r.conflicts {
		logger.WarnContext(ctx, "email conflict: "+c.String())
	}
}
