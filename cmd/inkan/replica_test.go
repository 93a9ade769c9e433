package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store/postgres"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
)

// replicaIssuer is shared by every replica: tokens name one issuer, whichever
// replica signed them.
const replicaIssuer = "http://inkan.test"

// startReplicas starts n inkan processes on one PostgreSQL database at once,
// on an empty database, so that they race to migrate it and to create the
// first signing key.
func startReplicas(t *testing.T, url, masterKeyFile string, n int, args ...string) []*proc {
	t.Helper()
	var ps []*proc
	for range n {
		ps = append(ps, launchInkan(t, t.TempDir(), nil, append([]string{"--database", url, "--issuer", replicaIssuer, "--master-key-file", masterKeyFile}, args...)...))
	}
	for _, p := range ps {
		p.waitServing(t)
	}
	return ps
}

// Three replicas on one PostgreSQL database act as one server.
func TestReplicas(t *testing.T) {
	url := pgtest.Database(t)
	mk := masterKeyFile(t)
	// Registrations queue for the one hash slot of each replica: under -race
	// a hash is slow, so the queue may wait longer than the 5 s default.
	ps := startReplicas(t, url, mk, 3, "--login-attempts", "4", "--login-account-attempts", "50", "--hash-queue-wait", "1m")
	a, b, c := ps[0], ps[1], ps[2]

	t.Run("one first key", func(t *testing.T) {
		for _, p := range ps {
			if kids := jwksKIDs(t, p.base); len(kids) != 1 || kids[0] != jwksKIDs(t, a.base)[0] {
				t.Errorf("%s JWKS = %v, want the one key all replicas share", p.base, kids)
			}
		}
	})
	t.Run("keys sealed in the database", func(t *testing.T) {
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		rows, err := st.ListKeys(context.Background())
		if err != nil || len(rows) == 0 {
			t.Fatalf("ListKeys() = %d rows, %v", len(rows), err)
		}
		for _, r := range rows {
			if !keys.IsSealed(r.PrivateKey) || bytes.Contains(r.PrivateKey, []byte("PRIVATE KEY")) {
				t.Errorf("key %s is stored unsealed in PostgreSQL", r.ID)
			}
			if _, err := keys.ParsePKCS8(r.PrivateKey); err == nil {
				t.Errorf("key %s parses as plaintext PKCS#8", r.ID)
			}
		}
	})
	t.Run("a replica with another master key refuses to start", func(t *testing.T) {
		p := launchInkan(t, t.TempDir(), nil, "--database", url, "--issuer", replicaIssuer, "--master-key-file", masterKeyFile(t))
		<-p.done
		err := p.cmd.Wait()
		if err == nil || !strings.Contains(p.logText(), "master key cannot open the stored signing keys") {
			t.Errorf("replica with a wrong master key: exit %v, output:\n%s", err, p.logText())
		}
	})
	t.Run("token from A verifies at B and C", func(t *testing.T) {
		a.register(t, "Alice", "alice@example.com", "correct horse")
		tok := a.login(t, "alice@example.com", "correct horse")
		for _, p := range []*proc{b, c} {
			if code := p.me(t, tok); code != 200 {
				t.Errorf("%s GET /user with A's token = %d, want 200", p.base, code)
			}
		}
	})
	t.Run("registered at B logs in at C", func(t *testing.T) {
		b.register(t, "Bob", "bob@example.com", "bob password")
		c.login(t, "bob@example.com", "bob password")
	})
	t.Run("key from the CLI served by every replica", func(t *testing.T) {
		kid := strings.TrimSpace(mustInkan(t, "", "keys", "rotate", "--now", "--database", url, "--master-key-file", mk))
		for _, p := range ps {
			eventually(t, 3*time.Second, p.base+" serves the new key", func() bool {
				return strings.Contains(strings.Join(jwksKIDs(t, p.base), ","), kid)
			})
			eventually(t, 3*time.Second, p.base+" signs with the new key", func() bool {
				return tokenKID(t, p.login(t, "alice@example.com", "correct horse")) == kid
			})
		}
	})
	t.Run("disabled on one, refused on all", func(t *testing.T) {
		tok := a.login(t, "bob@example.com", "bob password")
		for _, p := range ps { // every replica has the user cached
			if code := p.me(t, tok); code != 200 {
				t.Fatalf("%s GET /user = %d", p.base, code)
			}
		}
		mustInkan(t, "", "users", "disable", "--database", url, "bob@example.com")
		for _, p := range ps {
			eventually(t, 3*time.Second, p.base+" refuses the disabled user's token", func() bool { return p.me(t, tok) == 401 })
		}
	})
	t.Run("password changed on one, earlier tokens refused on all", func(t *testing.T) {
		tok := b.login(t, "alice@example.com", "correct horse")
		for _, p := range ps { // every replica has the user cached
			if code := p.me(t, tok); code != 200 {
				t.Fatalf("%s GET /user = %d", p.base, code)
			}
		}
		mustInkan(t, "new horse battery\n", "users", "passwd", "--database", url, "alice@example.com")
		for _, p := range ps {
			eventually(t, 3*time.Second, p.base+" refuses the token from before the change", func() bool { return p.me(t, tok) == 401 })
		}
		var fresh string
		eventually(t, 3*time.Second, "a login with the new password", func() bool {
			code, body, _ := call(t, "POST", c.base+"/user/_authenticate", "", "Authorization", basicAuth("alice@example.com", "new horse battery"))
			fresh, _ = body["access_token"].(string)
			return code == 200
		})
		for _, p := range ps {
			if code := p.me(t, fresh); code != 200 {
				t.Errorf("%s GET /user with the token of the new password = %d, want 200", p.base, code)
			}
		}
	})
	t.Run("100 concurrent registrations of one email", func(t *testing.T) {
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				code, _, _ := call(t, "POST", ps[i%3].base+"/user", signupBody("Same", "same@example.com", "pw-8char"))
				mu.Lock()
				codes[code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[201] != 1 || codes[409] != 99 {
			t.Errorf("100 registrations over 3 replicas: %s, want one 201 and 99 409", fmtCodes(codes))
		}
	})
	t.Run("guesses spread over replicas meet one budget", func(t *testing.T) {
		a.register(t, "Carol", "carol@example.com", "carol password")
		var codes []int
		for i := range 6 {
			code, _, _ := call(t, "POST", ps[i%3].base+"/user/_authenticate", "", "Authorization", basicAuth("carol@example.com", "guess"))
			codes = append(codes, code)
		}
		want := []int{401, 401, 401, 401, 429, 429}
		if strconv.Quote(fmtInts(codes)) != strconv.Quote(fmtInts(want)) {
			t.Errorf("6 guesses round-robin over 3 replicas: %v, want %v (the budget of one server)", codes, want)
		}
	})
	t.Run("replica killed mid-burst", func(t *testing.T) {
		// Workers on B stop when it dies; the others go on.
		bu := startBurst([]string{a.base, b.base, c.base}, 6, 200)
		eventually(t, 60*time.Second, "30 registrations", func() bool { return bu.n.Load() >= 30 })
		b.kill(t)
		eventually(t, 60*time.Second, "more registrations after the kill", func() bool { return bu.n.Load() >= 45 })
		created := bu.stop()
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for _, email := range created {
			if _, err := st.GetUserByEmail(context.Background(), email); err != nil {
				t.Errorf("%s got a 201 but is not in the database: %v", email, err)
			}
		}
		t.Logf("%d registrations acknowledged across the replicas, all present", len(created))
	})
}

func fmtInts(v []int) string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ",")
}

// masterKeyFile writes a fresh master key, as an operator shares one with
// every replica.
func masterKeyFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte(keys.NewMasterKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
