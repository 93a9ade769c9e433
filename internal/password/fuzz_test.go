package password

import (
	"context"
	"errors"
	"testing"
)

// FuzzCheck checks the parser alone: it never panics, rejects with
// ErrMalformedHash, and accepts only canonical hashes within bounds.
func FuzzCheck(f *testing.F) {
	for _, tc := range malformedHashes {
		f.Add(tc.encoded)
	}
	for _, tc := range validHashes {
		f.Add(tc.encoded)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		got, err := parse(encoded)
		if checkErr := Check(encoded); (checkErr == nil) != (err == nil) {
			t.Fatalf("Check(%q) = %v, parse error = %v, want both nil or both non-nil", encoded, checkErr, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Check(%q) = %v, want %v", encoded, err, ErrMalformedHash)
			}
			return
		}
		if got.bcrypt != nil {
			cost, _ := bcryptCost(encoded[4:6])
			if len(got.bcrypt) != bcryptLen || cost < minBcryptCost || cost > maxBcryptCost {
				t.Fatalf("Check(%q) = nil, want %v", encoded, ErrMalformedHash)
			}
			return
		}
		a := got.argon2id
		if err := a.params.validate(); err != nil {
			t.Fatalf("Check(%q) = nil with params %v, want %v", encoded, err, ErrMalformedHash)
		}
		// Accepted argon2id hashes are canonical: one hash, one string.
		if s := encodeArgon2id(a.params, a.salt, a.key); s != encoded {
			t.Fatalf("Check(%q) = nil, but re-encoded as %q", encoded, s)
		}
	})
}

// fuzzReferences are the only hashes of vectorPassword that FuzzVerify
// knows; no other accepted hash may verify it.
var fuzzReferences = map[string]bool{
	vectorArgon2id:              true,
	vectorArgon2idP2:            true,
	bcryptPassword:              true,
	"$2b$" + bcryptPassword[4:]: true,
	"$2y$" + bcryptPassword[4:]: true,
}

// expensive reports whether verifying h would slow the fuzzer down. The
// parser's bounds already stop hostile costs; this keeps each run in
// milliseconds.
func expensive(h parsedHash) bool {
	if h.bcrypt != nil {
		cost, _ := bcryptCost(string(h.bcrypt[4:6]))
		return cost > 5
	}
	p := h.argon2id.params
	return p.Memory*p.Time > 4096 || p.Threads > 4
}

// FuzzVerify checks that Verify never panics, fails only with
// ErrMalformedHash exactly when Check does, and that mutated hashes never
// verify.
func FuzzVerify(f *testing.F) {
	for _, tc := range malformedHashes {
		f.Add(tc.encoded, vectorPassword)
	}
	for encoded := range fuzzReferences {
		f.Add(encoded, vectorPassword)
		f.Add(encoded, "passwordpassword")
	}
	h := New(cheap, 1)
	f.Fuzz(func(t *testing.T, encoded, password string) {
		parsed, checkErr := parse(encoded)
		if checkErr == nil && expensive(parsed) {
			t.Skip("hash too expensive for fuzzing")
		}
		ok, rehash, err := h.Verify(context.Background(), encoded, password)
		if (err == nil) != (checkErr == nil) {
			t.Fatalf("Verify(%q) error = %v, Check error = %v, want both nil or both non-nil", password, err, checkErr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) || ok || rehash {
				t.Fatalf("Verify(%q) = %v, %v, %v, want false, false, %v", password, ok, rehash, err, ErrMalformedHash)
			}
			return
		}
		if rehash && !ok {
			t.Fatalf("Verify(%q) = %v, %v, nil, want rehash only when ok", password, ok, rehash)
		}
		if ok && (password != vectorPassword || !fuzzReferences[encoded]) {
			t.Fatalf("Verify(%q) against %q = true, want false", password, encoded)
		}
	})
}
