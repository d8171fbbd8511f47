package server

import (
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/store"
)

// TestLoginCSRF: a sign-in needs the form's CSRF token and, when the
// browser says where it comes from, this origin.
func TestLoginCSRF(t *testing.T) {
	e := newEnv(t, nil)
	c := noRedirect(e)
	tok := url.Values{"token": {e.tokens[store.RoleAdmin]}}
	csrf := loginForm(t, e, c)
	clone := func() url.Values { v := url.Values{}; v.Set("token", tok.Get("token")); return v }
	for _, tc := range []struct {
		name   string
		csrf   *http.Cookie
		form   url.Values
		header map[string]string
	}{
		{"no csrf cookie", nil, clone(), nil},
		{"wrong csrf field", csrf, url.Values{"token": tok["token"], "csrf": {strings.Repeat("x", 43)}}, nil},
		{"cross-site fetch", csrf, clone(), map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"same-site other origin", csrf, clone(), map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"foreign origin", csrf, clone(), map[string]string{"Origin": "https://evil.example"}},
		{"null origin", csrf, clone(), map[string]string{"Origin": "null"}},
	} {
		resp := postLogin(t, e, c, "/login", tc.csrf, tc.form, tc.header)
		if resp.StatusCode != http.StatusForbidden || sessionOf(resp) != nil {
			t.Errorf("%s: %d, session %v", tc.name, resp.StatusCode, sessionOf(resp))
		}
	}
	resp := postLogin(t, e, c, "/login", csrf, clone(), map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.http.URL})
	if resp.StatusCode != http.StatusSeeOther || sessionOf(resp) == nil {
		t.Fatalf("same-origin login: %d", resp.StatusCode)
	}
}

// TestSessionLifecycle: the session is server-side: sign-out (with its
// CSRF token) ends it for every copy of the cookie, and revoking the token
// ends it too.
func TestSessionLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	c := noRedirect(e)
	login := func() *http.Cookie {
		resp := postLogin(t, e, c, "/login", loginForm(t, e, c), url.Values{"token": {e.tokens[store.RoleAuditor]}}, nil)
		s := sessionOf(resp)
		if s == nil {
			t.Fatalf("login: %d", resp.StatusCode)
		}
		return s
	}
	page := func(s *http.Cookie) (int, string) {
		req, _ := http.NewRequest("GET", e.http.URL+"/coverage", nil)
		req.AddCookie(s)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	logout := func(s *http.Cookie, csrf string) int {
		req, _ := http.NewRequest("POST", e.http.URL+"/logout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(s)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	s := login()
	status, body := page(s)
	m := regexp.MustCompile(`action="/logout"><input type="hidden" name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if status != 200 || m == nil {
		t.Fatalf("page: %d, sign-out form without CSRF token", status)
	}
	if st := logout(s, "forged"); st != http.StatusForbidden {
		t.Fatalf("sign-out without the CSRF token: %d", st)
	}
	if st, _ := page(s); st != 200 {
		t.Fatalf("a refused sign-out ended the session: %d", st)
	}
	if st := logout(s, m[1]); st != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", st)
	}
	if st, _ := page(s); st != http.StatusSeeOther {
		t.Fatalf("the cookie still works after sign-out: %d", st)
	}
	s = login()
	toks, err := e.st.Tokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks {
		if tk.Role == store.RoleAuditor {
			if err := e.st.RevokeToken(t.Context(), tk.ID, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st, _ := page(s); st != http.StatusSeeOther {
		t.Fatalf("the session of a revoked token still works: %d", st)
	}
}

// TestSecureCookieBehindProxy: cookies are Secure when a trusted proxy says
// the browser used https, and only then.
func TestSecureCookieBehindProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []netip.Prefix
		secure  bool
	}{
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, true},
		{"untrusted peer", []netip.Prefix{netip.MustParsePrefix("10.9.9.9/32")}, false},
		{"no proxy configured", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.TrustedProxies = tc.proxies })
			c := noRedirect(e)
			req, _ := http.NewRequest("GET", e.http.URL+"/login", nil)
			req.Header.Set("X-Forwarded-Proto", "https")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var csrf *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == loginCSRFCookie {
					csrf = ck
				}
			}
			if csrf == nil || csrf.Secure != tc.secure {
				t.Fatalf("login CSRF cookie %+v, want Secure=%v", csrf, tc.secure)
			}
			origin := strings.Replace(e.http.URL, "http://", "https://", 1)
			if !tc.secure {
				origin = e.http.URL
			}
			r := postLogin(t, e, c, "/login", csrf, url.Values{"token": {e.tokens[store.RoleAuditor]}}, map[string]string{"X-Forwarded-Proto": "https", "Origin": origin})
			s := sessionOf(r)
			if s == nil || s.Secure != tc.secure {
				t.Fatalf("session cookie %+v (status %d), want Secure=%v", s, r.StatusCode, tc.secure)
			}
		})
	}
}
