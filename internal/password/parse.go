package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// maxEncodedLen bounds the input the parser looks at. The longest valid
// argon2id hash (m=262144, t=16, p=16, 64-byte salt, 128-byte key) is about
// 300 bytes.
const maxEncodedLen = 512

// bcrypt's base64 alphabet (OpenBSD), without padding.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

var (
	// phcEncoding is the PHC string format's base64: standard alphabet, no
	// padding (RFC 4648 §3.2), unused trailing bits zero.
	phcEncoding    = base64.RawStdEncoding.Strict()
	bcryptEncoding = base64.NewEncoding(bcryptAlphabet).WithPadding(base64.NoPadding).Strict()
)

// bcrypt hash layout: "$2b$" cost(2) "$" salt(22) hash(31).
const (
	bcryptLen        = 60
	bcryptSaltOffset = 7
	bcryptHashOffset = bcryptSaltOffset + 22
	bcryptSaltLen    = 16 // bytes
	bcryptHashLen    = 23 // bytes
)

// parsedHash is an encoded hash that passed every check.
type parsedHash struct {
	// bcrypt is the bcrypt hash with a $2y$ prefix rewritten to $2b$, or nil
	// for an argon2id hash.
	bcrypt   []byte
	argon2id argon2idHash
}

// argon2idHash is a decoded argon2id PHC string. params.SaltLen and
// params.KeyLen are the lengths of salt and key.
type argon2idHash struct {
	params Params
	salt   []byte
	key    []byte
}

// parse parses an argon2id PHC string or a bcrypt hash. Every error wraps
// ErrMalformedHash.
func parse(encoded string) (parsedHash, error) {
	if len(encoded) > maxEncodedLen {
		return parsedHash{}, malformed("hash longer than %d bytes", maxEncodedLen)
	}
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		if strings.HasPrefix(encoded, prefix) {
			b, err := parseBcrypt(encoded)
			return parsedHash{bcrypt: b}, err
		}
	}
	a, err := parseArgon2id(encoded)
	return parsedHash{argon2id: a}, err
}

// parseArgon2id parses $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>.
func parseArgon2id(s string) (argon2idHash, error) {
	fields := strings.Split(s, "$")
	if len(fields) < 2 || fields[0] != "" {
		return argon2idHash{}, malformed("not a PHC string or bcrypt hash")
	}
	if fields[1] != "argon2id" {
		return argon2idHash{}, malformed("unsupported algorithm, want argon2id or bcrypt")
	}
	if len(fields) != 6 {
		return argon2idHash{}, malformed("argon2id: got %d fields, want 5", len(fields)-1)
	}

	v, ok := cutDecimal(fields[2], "v=")
	if !ok {
		return argon2idHash{}, malformed("argon2id: bad version field, want v=%d", argon2.Version)
	}
	if v != argon2.Version {
		return argon2idHash{}, malformed("argon2id: unsupported version %d, want %d", v, argon2.Version)
	}

	ps := strings.Split(fields[3], ",")
	if len(ps) != 3 {
		return argon2idHash{}, malformed("argon2id: got %d parameters, want m,t,p", len(ps))
	}
	m, okM := cutDecimal(ps[0], "m=")
	t, okT := cutDecimal(ps[1], "t=")
	p, okP := cutDecimal(ps[2], "p=")
	if !okM || !okT || !okP {
		return argon2idHash{}, malformed("argon2id: bad parameters, want m=<KiB>,t=<passes>,p=<lanes> in decimal")
	}
	// Check p before it is narrowed to uint8.
	if p < minThreads || p > maxThreads {
		return argon2idHash{}, malformed("argon2id: p=%d out of range [%d, %d]", p, minThreads, maxThreads)
	}

	salt, ok := decodeBase64(phcEncoding, fields[4], maxSaltLen)
	if !ok {
		return argon2idHash{}, malformed("argon2id: salt is not unpadded standard base64 of at most %d bytes", maxSaltLen)
	}
	key, ok := decodeBase64(phcEncoding, fields[5], maxKeyLen)
	if !ok {
		return argon2idHash{}, malformed("argon2id: hash is not unpadded standard base64 of at most %d bytes", maxKeyLen)
	}

	params := Params{
		Memory:  m,
		Time:    t,
		Threads: uint8(p),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := params.validate(); err != nil {
		return argon2idHash{}, malformed("argon2id: %v", err)
	}
	return argon2idHash{params: params, salt: salt, key: key}, nil
}

// encodeArgon2id formats an argon2id PHC string.
func encodeArgon2id(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		phcEncoding.EncodeToString(salt), phcEncoding.EncodeToString(key))
}

// parseBcrypt checks a bcrypt hash whose prefix is $2a$, $2b$ or $2y$ and
// returns it with $2y$ rewritten to $2b$. $2y$ (PHP's crypt_blowfish) and
// $2b$ (OpenBSD) are the same algorithm; the rewrite keeps verification
// working whatever prefixes x/crypto/bcrypt accepts.
func parseBcrypt(s string) ([]byte, error) {
	if len(s) != bcryptLen {
		return nil, malformed("bcrypt: got %d bytes, want %d", len(s), bcryptLen)
	}
	cost, ok := bcryptCost(s[4:6])
	if !ok || s[6] != '$' {
		return nil, malformed("bcrypt: bad cost field, want two decimal digits")
	}
	if cost < minBcryptCost || cost > maxBcryptCost {
		return nil, malformed("bcrypt: cost %d out of range [%d, %d]", cost, minBcryptCost, maxBcryptCost)
	}
	if b, ok := decodeBase64(bcryptEncoding, s[bcryptSaltOffset:bcryptHashOffset], bcryptSaltLen); !ok || len(b) != bcryptSaltLen {
		return nil, malformed("bcrypt: bad salt")
	}
	if b, ok := decodeBase64(bcryptEncoding, s[bcryptHashOffset:], bcryptHashLen); !ok || len(b) != bcryptHashLen {
		return nil, malformed("bcrypt: bad hash")
	}
	b := []byte(s)
	if b[2] == 'y' {
		b[2] = 'b'
	}
	// Cross-check with the library that will verify it. Its error is not
	// wrapped because it may quote the hash.
	if c, err := bcrypt.Cost(b); err != nil || c != cost {
		return nil, malformed("bcrypt: rejected by x/crypto/bcrypt")
	}
	return b, nil
}

// bcryptCost parses a two-digit bcrypt cost such as "04".
func bcryptCost(s string) (int, bool) {
	if len(s) != 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// cutDecimal parses prefix followed by a uint32 in decimal without sign or
// leading zeros.
func cutDecimal(s, prefix string) (uint32, bool) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok || digits == "" || len(digits) > 10 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if !isDigit(digits[i]) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// decodeBase64 decodes s, which must be the canonical unpadded encoding of at
// most maxLen bytes. Re-encoding rejects the CR and LF that the decoder
// would otherwise skip.
func decodeBase64(enc *base64.Encoding, s string, maxLen int) ([]byte, bool) {
	if s == "" || len(s) > enc.EncodedLen(maxLen) {
		return nil, false
	}
	b, err := enc.DecodeString(s)
	if err != nil || enc.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}
