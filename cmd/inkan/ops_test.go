package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// --metrics-addr moves /metrics off the public listener.
func TestE2E_metricsAddr(t *testing.T) {
	p := startInkan(t, dataDir(t), nil, "--metrics-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`msg="metrics serving" addr=(\S+)`).FindStringSubmatch(p.logText())
	if m == nil {
		t.Fatalf("no metrics listener in the log:\n%s", p.logText())
	}
	if code, _, _ := call(t, "GET", p.base+"/metrics", ""); code != 404 {
		t.Errorf("GET /metrics on the public listener = %d, want 404", code)
	}
	p.me(t, "x")
	body, err := httpGet("http://" + m[1] + "/metrics")
	if err != nil || !strings.Contains(string(body), `inkan_http_requests_total{method="GET",route="GET /user",status="401"} 1`) {
		t.Errorf("GET /metrics on --metrics-addr = %v\n%.500s", err, body)
	}
}

// --tls-cert and --tls-key serve HTTPS with HSTS, and the default issuer
// says https.
func TestE2E_tls(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	p := launchInkan(t, dataDir(t), nil, "--tls-cert", certFile, "--tls-key", keyFile)
	p.waitServing(t)
	base := strings.Replace(p.base, "http://", "https://", 1)
	if !strings.Contains(p.logText(), "issuer="+base) {
		t.Errorf("the default issuer is not https:\n%s", p.logText())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("GET https /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("GET /healthz over TLS = %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	if resp, err := http.Get(p.base + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS listener = %d, want 400", resp.StatusCode)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "inkan test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	mustWrite(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	mustWrite(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile, pool
}
