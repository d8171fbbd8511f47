// Package secret finds credentials in text: provider token shapes
// anchored on their prefixes with an entropy floor (so documentation
// placeholders do not count), credential-named assignments and passwords
// in URLs. It is a small vetted set of our own (see
// docs/detectors/llmconfig.md for why no library); the llmconfig and agent
// detectors share it.
package secret

import (
	"math"
	"regexp"
	"strings"
)

// Match is one secret found in a string.
type Match struct {
	// What names the pattern ("OpenAI API key", ...).
	What string
	// Text is the matched text (redact it before showing it).
	Text string
	// Off is the byte offset in the searched string.
	Off int
}

// secretPattern is one credential shape: a prefix-anchored regular
// expression and the minimum Shannon entropy (bits per character) of the
// match, so documentation placeholders (sk-xxxxxxxx..., AKIAEXAMPLE...) do
// not count.
type pattern struct {
	what    string
	re      *regexp.Regexp
	entropy float64
}

// Finder finds secrets. Build it once with New; it is safe for concurrent
// use.
type Finder struct {
	patterns    []pattern
	assign      *regexp.Regexp
	secretKey   *regexp.Regexp
	userCred    *regexp.Regexp
	placeholder *regexp.Regexp
}

// New compiles the patterns.
func New() *Finder {
	p := func(what, re string, entropy float64) pattern {
		return pattern{what, regexp.MustCompile(re), entropy}
	}
	return &Finder{
		patterns: []pattern{
			p("Anthropic API key", `\bsk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{40,}`, 4.0),
			p("OpenAI API key", `\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}`, 4.0),
			p("Hugging Face token", `\bhf_[A-Za-z]{34}\b`, 3.8),
			p("AWS access key id", `\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b`, 3.2),
			p("GitHub token", `\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})\b`, 4.0),
			p("Google API key", `\bAIza[0-9A-Za-z_-]{35}\b`, 4.0),
			p("Slack token", `\bxox[abpors]-[0-9A-Za-z-]{20,}`, 3.5),
			p("GitLab token", `\bglpat-[A-Za-z0-9_-]{20,}`, 3.5),
			p("Stripe live key", `\b[sr]k_live_[0-9A-Za-z]{24,}\b`, 4.0),
			p("private key", `-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----`, 0),
			p("JSON Web Token", `\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}`, 4.0),
		},
		// key = value with a credential-like key name (text documents).
		assign: regexp.MustCompile(`(?i)\b(api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|password|passwd|secret)\b["']?\s*[:=]\s*["']?([A-Za-z0-9+/_\-.!@#$%^&*]{12,128})`),
		// key names of JSON/YAML values that hold credentials.
		secretKey:   regexp.MustCompile(`(?i)^(?:.*[_-])?(api[_-]?key|apikey|secret|secret[_-]?key|client[_-]?secret|password|passwd|access[_-]?token|auth[_-]?token|bearer[_-]?token|token)$`),
		userCred:    regexp.MustCompile(`\b[a-z][a-z0-9+.-]{1,15}://[^/\s:@"'<>]{1,64}:([^/\s@"'<>]{6,128})@[A-Za-z0-9.-]+`),
		placeholder: regexp.MustCompile(`(?i)^(?:x+|\*+|\.+|0+|1234.*|.*(?:example|changeme|placeholder|your[_-]|redacted|dummy|sample|xxxx|\{\{|\$\{|<).*)$`),
	}
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// MaxMatches caps the matches one search returns.
const MaxMatches = 32

// Find finds credentials in s (at most MaxMatches).
func (m *Finder) Find(s string) []Match {
	var out []Match
	for _, p := range m.patterns {
		for _, loc := range p.re.FindAllStringIndex(s, MaxMatches) {
			t := s[loc[0]:loc[1]]
			if p.entropy > 0 && (entropy(t) < p.entropy || m.placeholder.MatchString(t)) {
				continue
			}
			if p.what == "OpenAI API key" && strings.HasPrefix(t, "sk-ant-") {
				continue
			}
			out = append(out, Match{p.what, t, loc[0]})
		}
	}
	for _, sm := range m.assign.FindAllStringSubmatchIndex(s, MaxMatches) {
		v := s[sm[4]:sm[5]]
		if m.Value(v) && !Covered(out, sm[4]) {
			out = append(out, Match{"credential assigned to " + strings.ToLower(s[sm[2]:sm[3]]), v, sm[4]})
		}
	}
	for _, sm := range m.userCred.FindAllStringSubmatchIndex(s, MaxMatches) {
		v := s[sm[2]:sm[3]]
		if !m.placeholder.MatchString(v) && !strings.HasPrefix(v, "$") {
			out = append(out, Match{"password in a URL", v, sm[2]})
		}
	}
	return out[:min(len(out), MaxMatches)]
}

// Key reports whether a JSON/YAML key names a credential.
func (m *Finder) Key(k string) bool {
	if len(k) > 64 {
		return false
	}
	return m.secretKey.MatchString(k)
}

// Value reports whether v, the value of a credential key, looks like a
// real secret: long enough, mixed, high entropy and not a placeholder or a
// reference to an environment variable.
func (m *Finder) Value(v string) bool {
	if len(v) < 12 || len(v) > 512 || strings.ContainsAny(v, " \t\n") || m.placeholder.MatchString(v) {
		return false
	}
	var letters, digits bool
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letters = true
		}
	}
	return letters && digits && entropy(v) >= 3.5
}

// Covered reports whether off lies inside one of the matches.
func Covered(ms []Match, off int) bool {
	for _, m := range ms {
		if off >= m.Off && off < m.Off+len(m.Text) {
			return true
		}
	}
	return false
}
