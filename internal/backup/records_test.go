package backup

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/store"
)

// Every field of a stored user, second factor, client, consent and
// revocation survives its record:
// a field added to the store type and not to the record fails here.
func TestRecords_everyField(t *testing.T) {
	t.Run("user", func(t *testing.T) {
		var u store.User
		fillEveryField(t, &u)
		got, err := fromUserRecord(toUserRecord(u))
		if diff := cmp.Diff(u, got); err != nil || diff != "" {
			t.Errorf("user through its record: %v, (-want +got):\n%s", err, diff)
		}
	})
	t.Run("totp", func(t *testing.T) {
		var tp store.TOTP
		fillEveryField(t, &tp)
		// The line holds the secret opened; fromTOTPRecord gives it back
		// in plaintext, for import to seal.
		got, err := fromTOTPRecord(toTOTPRecord(tp, tp.Secret))
		if diff := cmp.Diff(tp, got); err != nil || diff != "" {
			t.Errorf("TOTP through its record: %v, (-want +got):\n%s", err, diff)
		}
	})
	t.Run("recovery code", func(t *testing.T) {
		var c store.RecoveryCode
		fillEveryField(t, &c)
		c.UsedAt = time.Time{} // used codes are not exported
		got, err := fromRecoveryCodeRecord(toRecoveryCodeRecord(c))
		if diff := cmp.Diff(c, got); err != nil || diff != "" {
			t.Errorf("recovery code through its record: %v, (-want +got):\n%s", err, diff)
		}
	})
	t.Run("passkey", func(t *testing.T) {
		var p store.Passkey
		fillEveryField(t, &p)
		got, err := fromPasskeyRecord(toPasskeyRecord(p))
		if diff := cmp.Diff(p, got); err != nil || diff != "" {
			t.Errorf("passkey through its record: %v, (-want +got):\n%s", err, diff)
		}
	})
	t.Run("client", func(t *testing.T) {
		var c store.Client
		fillEveryField(t, &c)
		got, err := fromClientRecord(toClientRecord(c))
		if diff := cmp.Diff(c, got); err != nil || diff != "" {
			t.Errorf("client through its record: %v, (-want +got):\n%s", err, diff)
		}
	})
	t.Run("consent", func(t *testing.T) {
		var c store.Consent
		fillEveryField(t, &c)
		got, err := fromConsentRecord(toConsentRecord(c))
		if diff := cmp.Diff(c, got); err != nil || diff != "" {
			t.Errorf("consent through its record: %v, (-want +got):\n%s", err, diff)
		}
	})
	t.Run("revocation", func(t *testing.T) {
		var r store.Revocation
		fillEveryField(t, &r)
		got, err := fromRevocationRecord(toRevocationRecord(r))
		if diff := cmp.Diff(r, got); err != nil || diff != "" {
			t.Errorf("revocation through its record: %v, (-want +got):\n%s", err, diff)
		}
	})
}

// fillEveryField sets every field of the struct *p to a value other than
// its zero value, one that the record conversions keep as it is.
func fillEveryField(t *testing.T, p any) {
	t.Helper()
	v := reflect.ValueOf(p).Elem()
	when := time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
	for i := range v.NumField() {
		f := v.Field(i)
		switch x := f.Addr().Interface().(type) {
		case *string:
			*x = "x" + strconv.Itoa(i)
		case *bool:
			*x = true
		case *int64:
			*x = int64(1000 + i)
		case *uint32:
			*x = uint32(1000 + i)
		case *[]string:
			*x = []string{"a" + strconv.Itoa(i), "b"}
		case *[]byte:
			*x = []byte{byte(i), 1, 2}
		case *time.Time:
			*x = when.Add(time.Duration(i) * time.Second)
		default:
			t.Fatalf("fillEveryField: field %s has type %s: add a case", v.Type().Field(i).Name, f.Type())
		}
	}
}
