package account

import "github.com/inkan-dev/inkan/internal/mail"

// Message is a mail to send (package mail's): to whom, which kind
// (MailVerify, MailRecover, …), in which language, and the values its
// template fills in.
type Message = mail.Message

// Mailer commits a message to the outbox, from which it is delivered; nil
// or mail.Off means mail is off.
type Mailer = mail.Mailer

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
	MailVerify             = mail.KindVerify
	MailRecover            = mail.KindRecover
	MailEmailChange        = mail.KindEmailChange
	MailEmailChangedNotice = mail.KindEmailChangedNotice
	MailPasswordChanged    = mail.KindPasswordChanged
	MailMFAChanged         = mail.KindMFAChanged
)
