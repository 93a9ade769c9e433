package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// MasterKeySize is the length of the key-encryption key: AES-256.
const MasterKeySize = 32

// ErrWrongMasterKey means a sealed key does not open with the master key
// given: it is another deployment's key, or the data was altered.
var ErrWrongMasterKey = errors.New("the master key cannot open the stored signing keys (wrong INKAN_MASTER_KEY or --master-key-file?)")

// sealVersion is the first byte of a sealed key. A plaintext PKCS#8 key, as
// earlier releases stored it, starts with 0x30 (an ASN.1 SEQUENCE) instead.
const sealVersion = 0x01

// Sealer encrypts private keys at rest with AES-256-GCM under a master key,
// binding each to its kid and algorithm as associated data, so that a sealed
// key cannot be moved to another row or algorithm unnoticed.
type Sealer struct {
	aead   cipher.AEAD
	master []byte
}

// NewSealer returns a Sealer for a 32-byte master key.
func NewSealer(master []byte) (*Sealer, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("master key has %d bytes, want %d", len(master), MasterKeySize)
	}
	block, err := aes.NewCipher(master)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, master: bytes.Clone(master)}, nil
}

// Derive returns a 32-byte key for another purpose, derived from the master
// key with HKDF-SHA256 under label, so that replicas sharing the master key
// share it too.
func (s *Sealer) Derive(label string) []byte {
	k, err := hkdf.Key(sha256.New, s.master, nil, "inkan "+label, 32)
	if err != nil {
		panic(err) // only for lengths HKDF-SHA256 cannot produce
	}
	return k
}

// tokenSecretLabel is the Derive label of TokenSecret.
const tokenSecretLabel = "oauth token secret"

// TokenSecret is the servers' secret of this master key
// (server.TokenOptions.Secret): the MACs of their tokens and forms, and,
// as account.MFAOptions.Secret, the key that seals TOTP secrets at rest.
// Replicas sharing the master key share it; a new master key changes it,
// so keys rekey re-seals the TOTP secrets, and export and import open and
// seal them with it.
func (s *Sealer) TokenSecret() []byte { return s.Derive(tokenSecretLabel) }

// ParseMasterKey decodes a master key in standard base64, ignoring
// surrounding whitespace; any length but 32 bytes is refused.
func ParseMasterKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("master key is not standard base64")
	}
	if len(b) != MasterKeySize {
		return nil, fmt.Errorf("master key has %d bytes, want %d (make one with: openssl rand -base64 32)", len(b), MasterKeySize)
	}
	return b, nil
}

// NewMasterKey returns 32 random bytes in standard base64.
func NewMasterKey() string { return base64.StdEncoding.EncodeToString(randomBytes(MasterKeySize)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func aad(kid, alg string) []byte { return []byte("inkan signing key v1\x00" + kid + "\x00" + alg) }

// Seal encrypts a PKCS#8 DER key: version byte, nonce, ciphertext.
func (s *Sealer) Seal(kid, alg string, der []byte) []byte {
	nonce := randomBytes(s.aead.NonceSize())
	out := append([]byte{sealVersion}, nonce...)
	return s.aead.Seal(out, nonce, der, aad(kid, alg))
}

// Open decrypts what Seal made for the same kid and algorithm.
func (s *Sealer) Open(kid, alg string, sealed []byte) ([]byte, error) {
	if !IsSealed(sealed) {
		return nil, errors.New("key is not sealed")
	}
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() {
		return nil, fmt.Errorf("key %s: sealed key too short", kid)
	}
	der, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad(kid, alg))
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", kid, ErrWrongMasterKey)
	}
	return der, nil
}

// IsSealed reports whether a stored key is sealed (not plaintext PKCS#8).
func IsSealed(stored []byte) bool { return len(stored) > 0 && stored[0] == sealVersion }
