package password

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"golang.org/x/crypto/bcrypt"
)

// cheap keeps tests fast; only TestHasher_Default uses Default.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const (
	// Argon2id v=19 test vectors from the reference implementation
	// (P-H-C/phc-winner-argon2 src/test.c): password "password", salt "somesalt".
	vectorPassword   = "password"
	vectorArgon2id   = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	vectorArgon2idP2 = "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"

	// bcryptPassword is "password" hashed by bcrypt.GenerateFromPassword at cost 4.
	bcryptPassword = "$2a$04$JIThzOLa59cwhot0FP7cwuvqoEEAm5usfn9y0FBVcs/Aj7MgaED0S"

	// phpBcrypt2y is the $2y$ hash of "rasmuslerdorf" from the PHP manual's
	// password_verify example.
	phpBcrypt2y = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"

	// testSalt and testKey are valid argon2id fields (8 and 32 bytes).
	testSalt = "c29tZXNhbHQ"
	testKey  = "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
)

// b64 returns the unpadded standard base64 encoding of n bytes.
func b64(n int) string {
	return phcEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, n))
}

// argon2idWith returns an argon2id hash with the given params field.
func argon2idWith(params string) string {
	return "$argon2id$v=19$" + params + "$" + testSalt + "$" + testKey
}

// malformedHashes are rejected by Check and Verify with ErrMalformedHash.
// FuzzCheck and FuzzVerify use them as seeds.
var malformedHashes = []struct {
	name    string
	encoded string
}{
	{name: "empty", encoded: ""},
	{name: "dollar", encoded: "$"},
	{name: "garbage", encoded: "not a password hash"},
	{name: "plaintext", encoded: "hunter2"},
	{name: "no leading dollar", encoded: argon2idWith("m=64,t=1,p=1")[1:]},
	{name: "leading space", encoded: " " + vectorArgon2id},
	{name: "trailing newline", encoded: vectorArgon2id + "\n"},
	{name: "too long", encoded: vectorArgon2id + strings.Repeat("A", maxEncodedLen)},
	{name: "argon2i", encoded: "$argon2i$v=19$m=64,t=1,p=1$" + testSalt + "$" + testKey},
	{name: "argon2d", encoded: "$argon2d$v=19$m=64,t=1,p=1$" + testSalt + "$" + testKey},
	{name: "uppercase algorithm", encoded: "$ARGON2ID$v=19$m=64,t=1,p=1$" + testSalt + "$" + testKey},
	{name: "scrypt", encoded: "$scrypt$ln=16,r=8,p=1$" + testSalt + "$" + testKey},
	{name: "version 16", encoded: "$argon2id$v=16$m=64,t=1,p=1$" + testSalt + "$" + testKey},
	{name: "version 20", encoded: "$argon2id$v=20$m=64,t=1,p=1$" + testSalt + "$" + testKey},
	{name: "version leading zero", encoded: "$argon2id$v=019$m=64,t=1,p=1$" + testSalt + "$" + testKey},
	{name: "version garbage", encoded: "$argon2id$v=x$m=64,t=1,p=1$" + testSalt + "$" + testKey},
	{name: "version missing", encoded: "$argon2id$m=64,t=1,p=1$" + testSalt + "$" + testKey},
	{name: "key missing", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + testSalt},
	{name: "key empty", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + testSalt + "$"},
	{name: "salt empty", encoded: "$argon2id$v=19$m=64,t=1,p=1$$" + testKey},
	{name: "extra field", encoded: argon2idWith("m=64,t=1,p=1") + "$" + testKey},
	{name: "params empty", encoded: argon2idWith("")},
	{name: "params order", encoded: argon2idWith("t=1,m=64,p=1")},
	{name: "params p missing", encoded: argon2idWith("m=64,t=1")},
	{name: "params keyid", encoded: argon2idWith("m=64,t=1,p=1,keyid=abc")},
	{name: "params spaces", encoded: argon2idWith("m=64, t=1, p=1")},
	{name: "params trailing comma", encoded: argon2idWith("m=64,t=1,p=1,")},
	{name: "m zero", encoded: argon2idWith("m=0,t=1,p=1")},
	{name: "m below 8", encoded: argon2idWith("m=7,t=1,p=1")},
	{name: "m below 8p", encoded: argon2idWith("m=15,t=1,p=2")},
	{name: "m above max", encoded: argon2idWith("m=262145,t=1,p=1")},
	{name: "m overflow", encoded: argon2idWith("m=4294967296,t=1,p=1")},
	{name: "m leading zero", encoded: argon2idWith("m=064,t=1,p=1")},
	{name: "m plus", encoded: argon2idWith("m=+64,t=1,p=1")},
	{name: "m negative", encoded: argon2idWith("m=-64,t=1,p=1")},
	{name: "m hex", encoded: argon2idWith("m=0x40,t=1,p=1")},
	{name: "m underscore", encoded: argon2idWith("m=6_4,t=1,p=1")},
	{name: "m empty", encoded: argon2idWith("m=,t=1,p=1")},
	{name: "t zero", encoded: argon2idWith("m=64,t=0,p=1")},
	{name: "t above max", encoded: argon2idWith("m=64,t=17,p=1")},
	{name: "p zero", encoded: argon2idWith("m=64,t=1,p=0")},
	{name: "p above max", encoded: argon2idWith("m=1024,t=1,p=17")},
	{name: "p wraps uint8", encoded: argon2idWith("m=4096,t=1,p=257")},
	{name: "salt too short", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + b64(7) + "$" + testKey},
	{name: "salt too long", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + b64(65) + "$" + testKey},
	{name: "key too short", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + testSalt + "$" + b64(15)},
	{name: "key too long", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + testSalt + "$" + b64(129)},
	{name: "salt bad base64", encoded: "$argon2id$v=19$m=64,t=1,p=1$c29t!XNhbHQ$" + testKey},
	{name: "salt padded", encoded: "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$" + testKey},
	{name: "key padded", encoded: argon2idWith("m=64,t=1,p=1") + "="},
	{name: "key url alphabet", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + testSalt + "$" + strings.ReplaceAll(testKey, "/", "_")},
	{name: "salt trailing bits", encoded: "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHR$" + testKey},
	{name: "salt newline", encoded: "$argon2id$v=19$m=64,t=1,p=1$c29tZXNh\nbHQ$" + testKey},
	{name: "salt carriage return", encoded: "$argon2id$v=19$m=64,t=1,p=1$c29tZXNh\rbHQ$" + testKey},
	{name: "bcrypt cost 31", encoded: "$2a$31" + bcryptPassword[6:]},
	{name: "bcrypt cost 19", encoded: "$2a$19" + bcryptPassword[6:]},
	{name: "bcrypt cost 03", encoded: "$2a$03" + bcryptPassword[6:]},
	{name: "bcrypt cost 99", encoded: "$2a$99" + bcryptPassword[6:]},
	{name: "bcrypt cost one digit", encoded: "$2a$4" + bcryptPassword[6:]},
	{name: "bcrypt cost garbage", encoded: "$2a$x4" + bcryptPassword[6:]},
	{name: "bcrypt no dollar after cost", encoded: bcryptPassword[:6] + "x" + bcryptPassword[7:]},
	{name: "bcrypt 2x", encoded: "$2x$" + bcryptPassword[4:]},
	{name: "bcrypt 2", encoded: "$2$" + bcryptPassword[4:]},
	{name: "bcrypt truncated", encoded: bcryptPassword[:bcryptLen-1]},
	{name: "bcrypt extra byte", encoded: bcryptPassword + "a"},
	{name: "bcrypt bad character", encoded: bcryptPassword[:10] + "!" + bcryptPassword[11:]},
	{name: "bcrypt salt trailing bits", encoded: bcryptPassword[:bcryptHashOffset-1] + "A" + bcryptPassword[bcryptHashOffset:]},
	{name: "bcrypt hash trailing bits", encoded: bcryptPassword[:bcryptLen-1] + "/"},
	{name: "bcrypt only prefix", encoded: "$2b$"},
}

// validHashes are accepted by Check.
var validHashes = []struct {
	name    string
	encoded string
}{
	{name: "vector", encoded: vectorArgon2id},
	{name: "vector p2", encoded: vectorArgon2idP2},
	{name: "min memory", encoded: argon2idWith("m=8,t=1,p=1")},
	{name: "min memory p16", encoded: argon2idWith("m=128,t=1,p=16")},
	{name: "max params", encoded: argon2idWith("m=262144,t=16,p=16")},
	{name: "min salt", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + b64(8) + "$" + testKey},
	{name: "max salt", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + b64(64) + "$" + testKey},
	{name: "min key", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + testSalt + "$" + b64(16)},
	{name: "max key", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + testSalt + "$" + b64(128)},
	{name: "bcrypt 2a", encoded: bcryptPassword},
	{name: "bcrypt 2b", encoded: "$2b$" + bcryptPassword[4:]},
	{name: "bcrypt 2y", encoded: "$2y$" + bcryptPassword[4:]},
	{name: "bcrypt php 2y", encoded: phpBcrypt2y},
	{name: "bcrypt cost 18", encoded: "$2b$18" + bcryptPassword[6:]},
}

func mustHash(tb testing.TB, h *Hasher, password string) string {
	tb.Helper()
	encoded, err := h.Hash(context.Background(), password)
	if err != nil {
		tb.Fatalf("Hash() error = %v", err)
	}
	return encoded
}

// mustBcrypt hashes password with bcrypt.GenerateFromPassword at cost 4 and
// replaces its $2a$ prefix with prefix.
func mustBcrypt(tb testing.TB, password, prefix string) string {
	tb.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		tb.Fatalf("bcrypt.GenerateFromPassword() error = %v", err)
	}
	encoded, ok := strings.CutPrefix(string(b), "$2a$")
	if !ok {
		tb.Fatalf("bcrypt.GenerateFromPassword() = %.4q..., want prefix $2a$", b)
	}
	return prefix + encoded
}

func TestHasher_HashVerify(t *testing.T) {
	h := New(cheap, 2)
	tests := []struct {
		name     string
		password string
	}{
		{name: "empty", password: ""},
		{name: "ascii", password: "correct horse battery staple"},
		{name: "unicode", password: "pässwörd 密码 🔑"},
		{name: "nul", password: "pass\x00word"},
		{name: "long", password: strings.Repeat("x", 1000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			encoded := mustHash(t, h, tc.password)
			ok, rehash, err := h.Verify(context.Background(), encoded, tc.password)
			if !ok || rehash || err != nil {
				t.Errorf("Verify(%q) = %v, %v, %v, want true, false, nil", tc.password, ok, rehash, err)
			}
			wrong := tc.password + "x"
			ok, rehash, err = h.Verify(context.Background(), encoded, wrong)
			if ok || rehash || err != nil {
				t.Errorf("Verify(%q) = %v, %v, %v, want false, false, nil", wrong, ok, rehash, err)
			}
		})
	}
}

func TestHasher_Hash(t *testing.T) {
	h := New(cheap, 1)
	a := mustHash(t, h, "pw")
	b := mustHash(t, h, "pw")
	if a == b {
		t.Errorf("Hash() returned %q twice, want fresh salts", a)
	}
	const prefix = "$argon2id$v=19$m=64,t=1,p=1$"
	if !strings.HasPrefix(a, prefix) {
		t.Errorf("Hash() = %q, want prefix %q", a, prefix)
	}
	got, err := parse(a)
	if err != nil {
		t.Fatalf("parse(%q) error = %v, want nil", a, err)
	}
	if got.argon2id.params != cheap {
		t.Errorf("parse(%q) params = %+v, want %+v", a, got.argon2id.params, cheap)
	}
	if strings.HasSuffix(a, "=") || strings.Contains(a, "\n") {
		t.Errorf("Hash() = %q, want no padding or newlines", a)
	}
}

// TestHasher_Default is the only test that pays for Default's cost.
func TestHasher_Default(t *testing.T) {
	h := New(Default, 1)
	if got := h.Params(); got != Default {
		t.Fatalf("Params() = %+v, want %+v", got, Default)
	}
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if Default != want {
		t.Fatalf("Default = %+v, want %+v", Default, want)
	}
	encoded := mustHash(t, h, "s3cret")
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(encoded, prefix) {
		t.Errorf("Hash() = %q, want prefix %q", encoded, prefix)
	}
	ok, rehash, err := h.Verify(context.Background(), encoded, "s3cret")
	if !ok || rehash || err != nil {
		t.Errorf("Verify(%q) = %v, %v, %v, want true, false, nil", "s3cret", ok, rehash, err)
	}
	ok, rehash, err = h.Verify(context.Background(), encoded, "s3creT")
	if ok || rehash || err != nil {
		t.Errorf("Verify(%q) = %v, %v, %v, want false, false, nil", "s3creT", ok, rehash, err)
	}
}

func TestHasher_VerifyVectors(t *testing.T) {
	h := New(cheap, 1)
	tests := []struct {
		name     string
		encoded  string
		password string
	}{
		{name: "argon2id", encoded: vectorArgon2id, password: vectorPassword},
		{name: "argon2id p2", encoded: vectorArgon2idP2, password: vectorPassword},
		{name: "bcrypt 2a", encoded: bcryptPassword, password: "password"},
		{name: "bcrypt php 2y", encoded: phpBcrypt2y, password: "rasmuslerdorf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The vectors' params differ from cheap, so they need a rehash.
			ok, rehash, err := h.Verify(context.Background(), tc.encoded, tc.password)
			if !ok || !rehash || err != nil {
				t.Errorf("Verify(%q) = %v, %v, %v, want true, true, nil", tc.password, ok, rehash, err)
			}
			wrong := "s" + tc.password[1:]
			ok, rehash, err = h.Verify(context.Background(), tc.encoded, wrong)
			if ok || rehash || err != nil {
				t.Errorf("Verify(%q) = %v, %v, %v, want false, false, nil", wrong, ok, rehash, err)
			}
		})
	}
}

func TestHasher_VerifyBcrypt(t *testing.T) {
	h := New(cheap, 1)
	long72 := strings.Repeat("a", maxBcryptPassword)
	tests := []struct {
		name       string
		encoded    string
		password   string
		wantOK     bool
		wantRehash bool
	}{
		{name: "2a", encoded: mustBcrypt(t, "pw", "$2a$"), password: "pw", wantOK: true, wantRehash: true},
		{name: "2b", encoded: mustBcrypt(t, "pw", "$2b$"), password: "pw", wantOK: true, wantRehash: true},
		{name: "2y", encoded: mustBcrypt(t, "pw", "$2y$"), password: "pw", wantOK: true, wantRehash: true},
		{name: "2a wrong", encoded: mustBcrypt(t, "pw", "$2a$"), password: "pW"},
		{name: "2b wrong", encoded: mustBcrypt(t, "pw", "$2b$"), password: "pW"},
		{name: "2y wrong", encoded: mustBcrypt(t, "pw", "$2y$"), password: "pW"},
		{name: "empty", encoded: mustBcrypt(t, "", "$2b$"), password: "", wantOK: true, wantRehash: true},
		{name: "72 bytes", encoded: mustBcrypt(t, long72, "$2b$"), password: long72, wantOK: true, wantRehash: true},
		// bcrypt ignores bytes after the 72nd; Verify refuses such passwords.
		{name: "73 bytes", encoded: mustBcrypt(t, long72, "$2b$"), password: long72 + "b"},
		{name: "1000 bytes", encoded: mustBcrypt(t, long72, "$2y$"), password: long72 + strings.Repeat("b", 928)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), tc.encoded, tc.password)
			if ok != tc.wantOK || rehash != tc.wantRehash || err != nil {
				t.Errorf("Verify(%q) = %v, %v, %v, want %v, %v, nil", tc.password, ok, rehash, err, tc.wantOK, tc.wantRehash)
			}
		})
	}
}

func TestHasher_VerifyRehash(t *testing.T) {
	h := New(cheap, 1)
	other := func(change func(*Params)) string {
		p := cheap
		change(&p)
		return mustHash(t, New(p, 1), "pw")
	}
	tests := []struct {
		name       string
		encoded    string
		password   string
		wantOK     bool
		wantRehash bool
	}{
		{name: "same params", encoded: mustHash(t, h, "pw"), password: "pw", wantOK: true},
		{name: "memory", encoded: other(func(p *Params) { p.Memory = 128 }), password: "pw", wantOK: true, wantRehash: true},
		{name: "time", encoded: other(func(p *Params) { p.Time = 2 }), password: "pw", wantOK: true, wantRehash: true},
		{name: "threads", encoded: other(func(p *Params) { p.Threads = 2 }), password: "pw", wantOK: true, wantRehash: true},
		{name: "salt length", encoded: other(func(p *Params) { p.SaltLen = 8 }), password: "pw", wantOK: true, wantRehash: true},
		{name: "key length", encoded: other(func(p *Params) { p.KeyLen = 16 }), password: "pw", wantOK: true, wantRehash: true},
		{name: "bcrypt", encoded: mustBcrypt(t, "pw", "$2b$"), password: "pw", wantOK: true, wantRehash: true},
		{name: "wrong password", encoded: other(func(p *Params) { p.Memory = 128 }), password: "px"},
		{name: "bcrypt wrong password", encoded: mustBcrypt(t, "pw", "$2b$"), password: "px"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), tc.encoded, tc.password)
			if ok != tc.wantOK || rehash != tc.wantRehash || err != nil {
				t.Errorf("Verify(%q) = %v, %v, %v, want %v, %v, nil", tc.password, ok, rehash, err, tc.wantOK, tc.wantRehash)
			}
		})
	}
}

func TestHasher_VerifyMalformed(t *testing.T) {
	h := New(cheap, 1)
	const password = "hunter2-secret"
	for _, tc := range malformedHashes {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), tc.encoded, password)
			if ok || rehash || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%q) = %v, %v, %v, want false, false, %v", tc.encoded, ok, rehash, err, ErrMalformedHash)
			}
			if msg := err.Error(); strings.Contains(msg, password) || (len(tc.encoded) >= 8 && strings.Contains(msg, tc.encoded)) {
				t.Errorf("Verify(%q) error = %q, want no password or hash in it", tc.encoded, msg)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range malformedHashes {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.encoded)
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Check(%q) = %v, want %v", tc.encoded, err, ErrMalformedHash)
			}
			if msg := err.Error(); len(tc.encoded) >= 8 && strings.Contains(msg, tc.encoded) {
				t.Errorf("Check(%q) error = %q, want no hash in it", tc.encoded, msg)
			}
		})
	}
	for _, tc := range validHashes {
		t.Run(tc.name, func(t *testing.T) {
			if err := Check(tc.encoded); err != nil {
				t.Errorf("Check(%q) = %v, want nil", tc.encoded, err)
			}
		})
	}
	t.Run("hash output", func(t *testing.T) {
		encoded := mustHash(t, New(cheap, 1), "pw")
		if err := Check(encoded); err != nil {
			t.Errorf("Check(%q) = %v, want nil", encoded, err)
		}
	})
}

func TestHasher_HashInvalidParams(t *testing.T) {
	tests := []struct {
		name   string
		params Params
	}{
		{name: "zero", params: Params{}},
		{name: "time zero", params: Params{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{name: "threads zero", params: Params{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32}},
		{name: "memory below 8p", params: Params{Memory: 64, Time: 1, Threads: 16, SaltLen: 16, KeyLen: 32}},
		{name: "memory above max", params: Params{Memory: maxMemory + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{name: "salt short", params: Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32}},
		{name: "key short", params: Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			encoded, err := New(tc.params, 1).Hash(context.Background(), "pw")
			if err == nil || encoded != "" {
				t.Errorf("Hash() = %q, %v, want error", encoded, err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		want        int
	}{
		{name: "negative", concurrency: -3, want: 1},
		{name: "zero", concurrency: 0, want: 1},
		{name: "one", concurrency: 1, want: 1},
		{name: "four", concurrency: 4, want: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := New(cheap, tc.concurrency)
			if got := cap(h.sem); got != tc.want {
				t.Errorf("New(p, %d) slots = %d, want %d", tc.concurrency, got, tc.want)
			}
			if got := h.Params(); got != cheap {
				t.Errorf("Params() = %+v, want %+v", got, cheap)
			}
		})
	}
}

func TestHasher_ZeroValue(t *testing.T) {
	var h Hasher
	if _, err := h.Hash(context.Background(), "pw"); err == nil {
		t.Errorf("Hash() on zero Hasher error = nil, want error")
	}
}

// TestHasher_Canceled takes the only slot, so every call must wait, with a
// context that is already canceled.
func TestHasher_Canceled(t *testing.T) {
	h := New(cheap, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.sem <- struct{}{}

	t.Run("hash", func(t *testing.T) {
		if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
			t.Errorf("Hash() error = %v, want %v", err, context.Canceled)
		}
	})
	verifies := []struct {
		name    string
		encoded string
	}{
		{name: "argon2id", encoded: vectorArgon2id},
		{name: "bcrypt", encoded: bcryptPassword},
	}
	for _, tc := range verifies {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, tc.encoded, "password")
			if ok || rehash || !errors.Is(err, context.Canceled) || errors.Is(err, ErrMalformedHash) {
				t.Errorf("Verify(%q) = %v, %v, %v, want false, false, %v", "password", ok, rehash, err, context.Canceled)
			}
		})
	}
	t.Run("malformed first", func(t *testing.T) {
		if _, _, err := h.Verify(ctx, "garbage", "pw"); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) error = %v, want %v", "pw", err, ErrMalformedHash)
		}
	})

	<-h.sem
	t.Run("canceled with free slot", func(t *testing.T) {
		if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
			t.Errorf("Hash() error = %v, want %v", err, context.Canceled)
		}
	})
	t.Run("slot released", func(t *testing.T) {
		mustHash(t, h, "pw")
	})
}

// TestHasher_WaitsForSlot checks, inside a synctest bubble, that Hash blocks
// while every slot is taken and then either proceeds or honours ctx.
func TestHasher_WaitsForSlot(t *testing.T) {
	tests := []struct {
		name    string
		release bool // free the slot; otherwise cancel ctx
		wantErr error
	}{
		{name: "release", release: true},
		{name: "cancel", wantErr: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := New(cheap, 2)
				h.sem <- struct{}{}
				h.sem <- struct{}{}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()

				done := make(chan error, 1)
				go func() {
					_, err := h.Hash(ctx, "pw")
					done <- err
				}()
				synctest.Wait()
				select {
				case err := <-done:
					t.Fatalf("Hash() returned %v while all slots were taken, want it to wait", err)
				default:
				}

				if tc.release {
					<-h.sem
				} else {
					cancel()
				}
				synctest.Wait()
				select {
				case err := <-done:
					if !errors.Is(err, tc.wantErr) {
						t.Errorf("Hash() error = %v, want %v", err, tc.wantErr)
					}
				default:
					t.Fatalf("Hash() still waiting after the slot was freed or ctx canceled")
				}
				if got, want := len(h.sem), 1; tc.release && got != want {
					t.Errorf("slots taken after Hash = %d, want %d", got, want)
				}
			})
		})
	}
}
