package server

import (
	"html/template"
	"net/http"
)

// The login, consent, logout and error pages: HTML and CSS of our own, no
// JavaScript. Every page forbids framing and caching and sends no referrer.

const pageCSS = `body{font-family:system-ui,sans-serif;background:#f5f3ef;color:#222;margin:0}
main{max-width:24rem;margin:4rem auto;background:#fff;border:1px solid #ddd;border-radius:8px;padding:2rem}
h1{font-size:1.3rem;margin-top:0}h1 span{color:#b22}label{display:block;margin:.8rem 0 .3rem}
input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #bbb;border-radius:4px}
button{margin-top:1.2rem;padding:.55rem 1.2rem;border:0;border-radius:4px;background:#b22;color:#fff;font-size:1rem;cursor:pointer}
button.secondary{background:#777}.error{color:#b22}ul{padding-left:1.2rem}`

var pages = template.Must(template.New("base").Parse(`{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} · inkan</title><link rel="stylesheet" href="/oauth2/static/style.css"></head><body><main>
<h1><span>印</span> {{.Title}}</h1>{{end}}
{{define "foot"}}</main></body></html>{{end}}

{{define "login"}}{{template "head" .}}
<p>Sign in to continue to <strong>{{.Client}}</strong>.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/oauth2/login">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="request" value="{{.Request}}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="{{.Email}}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>{{template "foot" .}}{{end}}

{{define "consent"}}{{template "head" .}}
<p><strong>{{.Client}}</strong> asks to access your account ({{.Email}}):</p>
<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="/oauth2/consent">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="request" value="{{.Request}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>{{template "foot" .}}{{end}}

{{define "logout"}}{{template "head" .}}
<p>{{if .Client}}<strong>{{.Client}}</strong> asks to sign you out of inkan.{{else}}Sign out of inkan?{{end}}</p>
<p>You are signed in as {{.Email}}.</p>
<form method="post" action="/oauth2/logout">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="request" value="{{.Request}}">
<button type="submit" name="decision" value="logout">Sign out</button>
<button type="submit" name="decision" value="stay" class="secondary">Stay signed in</button>
</form>{{template "foot" .}}{{end}}

{{define "message"}}{{template "head" .}}<p>{{.Message}}</p>{{template "foot" .}}{{end}}
`))

type pageData struct {
	Title, Client, Email, Error, CSRF, Request, Message string
	Scopes                                              []string
}

// pageHeaders are sent with every page.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	pageHeaders(w)
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		s.fault(r.Context(), "render page", "page", name, "err", err)
	}
}

// errorPage answers when the client or redirect URI is itself invalid, so
// that nothing may be sent back to it (RFC 6749 §4.1.2.1).
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.renderPage(w, r, status, "message", pageData{Title: "Cannot continue", Message: msg})
}

func (s *Server) handleStyle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write([]byte(pageCSS))
}
