package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
)

// eventsCmd is inkan events: the audit trail, newest first.
func eventsCmd(ctx context.Context, std stdio, args []string) error {
	cfg := config.Default()
	var userArg, typ, since string
	var limit int
	var asJSON bool
	fs := newFlags(std, "events", "events [--user EMAIL|ID] [--type T] [--since D] [--limit N] [--json] [flags]")
	cfg.Register(fs, config.StoreSettings...)
	fs.StringVar(&userArg, "user", "", "only the events of this user, by `EMAIL|ID` (a deleted user's events stay under their id; its user.deleted event has the email)")
	fs.StringVar(&typ, "type", "", "only the events of type `T`: "+strings.Join(events.Types, ", "))
	fs.StringVar(&since, "since", "", "only the events of the last `D` (such as 24h or 7d), or since an RFC 3339 time (2026-11-25T09:00:00Z)")
	fs.IntVar(&limit, "limit", 100, "at most `N` events, the newest; 0 for all")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object a line instead of a table")
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) > 0 {
		fs.Usage()
		return fmt.Errorf("%w: events takes no arguments, got %d", errUsage, len(pos))
	}
	f := store.EventFilter{Type: typ, Limit: limit}
	var problems []string
	if typ != "" && !events.Known(typ) {
		problems = append(problems, fmt.Sprintf("--type %q is not an event type: use one of %s", typ, strings.Join(events.Types, ", ")))
	}
	if limit < 0 {
		problems = append(problems, fmt.Sprintf("--limit %d must be 0 (all) or more", limit))
	}
	if since != "" {
		if f.Since, err = parseSince(since, time.Now()); err != nil {
			problems = append(problems, "--since: "+err.Error())
		}
	}
	if userArg != "" {
		if err := checkIdentifier("--user", userArg); err != nil {
			return err
		}
	}
	if err := cfg.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", errUsage, strings.Join(problems, "; "))
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if userArg != "" {
		if f.UserID, err = eventUser(ctx, st, userArg); err != nil {
			return err
		}
	}
	list, err := st.ListEvents(ctx, f)
	if err != nil {
		return err
	}
	if asJSON {
		return printEventsJSON(std.out, list)
	}
	return printEvents(ctx, std.out, st, list)
}

// eventUser is the user id --user names: an id as it is, since a deleted
// user's events remain under it, or the id of the user with that email.
func eventUser(ctx context.Context, st store.Store, arg string) (string, error) {
	if account.IsID(arg) {
		return arg, nil
	}
	u, err := lookupUser(ctx, st, arg)
	if err != nil {
		return "", fmt.Errorf("%w (a deleted user's events are under their id: inkan events --type user.deleted)", err)
	}
	return u.ID, nil
}

// parseSince reads --since: a duration back from now (a Go duration such
// as 24h or 90m, or whole days such as 7d), or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*366 {
			return time.Time{}, fmt.Errorf("%q is not a count of days such as 7d", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return time.Time{}, fmt.Errorf("%q is neither a duration (24h, 7d) nor an RFC 3339 time (2026-11-25T09:00:00Z)", s)
		}
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q is negative: give how long ago, such as 24h", s)
		}
	}
	return now.Add(-d), nil
}

// eventJSON is how --json prints an event, one a line: the stored fields.
type eventJSON struct {
	ID        int64             `json:"id"`
	Time      time.Time         `json:"time"`
	Type      string            `json:"type"`
	UserID    string            `json:"user_id,omitempty"`
	ClientID  string            `json:"client_id,omitempty"`
	Address   string            `json:"address,omitempty"`
	UserAgent string            `json:"user_agent,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Detail    map[string]string `json:"detail,omitempty"`
}

func printEventsJSON(w io.Writer, list []store.Event) error {
	for _, e := range list {
		if err := printJSON(w, eventJSON{e.ID, e.At, e.Type, e.UserID, e.ClientID, e.Address, e.UserAgent, e.RequestID, e.Detail}); err != nil {
			return err
		}
	}
	return nil
}

// printEvents prints the events as a table, a user by their email while
// they exist (by id once deleted), the detail as key=value pairs.
func printEvents(ctx context.Context, w io.Writer, st store.Store, list []store.Event) error {
	emails := map[string]string{}
	userOf := func(id string) string {
		if id == "" {
			return "-"
		}
		if e, ok := emails[id]; ok {
			return e
		}
		emails[id] = id
		if u, err := st.GetUser(ctx, id); err == nil {
			emails[id] = u.Email
		}
		return emails[id]
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tTYPE\tUSER\tCLIENT\tADDRESS\tREQUEST ID\tDETAIL\tUSER AGENT")
	for _, e := range list {
		var detail []string
		for _, k := range slices.Sorted(maps.Keys(e.Detail)) {
			v := e.Detail[k]
			if v == "" || strings.ContainsAny(v, " \t\"=") {
				v = strconv.Quote(v)
			}
			detail = append(detail, k+"="+v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Type, userOf(e.UserID),
			dash(e.ClientID), dash(e.Address), dash(e.RequestID), dash(strings.Join(detail, " ")), dash(e.UserAgent))
	}
	return tw.Flush()
}

// cliAgent is the user agent of the events the CLI records.
const cliAgent = "inkan-cli"

// cliEvents is the recorder of a CLI command's events over st, and ctx
// carrying the request fields they take: no address, the CLI's user agent
// and an id of this run, shared by all its events. Each event's detail
// names the CLI as the actor, with the operating system's user who ran it.
func cliEvents(ctx context.Context, std stdio, st store.Store) (context.Context, events.Recorder) {
	ctx = events.WithRequest(ctx, "", cliAgent, "cli-"+strings.ToLower(rand.Text()[:16]))
	actor := map[string]string{"actor": "cli"}
	if u, err := user.Current(); err == nil {
		actor["os_user"] = u.Username
	}
	return ctx, cliRecorder{events.New(events.Options{Store: st, Logger: cliLogger(std)}), actor}
}

// cliRecorder adds the actor's detail to every event.
type cliRecorder struct {
	events.Recorder
	actor map[string]string
}

func (r cliRecorder) Record(ctx context.Context, e events.Event) {
	d := maps.Clone(r.actor)
	maps.Copy(d, e.Detail)
	e.Detail = d
	r.Recorder.Record(ctx, e)
}
