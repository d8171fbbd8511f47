package server

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/store"
)

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/artifacts":              "/artifacts",
		"/artifacts?state=x":      "/artifacts?state=x",
		"":                        "",
		"https://evil.example/":   "",
		"//evil.example/":         "",
		"/\\evil.example":         "",
		"javascript:alert(1)":     "",
		"artifacts":               "",
		"/hubscans/1?next=//evil": "/hubscans/1?next=//evil",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// noRedirect is a client that reports redirects instead of following them.
func noRedirect(e *env) *http.Client {
	c := *e.http.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// TestDashboardAuth: pages need a session; the cookie works for pages but
// never for the API; login refuses bad tokens.
func TestDashboardAuth(t *testing.T) {
	e := newEnv(t, nil)
	c := noRedirect(e)
	resp, err := c.Get(e.http.URL + "/coverage")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fcoverage" {
		t.Fatalf("unauthenticated page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	csrf := loginForm(t, e, c)
	resp = postLogin(t, e, c, "/login?next=https://evil.example/", csrf, url.Values{"token": {"nope"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || sessionOf(resp) != nil {
		t.Fatalf("bad token login: %d cookies %v", resp.StatusCode, resp.Cookies())
	}
	resp = postLogin(t, e, c, "/login?next=https://evil.example/", csrf, url.Values{"token": {e.tokens[store.RoleAuditor]}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q (an off-site next must be ignored)", resp.StatusCode, resp.Header.Get("Location"))
	}
	session := sessionOf(resp)
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v", session)
	}
	if session.Value == e.tokens[store.RoleAuditor] || strings.HasPrefix(session.Value, "mlsec_") {
		t.Fatalf("the session cookie carries the API token")
	}
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", e.http.URL+path, nil)
		req.AddCookie(session)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/coverage")
	if resp.StatusCode != 200 || !strings.Contains(body, "Framework coverage") {
		t.Fatalf("page with cookie: %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	if resp, _ := get("/api/v1/whoami"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API with only the session cookie: %d, want 401", resp.StatusCode)
	}
	if resp, body := get("/static/htmx.min.js"); resp.StatusCode != 200 || !strings.Contains(body, "htmx") {
		t.Fatalf("vendored htmx: %d", resp.StatusCode)
	}
	if resp, body := get("/artifacts/sha256:nothex"); resp.StatusCode != 400 || !strings.Contains(body, "error-message") {
		t.Fatalf("bad digest page: %d", resp.StatusCode)
	}
}

// TestPagesEscape: hostile artifact names and reasons reach the pages and
// the SVG only escaped.
func TestPagesEscape(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	d, up := fakeDigest('7'), fakeDigest('8')
	evil := `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	if _, _, err := e.st.PutArtifact(ctx, store.Artifact{Digest: d, Name: evil, Kind: evil}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.PutArtifact(ctx, store.Artifact{Digest: up, Name: evil}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.AddEdge(ctx, store.Edge{From: d, To: up, Relation: evil}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.RecordDecision(ctx, store.Decision{Artifact: d, Stage: "ci", Policy: evil, Result: store.ResultFail, Reasons: []string{evil}, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/artifacts/" + string(d), "/?artifact=" + string(d), "/artifacts"} {
		req, _ := http.NewRequest("GET", e.http.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens[store.RoleAuditor])
		resp, err := e.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if strings.Contains(string(b), "<script>alert") || strings.Contains(string(b), "<img src=x") {
			t.Errorf("%s renders the name unescaped", path)
		}
		if !strings.Contains(string(b), "&lt;script&gt;alert(1)") {
			t.Errorf("%s does not show the escaped name", path)
		}
	}
}

// loginForm GETs the sign-in form and returns its CSRF token (the client's
// cookie jar, if any, keeps the cookie; postLogin sends it explicitly).
func loginForm(t *testing.T, e *env, c *http.Client) *http.Cookie {
	t.Helper()
	resp, err := c.Get(e.http.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ck *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == loginCSRFCookie {
			ck = x
		}
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
	if ck == nil || m == nil || string(m[1]) != ck.Value {
		t.Fatalf("login form without a matching CSRF token: cookie %v, form %q", ck, m)
	}
	return ck
}

// postLogin posts the sign-in form with the CSRF cookie (nil: none) and
// the form values (csrf filled from the cookie unless set) plus headers.
func postLogin(t *testing.T, e *env, c *http.Client, path string, csrf *http.Cookie, form url.Values, header map[string]string) *http.Response {
	t.Helper()
	if csrf != nil && form.Get("csrf") == "" {
		form.Set("csrf", csrf.Value)
	}
	req, _ := http.NewRequest("POST", e.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if csrf != nil {
		req.AddCookie(csrf)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func sessionOf(resp *http.Response) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if ck.Name == SessionCookie && ck.Value != "" {
			return ck
		}
	}
	return nil
}
