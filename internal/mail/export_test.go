package mail

import "time"

// TLSPolicyOf is the go-mail TLS policy of the client New makes for s.
func TLSPolicyOf(s SMTP) string {
	c, err := newClient(s, time.Second, nil)
	if err != nil {
		return err.Error()
	}
	return c.TLSPolicy()
}
