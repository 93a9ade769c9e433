package backup

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/account/passkeytest"
	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/store"
)

const (
	aliceID = "2d9ecfdd-e6b0-4bc4-b5bf-10be8bd3335c" // mustSeed's users
	bobID   = "7e810a57-7f62-4f83-9edc-07d053d86e98"

	testRPID   = "id.example.com"
	testOrigin = "https://id.example.com"
)

// mfaT0 is when mustSeedMFA enrols Alice's second factors.
var mfaT0 = time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)

// clock is a settable time for the account services of a test.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// mfaService is the account service over st with second factors on, its
// MFA secret that of sealer's master key, as inkan serve configures it.
func mfaService(tb testing.TB, st store.Store, sealer *keys.Sealer, c *clock) *account.Service {
	tb.Helper()
	svc, err := account.New(context.Background(), account.Options{
		Store: st, Now: c.Now,
		Passwords: password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1),
		MFA: account.MFAOptions{
			Secret: sealer.TokenSecret(), Issuer: "inkan.test",
			RPID: testRPID, RPOrigins: []string{testOrigin}, RPName: "inkan test",
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}

// codeAt is the TOTP code of secret (base32) at t.
func codeAt(tb testing.TB, secret string, t time.Time) string {
	tb.Helper()
	c, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// mfaSeed is what mustSeedMFA enrolled.
type mfaSeed struct {
	secret string   // Alice's TOTP secret, base32
	codes  []string // her recovery codes; codes[0] is used
	key    *passkeytest.Authenticator
}

// mustSeedMFA fills st as mustSeed does, and gives Alice, through the
// account service, a TOTP confirmed at mfaT0 and used once 30 s later, ten
// recovery codes of which one is used, and a passkey used once; Bob gets a
// pending TOTP enrolment, which is no factor and not exported.
func mustSeedMFA(tb testing.TB, st store.Store, sealer *keys.Sealer) mfaSeed {
	tb.Helper()
	ctx := context.Background()
	mustSeed(tb, st, sealer)
	c := &clock{mfaT0}
	svc := mfaService(tb, st, sealer, c)
	e, err := svc.BeginTOTP(ctx, aliceID)
	if err != nil {
		tb.Fatalf("BeginTOTP() = %v", err)
	}
	codes, err := svc.ConfirmTOTP(ctx, aliceID, codeAt(tb, e.Secret, c.t))
	if err != nil || len(codes) != 10 {
		tb.Fatalf("ConfirmTOTP() = %d codes, %v", len(codes), err)
	}
	c.t = c.t.Add(30 * time.Second)
	if _, err := svc.VerifyCode(ctx, aliceID, codeAt(tb, e.Secret, c.t)); err != nil {
		tb.Fatalf("VerifyCode(TOTP) = %v", err)
	}
	if _, err := svc.VerifyCode(ctx, aliceID, codes[0]); err != nil {
		tb.Fatalf("VerifyCode(recovery code) = %v", err)
	}
	a := passkeytest.New(tb, testRPID, testOrigin)
	a.BE, a.BS = true, true
	handle, opts, err := svc.BeginPasskeyRegistration(ctx, aliceID)
	if err != nil {
		tb.Fatalf("BeginPasskeyRegistration() = %v", err)
	}
	if _, _, err := svc.FinishPasskeyRegistration(ctx, aliceID, handle, "Laptop", a.Create(tb, opts)); err != nil {
		tb.Fatalf("FinishPasskeyRegistration() = %v", err)
	}
	passkeyLogin(tb, svc, a)
	sealed, err := account.SealTOTPSecret(sealer.TokenSecret(), bobID, bytes.Repeat([]byte{1}, 20))
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.PutTOTP(ctx, store.TOTP{UserID: bobID, Secret: sealed, CreatedAt: mfaT0}); err != nil {
		tb.Fatal(err)
	}
	return mfaSeed{secret: e.Secret, codes: codes, key: a}
}

// passkeyLogin signs Alice in with a as her second factor.
func passkeyLogin(tb testing.TB, svc *account.Service, a *passkeytest.Authenticator) {
	tb.Helper()
	ctx := context.Background()
	handle, opts, err := svc.BeginPasskeyLogin(ctx, aliceID)
	if err != nil {
		tb.Fatalf("BeginPasskeyLogin() = %v", err)
	}
	if u, _, err := svc.FinishPasskeyLogin(ctx, handle, a.Get(tb, opts)); err != nil || u.ID != aliceID {
		tb.Fatalf("FinishPasskeyLogin() = %s, %v, want Alice", u.ID, err)
	}
}

// A user moved to a store under another master key keeps their second
// factors: the TOTP (its secret re-sealed under the new store's key, its
// used steps still used), the unused recovery codes and the passkey. An
// export of the copy is the same file; a second import skips every row,
// and one after the user used a factor in the copy is a conflict.
func TestImport_secondFactors(t *testing.T) {
	ctx := context.Background()
	src, dst := mustStore(t), mustStore(t)
	srcSealer, dstSealer := mustSealer(t), mustSealer(t)
	seed := mustSeedMFA(t, src, srcSealer)
	data, n := mustExport(t, src, srcSealer)
	if want := (Counts{Keys: 1, Users: 2, TOTPs: 1, RecoveryCodes: 9, Passkeys: 1, Clients: 1, Consents: 1, Revocations: 1}); n != want {
		t.Fatalf("Export counts = %+v, want %+v (Bob's pending TOTP and Alice's used code left out)", n, want)
	}
	if !bytes.Contains(data, []byte(`"kind":"totp","user_id":"`+aliceID+`","secret":"`+seed.secret+`"`)) {
		t.Errorf("export lacks Alice's TOTP secret in plaintext:\n%s", data)
	}
	f, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Read(export) = %v", err)
	}
	var calls int
	sum, err := Import(ctx, dst, f, ImportOptions{Sealer: sealerOf(dstSealer, &calls)})
	if err != nil || sum.Written != n || sum.Skipped != 0 || calls != 1 {
		t.Fatalf("Import = %v, %v (sealer asked %d times), want %v written, the sealer asked once", sum, err, calls, n)
	}
	if again, _ := mustExport(t, dst, dstSealer); !bytes.Equal(again, data) {
		t.Errorf("export of the imported store differs:\n%s\nwant\n%s", again, data)
	}
	stored, err := dst.GetTOTP(ctx, aliceID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := account.OpenTOTPSecret(srcSealer.TokenSecret(), stored); err == nil {
		t.Error("the imported TOTP secret opens under the old store's master key: not re-sealed")
	}
	if sum, err := Import(ctx, dst, f, ImportOptions{Sealer: sealerOf(dstSealer, &calls)}); err != nil || sum.Written.Total() != 0 || sum.Skipped != n.Total() {
		t.Errorf("second Import = %v, %v, want nothing written, %d skipped", sum, err, n.Total())
	}

	// The new store's service, under the new master key, takes Alice's
	// factors.
	c := &clock{mfaT0.Add(30 * time.Second)}
	svc := mfaService(t, dst, dstSealer, c)
	if _, err := svc.VerifyCode(ctx, aliceID, codeAt(t, seed.secret, c.t)); !errors.Is(err, account.ErrBadCode) {
		t.Errorf("VerifyCode(the code used before the move) = %v, want %v", err, account.ErrBadCode)
	}
	c.t = c.t.Add(30 * time.Second)
	if amr, err := svc.VerifyCode(ctx, aliceID, codeAt(t, seed.secret, c.t)); err != nil || len(amr) != 1 || amr[0] != account.AMROTP {
		t.Errorf("VerifyCode(TOTP after the move) = %v, %v, want [%s]", amr, err, account.AMROTP)
	}
	if _, err := svc.VerifyCode(ctx, aliceID, seed.codes[0]); !errors.Is(err, account.ErrBadCode) {
		t.Errorf("VerifyCode(recovery code used before the move) = %v, want %v", err, account.ErrBadCode)
	}
	if _, err := svc.VerifyCode(ctx, aliceID, seed.codes[1]); err != nil {
		t.Errorf("VerifyCode(unused recovery code after the move) = %v", err)
	}
	passkeyLogin(t, svc, seed.key)

	// Alice used her factors in the copy: the file's rows differ now.
	_, err = Import(ctx, dst, f, ImportOptions{Sealer: sealerOf(dstSealer, &calls)})
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "line 4: the TOTP of user "+aliceID+": differs from the stored one in last_step") {
		t.Errorf("Import after the TOTP's use = %v, want a conflict naming line 4 and last_step", err)
	}
}

// The recovery codes of a user are one set: stored codes that are not the
// file's, or one of them used since, stop the import, naming the first
// code's line.
func TestImport_recoveryCodeConflicts(t *testing.T) {
	ctx := context.Background()
	src := mustStore(t)
	sealer := mustSealer(t)
	seed := mustSeedMFA(t, src, sealer)
	data, _ := mustExport(t, src, sealer)
	f, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(st store.Store, svc *account.Service)
		want string
	}{
		{"used since", func(_ store.Store, svc *account.Service) {
			if _, err := svc.VerifyCode(ctx, aliceID, seed.codes[5]); err != nil {
				t.Fatal(err)
			}
		}, "differ from the stored ones: 1 of the file's are used since"},
		{"replaced", func(st store.Store, _ *account.Service) {
			if err := st.ReplaceRecoveryCodes(ctx, aliceID, []string{strings.Repeat("ab", 32)}, mfaT0); err != nil {
				t.Fatal(err)
			}
		}, "differ from the stored ones: 1 stored, 9 in the file, 9 of the file's are not stored"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst, dstSealer := mustStore(t), mustSealer(t)
			var calls int
			if _, err := Import(ctx, dst, f, ImportOptions{Sealer: sealerOf(dstSealer, &calls)}); err != nil {
				t.Fatal(err)
			}
			tc.edit(dst, mfaService(t, dst, dstSealer, &clock{mfaT0.Add(time.Hour)}))
			sum, err := Import(ctx, dst, f, ImportOptions{Sealer: sealerOf(dstSealer, &calls)})
			if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "line 5: the recovery codes of user "+aliceID+": "+tc.want) {
				t.Errorf("Import = %v, want a conflict: line 5: ...: %s", err, tc.want)
			}
			if sum.Written.Total() != 0 {
				t.Errorf("Import wrote %v, want nothing", sum)
			}
		})
	}
}

// Read holds the lines of second factors to what the account service
// stores, and names each bad line.
func TestRead_badMFALines(t *testing.T) {
	src := mustStore(t)
	sealer := mustSealer(t)
	mustSeedMFA(t, src, sealer)
	data, _ := mustExport(t, src, sealer)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	line := func(kind string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, `{"kind":"`+kind+`"`) {
				return l
			}
		}
		t.Fatalf("no %s line in the export", kind)
		return ""
	}
	tp, code, pk := line(kindTOTP), line(kindRecoveryCode), line(kindPasskey)
	replaceField := func(l, field, value string) string {
		i := strings.Index(l, `"`+field+`":`)
		if i < 0 {
			t.Fatalf("no field %s in %s", field, l)
		}
		j := i + len(field) + 3
		end := j + strings.IndexAny(l[j:], ",}")
		if l[j] == '"' {
			end = j + 1 + strings.Index(l[j+1:], `"`) + 1
		}
		return l[:j] + value + l[end:]
	}
	tests := []struct {
		name string
		bad  string
		want string
	}{
		{"totp secret not base32", replaceField(tp, "secret", `"abc!"`), "totp: of user " + aliceID + ": secret is not base32"},
		{"totp secret short", replaceField(tp, "secret", `"AAAAAAAAAAAAAAAA"`), "totp: of user " + aliceID + ": secret: 10 bytes, want 16 to 64"},
		{"totp not confirmed", replaceField(tp, "confirmed_at", `""`), `confirmed_at "" is not an RFC 3339 time`},
		{"totp without secret", strings.Replace(tp, `"secret":`, `"secrets":`, 1), `totp: unknown field "secrets"`},
		{"totp negative step", replaceField(tp, "last_step", `-1`), "last_step -1 is negative"},
		{"totp user", replaceField(tp, "user_id", `"alice"`), `user_id: "alice" is not a UUID`},
		{"totp twice", tp, "the TOTP of user " + aliceID + " is on line 4 already"},
		{"recovery code hash", replaceField(code, "hash", `"`+strings.Repeat("AB", 32)+`"`), "hash is not a hex SHA-256"},
		{"recovery code time", replaceField(code, "created_at", `"2030-01-04T00:00:00Z"`), "created_at differs from line 5's: a user's codes are made together"},
		{"passkey public key", replaceField(pk, "public_key", `"AAAA"`), "public_key is not a COSE key"},
		{"passkey id", replaceField(pk, "id", `"a+b"`), "id is not base64url"},
		{"passkey name", replaceField(pk, "name", `""`), "name is empty"},
		{"passkey aaguid", replaceField(pk, "aaguid", `"AAAA"`), "aaguid: 3 bytes, want none or 16"},
		{"passkey sign count", replaceField(pk, "sign_count", `-1`), "passkey: json: cannot unmarshal"},
		{"passkey twice", pk, "is on line 14 already"},
	}
	head := strings.Join(lines[:14], "\n") // keys, users, the TOTP, 9 codes, the passkey
	if !strings.HasPrefix(lines[13], `{"kind":"passkey"`) {
		t.Fatalf("line 14 is not the passkey: %s", lines[13])
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(head + "\n" + tc.bad))
			if err == nil || !strings.Contains(err.Error(), "line 15: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read() error = %v, want line 15: ...%s", err, tc.want)
			}
		})
	}
}

// A second factor whose user is neither in the file nor in the store
// refuses the file before anything is written.
func TestImport_mfaReferences(t *testing.T) {
	ctx := context.Background()
	src, dst := mustStore(t), mustStore(t)
	sealer := mustSealer(t)
	mustSeedMFA(t, src, sealer)
	data, _ := mustExport(t, src, sealer)
	var kept []string
	for l := range strings.Lines(string(data)) {
		if !strings.Contains(l, `"kind":"user","id":"`+aliceID) {
			kept = append(kept, l)
		}
	}
	f, err := Read(strings.NewReader(strings.Join(kept, "")))
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	sum, err := Import(ctx, dst, f, ImportOptions{Sealer: sealerOf(sealer, &calls)})
	for _, want := range []string{
		"line 3: totp: user " + aliceID + " is neither in the file nor in the store",
		"line 4: recovery_code: user " + aliceID,
		"line 13: passkey: user " + aliceID,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Import without Alice = %v, want %q", err, want)
		}
	}
	if sum.Written.Total() != 0 || calls != 0 {
		t.Errorf("refused Import wrote %v and asked for the sealer %d times, want nothing", sum, calls)
	}
}
