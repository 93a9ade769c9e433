package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// EmailReport is what NormalizeStoredEmails did and found.
type EmailReport struct {
	Rewritten []string        // ids of the users whose email it rewrote
	Conflicts []EmailConflict // users whose emails are one address once normalised
}

// EmailConflict is users whose stored emails differ but are one address in
// normal form.
type EmailConflict struct {
	Holder string   // the user stored in normal form, who logs in; "" if none is
	Others []string // the users stored otherwise, whom no login finds
}

// errNormalised ends an update that another process made already.
var errNormalised = errors.New("email normalised meanwhile")

// NormalizeStoredEmails brings the stored emails to NormalizeEmail's form,
// which gained Unicode NFC after emails were first stored: a login looks up
// the normal form, so an email stored otherwise (an accent decomposed, say)
// would lock its owner out. Such an email is rewritten, its UpdatedAt set
// to now, when no other user's email is the same address once normalised:
// that changes nothing but its bytes. When several are, nothing is changed
// or merged, and the report names them: only the one stored in normal
// form, if any, can log in, and an operator decides what becomes of the
// others. inkan runs it at every serve and migrate, in Go because SQLite
// has no NFC; the scan is linear, and rewrites are compare-and-swap, so
// replicas starting together agree.
func NormalizeStoredEmails(ctx context.Context, st store.UserStore, now func() time.Time) (EmailReport, error) {
	var rep EmailReport
	users, err := st.ListUsers(ctx)
	if err != nil {
		return rep, fmt.Errorf("check stored emails: %w", err)
	}
	groups := map[string][]store.User{} // normal form → users stored otherwise
	for _, u := range users {
		if n := NormalizeEmail(u.Email); n != u.Email {
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
			err := rewriteEmail(ctx, st, us[0], n, now)
			if err == nil {
				rep.Rewritten = append(rep.Rewritten, us[0].ID)
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
		c := EmailConflict{}
		if held {
			c.Holder = holder
		}
		for _, u := range us {
			c.Others = append(c.Others, u.ID)
		}
		rep.Conflicts = append(rep.Conflicts, c)
	}
	return rep, nil
}

func rewriteEmail(ctx context.Context, st store.UserStore, u store.User, normal string, now func() time.Time) error {
	_, err := st.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
		if old.Email != u.Email {
			return old, errNormalised
		}
		old.Email = normal
		old.UpdatedAt = now().UTC().Truncate(time.Microsecond)
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

// Lines says what the report holds, one line per finding, naming user ids
// (never emails: "inkan users list" shows them, and the users commands take
// an id).
func (r EmailReport) Lines() []string {
	var out []string
	if len(r.Rewritten) > 0 {
		out = append(out, fmt.Sprintf("rewrote the email of %d user(s) in Unicode NFC, the form logins look up: %s",
			len(r.Rewritten), strings.Join(r.Rewritten, ", ")))
	}
	for _, c := range r.Conflicts {
		out = append(out, c.String())
	}
	return out
}

// String says who the conflict's users are, which of them can log in,
// and how an operator resolves it.
func (c EmailConflict) String() string {
	ids := c.Others
	who := "none is stored in that form, so no password login finds them"
	if c.Holder != "" {
		ids = append([]string{c.Holder}, c.Others...)
		who = "only " + c.Holder + ", stored in that form, can log in with a password"
	}
	return fmt.Sprintf("users %s have one email address once normalised to Unicode NFC and are left unchanged: %s; "+
		"resolve with \"inkan users disable|delete ID\"", strings.Join(ids, ", "), who)
}

// Log writes the report to logger: rewrites at info, conflicts at warn.
func (r EmailReport) Log(ctx context.Context, logger *slog.Logger) {
	if len(r.Rewritten) > 0 {
		logger.InfoContext(ctx, "stored emails rewritten in Unicode NFC, the form logins look up", "users", r.Rewritten)
	}
	for _, c := range r.Conflicts {
		logger.WarnContext(ctx, "email conflict: "+c.String())
	}
}
