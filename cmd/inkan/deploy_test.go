package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/keys"
)

// The deployment example (deploy/compose.yaml, the Dockerfile, nginx.conf)
// runs as written. Docker is not available to the tests, so they read the
// files: every inkan variable and flag they use exists and the settings
// they make validate; the replicas share the master key, database and
// issuer; nginx reaches the port inkan listens on; the files they name
// exist; and the documented commands set what compose requires.
func TestDeploy_compose(t *testing.T) {
	c := readCompose(t, "../../deploy/compose.yaml")
	cmd := dockerfileCmd(t, "../../Dockerfile")

	var replicas []string
	for name, svc := range c.Services {
		for v := range svc.Environment {
			if strings.HasPrefix(v, "INKAN_") && !slices.Contains(config.EnvNames(), v) {
				t.Errorf("service %s: inkan reads no variable %s", name, v)
			}
		}
		if svc.Build == nil {
			continue
		}
		replicas = append(replicas, name)
		if ctx := filepath.Join("../../deploy", svc.Build.Context); !fileExists(filepath.Join(ctx, svc.Build.Dockerfile)) || !fileExists(filepath.Join(ctx, "go.mod")) {
			t.Errorf("service %s: build context %s with %s is not the repository root", name, svc.Build.Context, svc.Build.Dockerfile)
		}
		if svc.Command != nil || svc.Entrypoint != nil {
			t.Errorf("service %s overrides the image's command: check its flags here too", name)
		}
		if len(svc.Ports) > 0 {
			t.Errorf("service %s publishes %v: the replicas are reached through nginx only (and /metrics must stay private)", name, svc.Ports)
		}
		if svc.Healthcheck != nil {
			t.Errorf("service %s has a healthcheck, but the distroless image has no shell or curl to run one", name)
		}
		cfg := serveConfig(t, cmd, svc.Environment)
		if cfg.Database == "" {
			t.Errorf("service %s: no INKAN_DATABASE, so each replica would have a SQLite file of its own", name)
		}
		if _, inDataDir := cfg.MasterKeySource(func(k string) string { return substitute(t, svc.Environment[k]) }); inDataDir {
			t.Errorf("service %s: no INKAN_MASTER_KEY or --master-key-file, so each replica would make its own", name)
		}
		if !strings.Contains(svc.Environment[config.MasterKeyEnv], "${"+config.MasterKeyEnv+":?") {
			t.Errorf("service %s: %s = %q, want it required from the environment (${%s:?...}), never a default", name,
				config.MasterKeyEnv, svc.Environment[config.MasterKeyEnv], config.MasterKeyEnv)
		}
		for _, net := range svc.Networks {
			for _, sub := range c.Networks[net].IPAM.Config {
				p, err := netip.ParsePrefix(sub.Subnet)
				if err != nil || !cfg.TrustedProxies.Contains(p.Addr()) {
					t.Errorf("service %s: --trusted-proxies %v does not cover network %s's subnet %s (nginx's address)", name, cfg.TrustedProxies.String(), net, sub.Subnet)
				}
			}
		}
		for dep, d := range svc.DependsOn {
			if d.Condition == "service_healthy" && c.Services[dep].Healthcheck == nil {
				t.Errorf("service %s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
	}
	if len(replicas) < 2 {
		t.Fatalf("compose builds %d inkan services, want the two replicas", len(replicas))
	}
	for _, v := range []string{config.MasterKeyEnv, "INKAN_DATABASE", "INKAN_ISSUER"} {
		for _, r := range replicas[1:] {
			if c.Services[r].Environment[v] != c.Services[replicas[0]].Environment[v] {
				t.Errorf("services %s and %s differ in %s: every replica needs the same", replicas[0], r, v)
			}
		}
	}

	// nginx sends to every replica, on the port of the image's --addr.
	cfg := serveConfig(t, cmd, nil)
	_, port, _ := net.SplitHostPort(cfg.Addr)
	conf := string(mustRead(t, "../../deploy/nginx.conf"))
	upstreams := regexp.MustCompile(`(?m)^\s*server\s+([\w.-]+):(\d+)`).FindAllStringSubmatch(conf, -1)
	var sent []string
	for _, u := range upstreams {
		sent = append(sent, u[1])
		if u[2] != port {
			t.Errorf("nginx sends to %s:%s, but inkan listens on port %s (--addr %s)", u[1], u[2], port, cfg.Addr)
		}
		if _, ok := c.Services[u[1]]; !ok {
			t.Errorf("nginx sends to %s, which is no compose service", u[1])
		}
	}
	slices.Sort(sent)
	slices.Sort(replicas)
	if !slices.Equal(sent, replicas) {
		t.Errorf("nginx sends to %v, want every replica %v", sent, replicas)
	}
	for name, svc := range c.Services {
		for _, v := range svc.Volumes {
			if src, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(src, ".") && !fileExists(filepath.Join("../../deploy", src)) {
				t.Errorf("service %s mounts %s, which does not exist", name, src)
			}
		}
	}

	// compose refuses to start without INKAN_MASTER_KEY (${…:?}): the
	// documented commands must set it.
	for _, doc := range []string{"../../docs/deploy.md", "../../deploy/compose.yaml"} {
		text := string(mustRead(t, doc))
		for _, m := range regexp.MustCompile(`(?m)^.*docker compose .*\bup\b.*$`).FindAllString(text, -1) {
			if before := text[:strings.Index(text, m)]; !strings.Contains(m, config.MasterKeyEnv+"=") &&
				!strings.Contains(before[max(0, len(before)-300):], config.MasterKeyEnv+"=") {
				t.Errorf("%s: %q runs compose without setting %s first", doc, strings.TrimSpace(m), config.MasterKeyEnv)
			}
		}
	}
}

// The image builds with the Go that go.mod asks for, from files that
// .dockerignore keeps.
func TestDeploy_dockerfile(t *testing.T) {
	df := string(mustRead(t, "../../Dockerfile"))
	gomod := string(mustRead(t, "../../go.mod"))
	want := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(gomod)
	from := regexp.MustCompile(`(?m)^FROM golang:(\d+\.\d+(?:\.\d+)?)`).FindStringSubmatch(df)
	if want == nil || from == nil {
		t.Fatalf("no go directive in go.mod or no golang image in the Dockerfile")
	}
	if versionLess(from[1], want[1]) {
		t.Errorf("the Dockerfile builds with Go %s, but go.mod needs %s", from[1], want[1])
	}
	build := regexp.MustCompile(`go build [^\n]* (\./\S+)`).FindStringSubmatch(df)
	if build == nil || !fileExists(filepath.Join("../..", build[1], "main.go")) {
		t.Errorf("the Dockerfile builds %v, not a main package", build)
	}
	for _, line := range strings.Split(string(mustRead(t, "../../.dockerignore")), "\n") {
		line = strings.TrimSpace(line)
		for _, need := range []string{"go.mod", "go.sum", "cmd", "internal", "verify"} {
			if line == need || line == need+"/" || line == "*" {
				t.Errorf(".dockerignore drops %s, which the build needs", need)
			}
		}
	}
}

// compose is the part of a compose file these tests read.
type compose struct {
	Services map[string]struct {
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Image       string      `yaml:"image"`
		Command     any         `yaml:"command"`
		Entrypoint  any         `yaml:"entrypoint"`
		Environment environment `yaml:"environment"`
		Ports       []string    `yaml:"ports"`
		Volumes     []string    `yaml:"volumes"`
		Networks    []string    `yaml:"networks"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		DependsOn dependsOn `yaml:"depends_on"`
	} `yaml:"services"`
	Networks map[string]struct {
		IPAM struct {
			Config []struct {
				Subnet string `yaml:"subnet"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
}

// dependsOn is a service's depends_on, given as a map or a list: each
// dependency's condition ("" in the list form).
type dependsOn map[string]struct {
	Condition string `yaml:"condition"`
}

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, name := range list {
			(*d)[name] = struct {
				Condition string `yaml:"condition"`
			}{}
		}
		return nil
	}
	return n.Decode((*map[string]struct {
		Condition string `yaml:"condition"`
	})(d))
}

// environment is a service's environment, given as a map or a list.
type environment map[string]string

func (e *environment) UnmarshalYAML(n *yaml.Node) error {
	*e = environment{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	return n.Decode((*map[string]string)(e))
}

func readCompose(t *testing.T, path string) compose {
	t.Helper()
	var c compose
	if err := yaml.Unmarshal(mustRead(t, path), &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// dockerfileCmd returns the image's CMD, in exec form.
func dockerfileCmd(t *testing.T, path string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^CMD (\[.*\])$`).FindSubmatch(mustRead(t, path))
	var cmd []string
	if m == nil || json.Unmarshal(m[1], &cmd) != nil || len(cmd) == 0 || cmd[0] != "serve" {
		t.Fatalf("%s: no CMD [\"serve\", ...] in exec form", path)
	}
	return cmd
}

// serveConfig parses cmd (["serve", flags...]) with env, as inkan serve
// does, and checks that the result validates.
func serveConfig(t *testing.T, cmd []string, env environment) config.Config {
	t.Helper()
	cfg := config.Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.Register(fs, config.ServeSettings...)
	getenv := func(k string) string { return substitute(t, env[k]) }
	if pos, err := config.Parse(fs, cmd[1:], getenv); err != nil || len(pos) != 0 {
		t.Fatalf("inkan %s with the compose environment: %v (arguments %q)", strings.Join(cmd, " "), err, pos)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("inkan %s with the compose environment: %v", strings.Join(cmd, " "), err)
	}
	if k := getenv(config.MasterKeyEnv); k != "" {
		if _, err := keys.ParseMasterKey(k); err != nil {
			t.Errorf("%s: %v", config.MasterKeyEnv, err)
		}
	}
	return cfg
}

// substitute expands compose's ${VAR:-default}, ${VAR:?message} and ${VAR}
// as compose would with none of them set, except that a required variable
// gets a valid value (a new master key for INKAN_MASTER_KEY).
func substitute(t *testing.T, v string) string {
	return regexp.MustCompile(`\$\{(\w+)(?:(:-|:\?)([^}]*))?\}`).ReplaceAllStringFunc(v, func(ref string) string {
		m := regexp.MustCompile(`\$\{(\w+)(?:(:-|:\?)([^}]*))?\}`).FindStringSubmatch(ref)
		switch m[2] {
		case ":-":
			return m[3]
		case ":?":
			if m[1] == config.MasterKeyEnv {
				return keys.NewMasterKey()
			}
			return "required-" + m[1]
		}
		t.Errorf("compose variable %s without a default: the stack would get an empty value", m[1])
		return ""
	})
}

// versionLess compares dotted Go versions: 1.26 < 1.26.8.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		// A part that is not a number counts as 0.
		if i < len(pa) {
			_, _ = fmt.Sscan(pa[i], &x)
		}
		if i < len(pb) {
			_, _ = fmt.Sscan(pb[i], &y)
		}
		if x != y {
			return x < y
		}
	}
	return false
}
