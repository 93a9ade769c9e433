package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestSignup(t *testing.T) {
	h := newHarness(t)
	const ct = "application/json"
	valid := `{"name":"Alice","email":"alice@example.com","password":"correct horse"}`
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantGolden  string   // compare the body with testdata/<golden>.golden
		wantLocs    []string // for 422: the fields reported, in order
	}{
		{name: "created", contentType: ct, body: `{"name":"  Bob  ","email":"  Bob@Example.COM ","password":"pw-8char"}`, wantStatus: 201},
		{name: "extra fields ignored", contentType: "application/json; charset=utf-8", body: `{"name":"Carol","email":"carol@example.com","password":"pw-8char","admin":true}`, wantStatus: 201},
		{name: "duplicate email", contentType: ct, body: `{"name":"Bob again","email":"bob@example.com","password":"pw-8char"}`, wantStatus: 409, wantGolden: "signup_409"},
		{name: "all missing", contentType: ct, body: `{}`, wantStatus: 422, wantGolden: "signup_422_missing", wantLocs: []string{"name", "email", "password"}},
		{name: "wrong types", contentType: ct, body: `{"name":1,"email":null,"password":["x"]}`, wantStatus: 422, wantLocs: []string{"name", "email", "password"}},
		{name: "empty name", contentType: ct, body: `{"name":"   ","email":"d@example.com","password":"pw-8char"}`, wantStatus: 422, wantLocs: []string{"name"}},
		{name: "long name", contentType: ct, body: `{"name":"` + strings.Repeat("é", 65) + `","email":"d@example.com","password":"pw-8char"}`, wantStatus: 422, wantLocs: []string{"name"}},
		{name: "64 char name", contentType: ct, body: `{"name":"` + strings.Repeat("é", 64) + `","email":"n64@example.com","password":"pw-8char"}`, wantStatus: 201},
		{name: "control in name", contentType: ct, body: `{"name":"a\u0007b","email":"d@example.com","password":"pw-8char"}`, wantStatus: 422, wantLocs: []string{"name"}},
		{name: "bad email", contentType: ct, body: `{"name":"D","email":"not-an-email","password":"pw-8char"}`, wantStatus: 422, wantLocs: []string{"email"}},
		{name: "display name email", contentType: ct, body: `{"name":"D","email":"D <d@example.com>","password":"pw-8char"}`, wantStatus: 422, wantLocs: []string{"email"}},
		{name: "undotted domain", contentType: ct, body: `{"name":"D","email":"d@localhost","password":"pw-8char"}`, wantStatus: 422, wantLocs: []string{"email"}},
		{name: "long email", contentType: ct, body: `{"name":"D","email":"` + strings.Repeat("a", 60) + "@" + strings.Repeat("b", 200) + `.com","password":"pw-8char"}`, wantStatus: 422, wantLocs: []string{"email"}},
		{name: "7 byte password", contentType: ct, body: `{"name":"D","email":"d@example.com","password":"1234567"}`, wantStatus: 422, wantLocs: []string{"password"}},
		{name: "1025 byte password", contentType: ct, body: `{"name":"D","email":"d@example.com","password":"` + strings.Repeat("p", 1025) + `"}`, wantStatus: 422, wantLocs: []string{"password"}},
		{name: "common password", contentType: ct, body: `{"name":"D","email":"d@example.com","password":"password123"}`, wantStatus: 422, wantLocs: []string{"password"}},
		{name: "common password any case", contentType: ct, body: `{"name":"D","email":"d@example.com","password":"QwertyUIOP"}`, wantStatus: 422, wantLocs: []string{"password"}},
		{name: "1024 byte password", contentType: ct, body: `{"name":"E","email":"e@example.com","password":"` + strings.Repeat("p", 1024) + `"}`, wantStatus: 201},
		{name: "not an object", contentType: ct, body: `["a"]`, wantStatus: 422, wantLocs: []string{""}},
		{name: "null body", contentType: ct, body: `null`, wantStatus: 422, wantLocs: []string{""}},
		{name: "malformed json", contentType: ct, body: `{"name":`, wantStatus: 400, wantGolden: "signup_400"},
		{name: "trailing data", contentType: ct, body: valid + `{}`, wantStatus: 400},
		{name: "empty body", contentType: ct, body: ``, wantStatus: 400},
		{name: "too large", contentType: ct, body: `{"name":"` + strings.Repeat("x", 65<<10) + `"}`, wantStatus: 413, wantGolden: "signup_413"},
		{name: "text/plain", contentType: "text/plain", body: valid, wantStatus: 415, wantGolden: "signup_415"},
		{name: "no content type", contentType: "", body: valid, wantStatus: 415},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: "name=a", wantStatus: 415},
		{name: "latin1 json", contentType: "application/json; charset=latin1", body: valid, wantStatus: 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.contentType != "" {
				hdr = []string{"Content-Type", tc.contentType}
			}
			rec := h.do(t, "POST", "/user", tc.body, hdr...)
			if rec.Code != tc.wantStatus {
				t.Fatalf("POST /user = %d %s, want %d", rec.Code, rec.Body, tc.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			for _, secret := range []string{"pw-8char", "correct horse", "$argon2id"} {
				if strings.Contains(rec.Body.String(), secret) {
					t.Errorf("body %s contains %q", rec.Body, secret)
				}
			}
			if tc.wantGolden != "" {
				golden(t, tc.wantGolden, rec.Body.Bytes())
			}
			body := decode(t, rec)
			switch tc.wantStatus {
			case 201:
				for _, k := range []string{"id", "name", "email", "created_at"} {
					if _, ok := body[k]; !ok {
						t.Errorf("201 body %v lacks %q", body, k)
					}
				}
				if len(body) != 4 {
					t.Errorf("201 body has %d members, want 4: %v", len(body), body)
				}
			case 422:
				var got struct {
					Detail []fieldError `json:"detail"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				var locs []string
				for _, d := range got.Detail {
					if len(d.Loc) == 0 || d.Loc[0] != "body" || d.Msg == "" || d.Type == "" {
						t.Errorf("422 item %+v is not FastAPI-shaped", d)
					}
					locs = append(locs, strings.Join(d.Loc[1:], "."))
				}
				if strings.Join(locs, ",") != strings.Join(tc.wantLocs, ",") {
					t.Errorf("422 locs = %q, want %q", locs, tc.wantLocs)
				}
			default:
				if _, ok := body["detail"].(string); !ok {
					t.Errorf("%d body %s has no string detail", rec.Code, rec.Body)
				}
			}
		})
	}
	t.Run("normalised", func(t *testing.T) {
		rec := h.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("BOB@example.com", "pw-8char"))
		if rec.Code != 200 {
			t.Errorf("login as the normalised email = %d, want 200", rec.Code)
		}
		u, err := h.store.GetUserByEmail(t.Context(), "bob@example.com")
		if err != nil || u.Name != "Bob" {
			t.Errorf("stored user = %+v, %v; want name Bob, email bob@example.com", u, err)
		}
	})
}

func TestSignup_disabled(t *testing.T) {
	h := newHarness(t, withSignup(false))
	rec := h.do(t, "POST", "/user", `{"name":"A","email":"a@example.com","password":"pw-8char"}`, "Content-Type", "application/json")
	if rec.Code != http.StatusForbidden {
		t.Fatalf("POST /user with signup off = %d, want 403", rec.Code)
	}
	golden(t, "signup_403", rec.Body.Bytes())
}

func TestSignup_parallelSameEmail(t *testing.T) {
	h := newHarness(t)
	const n = 50
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			codes <- h.do(t, "POST", "/user", `{"name":"A","email":"same@example.com","password":"pw-8char"}`, "Content-Type", "application/json").Code
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[201] != 1 || count[409] != n-1 {
		t.Errorf("%d parallel registrations gave %v, want one 201 and %d 409", n, count, n-1)
	}
}
