// Package passkeytest is a software WebAuthn authenticator for tests: one
// ES256 credential, discoverable, answering the options of
// navigator.credentials.create and .get with what a browser passes on
// (attestation "none"), with the flags, sign counter, origin and relying
// party a test chooses, so that a test can also answer wrongly.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"slices"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator holds one credential. Its fields may be changed between
// ceremonies.
type Authenticator struct {
	Key        *ecdsa.PrivateKey
	ID         []byte // the credential id
	UserHandle []byte // the user handle, set by Create
	RPID       string // hashed into the authenticator data
	Origin     string // the client data's origin
	// Count is the sign counter of the next assertion, which then goes
	// up; with Counts false the authenticator does not count and always
	// sends 0.
	Count  uint32
	Counts bool
	UV     bool // the user is verified (UV flag)
	BE, BS bool // backup eligible, backed up
}

// New is an authenticator for the relying party rpID served at origin,
// which verifies its user and counts its signatures from 1.
func New(tb testing.TB, rpID, origin string) *Authenticator {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &Authenticator{Key: key, ID: id, RPID: rpID, Origin: origin, Count: 1, Counts: true, UV: true}
}

// B64 is b in unpadded base64url, as WebAuthn's JSON carries bytes.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		tb.Fatalf("base64url %q: %v", s, err)
	}
	return b
}

func (a *Authenticator) flags() protocol.AuthenticatorFlags {
	f := protocol.FlagUserPresent
	if a.UV {
		f |= protocol.FlagUserVerified
	}
	if a.BE {
		f |= protocol.FlagBackupEligible
	}
	if a.BS {
		f |= protocol.FlagBackupState
	}
	return f
}

func (a *Authenticator) authData(flags protocol.AuthenticatorFlags, count uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(a.RPID))
	d := append(h[:], byte(flags))
	d = binary.BigEndian.AppendUint32(d, count)
	return append(d, attested...)
}

func (a *Authenticator) clientData(tb testing.TB, typ, challenge string) []byte {
	tb.Helper()
	cd, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	if err != nil {
		tb.Fatal(err)
	}
	return cd
}

func (a *Authenticator) sign(tb testing.TB, authData, clientData []byte) []byte {
	tb.Helper()
	ch := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(slices.Clone(authData), ch[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	return sig
}

// Create answers creation options (the publicKey member's content, JSON)
// with the PublicKeyCredential, JSON-encoded as a browser's toJSON().
func (a *Authenticator) Create(tb testing.TB, options []byte) []byte {
	tb.Helper()
	var o struct {
		Challenge string `json:"challenge"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		tb.Fatalf("creation options: %v", err)
	}
	a.UserHandle = unb64(tb, o.User.ID)
	cose, err := webauthncbor.Marshal(map[int64]any{
		1:  int64(webauthncose.EllipticKey),
		3:  int64(webauthncose.AlgES256),
		-1: int64(webauthncose.P256),
		-2: a.Key.X.FillBytes(make([]byte, 32)),
		-3: a.Key.Y.FillBytes(make([]byte, 32)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID zero
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.ID)))
	attested = append(append(attested, a.ID...), cose...)
	authData := a.authData(a.flags()|protocol.FlagAttestedCredentialData, 0, attested)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		tb.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"id": B64(a.ID), "rawId": B64(a.ID), "type": "public-key",
		"response": map[string]any{
			"attestationObject": B64(att),
			"clientDataJSON":    B64(a.clientData(tb, "webauthn.create", o.Challenge)),
			"transports":        []string{"internal"},
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// Get answers request options (JSON) with an assertion, JSON-encoded as
// a browser's toJSON().
func (a *Authenticator) Get(tb testing.TB, options []byte) []byte {
	tb.Helper()
	var o struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		tb.Fatalf("request options: %v", err)
	}
	var count uint32
	if a.Counts {
		count = a.Count
		a.Count++
	}
	authData := a.authData(a.flags(), count, nil)
	cd := a.clientData(tb, "webauthn.get", o.Challenge)
	body, err := json.Marshal(map[string]any{
		"id": B64(a.ID), "rawId": B64(a.ID), "type": "public-key",
		"response": map[string]any{
			"authenticatorData": B64(authData),
			"clientDataJSON":    B64(cd),
			"signature":         B64(a.sign(tb, authData, cd)),
			"userHandle":        B64(a.UserHandle),
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}
