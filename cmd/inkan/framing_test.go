package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// inkan serve, as configured for production, answers a request that
// carries both Content-Length and Transfer-Encoding (RFC 9112 §6.1) and
// closes the connection, so that the request smuggled behind it is never
// read.
func TestE2E_framing(t *testing.T) {
	p := startInkan(t, dataDir(t), nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil { // a failure, not a measure
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "POST /user HTTP/1.1\r\nHost: inkan.test\r\nContent-Type: application/json\r\n"+
		"Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"+
		"GET /healthz HTTP/1.1\r\nHost: inkan.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	if resp.StatusCode != http.StatusUnprocessableEntity || !resp.Close {
		t.Errorf("answer = %d, Connection: close %v; want 422 and close", resp.StatusCode, resp.Close)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after the answer: %q, %v; want the connection closed, the smuggled request unanswered", rest, err)
	}
}
