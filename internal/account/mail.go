package account

import "context"

// Message is a mail to send: to whom, which kind (MailVerify,
// MailRecover, …), in which language, and the values its template fills
// in. It is package mail's Message (mail.Message), declared here until that
// package lands.
type Message struct {
	To, Kind, Lang string
	Data           map[string]string
}

// Mailer commits a message to the outbox, from which it is delivered (mail.Mailer).
type Mailer interface {
	Enqueue(ctx context.Context, m Message) error
}

// The kinds of mail the service sends, and the Data each carries (package
// mail's Data keys):
//
//   - MailVerify, to the user's address: name, link, code (when the token
//     has one), expiry (a Go duration: "24h0m0s").
//   - MailRecover, to the user's address: name, link, code, expiry.
//   - MailEmailChange, to the new address: name, link, code, expiry,
//     new_email.
//   - MailEmailChangedNotice, to the old address once the change took
//     effect: name, new_email.
//   - MailPasswordChanged, to the user's address after a recovery: name,
//     link (the recovery page, for an owner who did not do it).
const (
	MailVerify             = "verify"
	MailRecover            = "recover"
	MailEmailChange        = "email-change"
	MailEmailChangedNotice = "email-changed-notice"
	MailPasswordChanged    = "password-changed"
)
