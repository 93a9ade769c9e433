package server

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// jwksDoc is the JWKS as served: the key set's pre-rendered document and its
// entity tag, computed once per document rather than once per request.
type jwksDoc struct {
	body []byte
	etag []string // the ETag header's value, quoted
}

// jwksCache holds the jwksDoc of the key set's current document.
type jwksCache struct {
	doc          atomic.Pointer[jwksDoc]
	cacheControl []string // Cache-Control, from JWKSMaxAge
}

var (
	headerJSON    = []string{"application/json"}
	headerAnyOrig = []string{"*"}
)

func newJWKSCache(maxAge time.Duration) *jwksCache {
	return &jwksCache{cacheControl: []string{fmt.Sprintf("public, max-age=%d", int(maxAge/time.Second))}}
}

// get returns the doc of body, the key set's document now. The key set hands
// out the same slice until its keys change, so identity tells a new one.
func (c *jwksCache) get(body []byte) *jwksDoc {
	if d := c.doc.Load(); d != nil && len(d.body) == len(body) && (len(body) == 0 || &d.body[0] == &body[0]) {
		return d
	}
	sum := sha256.Sum256(body)
	d := &jwksDoc{body: body, etag: []string{`"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}}
	c.doc.Store(d)
	return d
}

// handleJWKS serves the pre-rendered public key set (RFC 7517 §5), with an
// ETag so that a cache revalidating it gets 304 Not Modified while the keys
// are unchanged (RFC 9110 §13.1.2).
func (k *wellKnown) handleJWKS(w http.ResponseWriter, r *http.Request) {
	d := k.jwks.get(k.keys.JWKS())
	h := w.Header()
	h["Cache-Control"] = k.jwks.cacheControl
	h["Etag"] = d.etag
	h["Access-Control-Allow-Origin"] = headerAnyOrig
	if inm := r.Header["If-None-Match"]; len(inm) > 0 && etagMatch(inm, d.etag[0]) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = headerJSON
	w.Write(d.body)
}

// etagMatch reports whether an If-None-Match field (RFC 9110 §13.1.2) names
// etag: "*", or a list of entity tags compared weakly (W/ ignored).
func etagMatch(fields []string, etag string) bool {
	for _, f := range fields {
		for tag := range strings.SplitSeq(f, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
				return true
			}
		}
	}
	return false
}
