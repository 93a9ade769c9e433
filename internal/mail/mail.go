// Package mail sends inkan's email: verification links, password resets
// and notices, in English or Japanese, as plain text and HTML from
// templates (embedded, overridable by --templates-dir).
//
// Mail is never lost. Enqueue renders the message and commits it to the
// outbox table (store.MailStore) and returns; it never talks to SMTP, so
// an SMTP outage never slows a request. Run, on one replica at a time
// (store.Exclusive), delivers the outbox through the --smtp-url server
// with github.com/wneessen/go-mail: at once after an Enqueue on this
// process, and every interval otherwise. A delivery the server refuses is
// tried again with exponential backoff, a bounded number of times; mail
// given up stays in the table, marked failed, and is logged once. While
// the server cannot be reached at all, the outbox waits without spending
// any message's attempts, and is delivered once it can.
//
// Each message has a Message-ID made from its outbox row, the same on
// every attempt, so that the rare duplicate (the process dies after the
// server took a message and before the row is deleted) can be recognised.
package mail

import (
	"context"
	"errors"
)

// Message is an email to render and send.
type Message struct {
	To   string // one bare address (alice@example.com)
	Kind string // KindVerify, KindRecover, KindPasswordChanged, KindEmailChange, KindEmailChangedNotice
	Lang string // "en" or "ja" (a tag such as "ja-JP" counts as "ja"); anything else is English
	// Data fills the template: the keys of the Kind (see Kinds), each a
	// single line of text. A missing required key, a key the kind does not
	// take or a bad value is an error: a caller's mistake, not the user's.
	Data map[string]string
}

// Mailer queues email. The outbox (Outbox) is one; Off is the one for a
// server without SMTP.
type Mailer interface {
	// Enqueue renders m and commits it to the outbox. It returns
	// ErrDisabled when no SMTP server is configured.
	Enqueue(ctx context.Context, m Message) error
}

// ErrDisabled is what Enqueue returns when no SMTP server is configured:
// the features that need email are off (the server answers 503 with a
// detail saying so).
var ErrDisabled = errors.New("mail: no SMTP server configured")

// Off is the Mailer of a server without --smtp-url: every Enqueue returns
// ErrDisabled.
var Off Mailer = off{}

type off struct{}

func (off) Enqueue(context.Context, Message) error { return ErrDisabled }

// The kinds of message.
const (
	KindVerify             = "verify"               // confirms the address of a new account
	KindRecover            = "recover"              // resets a forgotten password
	KindPasswordChanged    = "password-changed"     // tells the owner the password changed
	KindEmailChange        = "email-change"         // confirms a new address, sent to it
	KindEmailChangedNotice = "email-changed-notice" // tells the old address it was replaced
	KindMFAChanged         = "mfa-changed"          // tells the owner a second factor was added, removed or reset
)

// The keys of Message.Data.
const (
	DataLink     = "link"      // the absolute http(s) URL of the page the message leads to
	DataCode     = "code"      // the one-time code to type instead of opening the link
	DataExpiry   = "expiry"    // how long the link and code live, as a Go duration ("1h", "24h")
	DataNewEmail = "new_email" // the account's new address
	// DataName is the account's name. The embedded templates do not show
	// it: a name is chosen by whoever registers, who need not own the
	// address the mail goes to, so it would carry a stranger's text into
	// someone's inbox. An overriding template may show it.
	DataName = "name"
	// DataChange is what changed of the account's second factors: added,
	// removed or reset.
	DataChange = "change"
)

// kind is what a Kind's message takes.
type kind struct {
	required, optional []string
}

// Kinds are the kinds of message and the Data keys each takes.
var kinds = map[string]kind{
	KindVerify:             {required: []string{DataLink}, optional: []string{DataCode, DataExpiry, DataName}},
	KindRecover:            {required: []string{DataLink}, optional: []string{DataCode, DataExpiry, DataName}},
	KindEmailChange:        {required: []string{DataLink}, optional: []string{DataCode, DataExpiry, DataName, DataNewEmail}},
	KindPasswordChanged:    {optional: []string{DataLink, DataName}},
	KindEmailChangedNotice: {required: []string{DataNewEmail}, optional: []string{DataLink, DataName}},
	KindMFAChanged:         {required: []string{DataChange}, optional: []string{DataLink, DataName}},
}

// Kinds returns every kind of message, sorted.
func Kinds() []string {
	return []string{KindEmailChange, KindEmailChangedNotice, KindMFAChanged, KindPasswordChanged, KindRecover, KindVerify}
}

// Languages are the languages of the templates, the default first.
var Languages = []string{"en", "ja"}
