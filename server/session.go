package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// SessionCookie carries the dashboard's session: a server-side session id
// (store.CreateSession), never an API token. It is HttpOnly,
// SameSite=Strict and Secure whenever the request came over TLS (directly
// or through a trusted proxy), and is never accepted by API routes, which
// read only the Authorization header (so the API needs no CSRF defence).
const SessionCookie = "mlsec_session"

// loginCSRFCookie carries the login form's CSRF token (double submit: the
// form's hidden field must match it).
const loginCSRFCookie = "mlsec_login_csrf"

// DefaultSessionTTL is how long a dashboard sign-in lasts.
const DefaultSessionTTL = 2 * time.Hour

// randomToken returns 32 random bytes, base64url.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// sessionCSRF is the CSRF token of a session's forms (sign-out): derived
// from the session id, which scripts cannot read (HttpOnly), so another
// site cannot know it.
func sessionCSRF(session string) string {
	if session == "" {
		return ""
	}
	h := sha256.Sum256([]byte("mlsec-csrf\x00" + session))
	return hex.EncodeToString(h[:])
}

func equalSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// fromTrustedProxy reports whether the request's peer is one of the
// configured TLS-terminating proxies (serve --trusted-proxy).
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if len(s.cfg.TrustedProxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// secure reports whether the browser reached the server over TLS: a TLS
// connection, or X-Forwarded-Proto: https from a trusted proxy.
func (s *Server) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.fromTrustedProxy(r) && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// checkSameOrigin refuses a state-changing form post another site made the
// browser send: Sec-Fetch-Site other than same-origin, or an Origin that
// is not this server's. Requests with neither header (non-browser
// clients) rely on the CSRF token alone.
func (s *Server) checkSameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return errors.New("cross-site request refused")
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	scheme := "http"
	if s.secure(r) {
		scheme = "https"
	}
	host := r.Host
	if s.fromTrustedProxy(r) {
		if h := r.Header.Get("X-Forwarded-Host"); h != "" {
			host = h
		}
	}
	if !strings.EqualFold(origin, scheme+"://"+host) {
		return errors.New("cross-origin request refused")
	}
	return nil
}

// sessionCookie builds the session cookie (value "" deletes it).
func (s *Server) sessionCookie(r *http.Request, name, value, path string, ttl time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(ttl.Seconds())
	}
	return c
}

// loginCSRF returns the login form's CSRF token, setting its cookie when
// the browser has none.
func (s *Server) loginCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCSRFCookie); err == nil && len(c.Value) >= 40 && len(c.Value) <= 64 {
		return c.Value
	}
	tok, err := randomToken()
	if err != nil {
		return ""
	}
	http.SetCookie(w, s.sessionCookie(r, loginCSRFCookie, tok, "/login", time.Hour))
	return tok
}
