package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A start that fails leaves no data dir, database, key or master key
// behind: a port in use and a bad TLS pair fail before anything is made,
// and a failure after the data dir was made removes what this run made.
// A data dir that was there before is left as it was.
func TestE2E_failedStartLeavesNothing(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	busy := held.Addr().String()
	tests := []struct {
		name string
		env  []string
		args []string
		want string // in the log
	}{
		{"port in use", nil, []string{"--addr", busy}, "address already in use"},
		{"metrics port in use", nil, []string{"--metrics-addr", busy}, "--metrics-addr"},
		{"bad TLS pair", nil, []string{"--tls-cert", "missing.pem", "--tls-key", "missing.pem"}, "--tls-cert"},
		{"bad master key", []string{"INKAN_MASTER_KEY=short"}, nil, "master key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			top := filepath.Join(t.TempDir(), "new")
			dir := filepath.Join(top, "data") // its parent is missing too
			p := launchInkan(t, dir, tc.env, tc.args...)
			<-p.done
			if err := p.cmd.Wait(); err == nil || !strings.Contains(p.logText(), tc.want) {
				t.Fatalf("start: exit %v, log:\n%s\nwant a failure mentioning %q", err, p.logText(), tc.want)
			}
			if _, err := os.Stat(top); !os.IsNotExist(err) {
				t.Errorf("the failed start left %s behind (%v)", top, err)
			}
		})
	}

	t.Run("existing data dir", func(t *testing.T) {
		dir := dataDir(t)
		mustInkan(t, "pw-8char\n", "users", "add", "--data-dir", dir, "--email", "a@example.com", "--name", "A")
		p := launchInkan(t, dir, nil, "--addr", busy)
		<-p.done
		if err := p.cmd.Wait(); err == nil {
			t.Fatal("start on a port in use succeeded")
		}
		if _, err := os.Stat(filepath.Join(dir, dbFile)); err != nil {
			t.Errorf("the failed start removed the database that was there: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, defaultMasterKeyFile)); err == nil {
			t.Error("the failed start made a master key")
		}
		if u, k := countRows(t, dir); u != 1 || k != 0 {
			t.Errorf("after the failed start the store holds %d users and %d keys, want 1 and 0", u, k)
		}
	})
}
