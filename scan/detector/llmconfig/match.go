package llmconfig

import (
	"math"
	"math/big"
	"regexp"
	"strings"
)

// Match is one secret or PII marker found in a string.
type Match struct {
	// What names the pattern ("OpenAI API key", "email address", ...).
	What string
	// Text is the matched text (secrets are redacted by Redact before they
	// are shown).
	Text string
	// Off is the byte offset in the searched string.
	Off int
}

// secretPattern is one credential shape: a prefix-anchored regular
// expression and the minimum Shannon entropy (bits per character) of the
// match, so documentation placeholders (sk-xxxxxxxx..., AKIAEXAMPLE...) do
// not count.
type secretPattern struct {
	what    string
	re      *regexp.Regexp
	entropy float64
}

// Matcher finds secrets and PII markers. Build it once with NewMatcher; it
// is safe for concurrent use.
type Matcher struct {
	secrets    []secretPattern
	assign     *regexp.Regexp
	secretKey  *regexp.Regexp
	email      *regexp.Regexp
	phone      *regexp.Regexp
	ssn        *regexp.Regexp
	iban       *regexp.Regexp
	card       *regexp.Regexp
	userCred   *regexp.Regexp
	nonDigit   *regexp.Regexp
	nonAlnum   *regexp.Regexp
	placeholde *regexp.Regexp
}

// NewMatcher compiles the patterns.
func NewMatcher() *Matcher {
	p := func(what, re string, entropy float64) secretPattern {
		return secretPattern{what, regexp.MustCompile(re), entropy}
	}
	return &Matcher{
		secrets: []secretPattern{
			p("Anthropic API key", `\bsk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{40,}`, 4.0),
			p("OpenAI API key", `\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}`, 4.0),
			p("Hugging Face token", `\bhf_[A-Za-z]{34}\b`, 3.8),
			p("AWS access key id", `\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b`, 3.2),
			p("GitHub token", `\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})\b`, 4.0),
			p("Google API key", `\bAIza[0-9A-Za-z_-]{35}\b`, 4.0),
			p("Slack token", `\bxox[abpors]-[0-9A-Za-z-]{20,}`, 3.5),
			p("Stripe live key", `\b[sr]k_live_[0-9A-Za-z]{24,}\b`, 4.0),
			p("private key", `-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----`, 0),
			p("JSON Web Token", `\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}`, 4.0),
		},
		// key = value with a credential-like key name (text documents).
		assign: regexp.MustCompile(`(?i)\b(api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|password|passwd|secret)\b["']?\s*[:=]\s*["']?([A-Za-z0-9+/_\-.!@#$%^&*]{12,128})`),
		// key names of JSON/YAML values that hold credentials.
		secretKey:  regexp.MustCompile(`(?i)^(?:.*[_-])?(api[_-]?key|apikey|secret|secret[_-]?key|client[_-]?secret|password|passwd|access[_-]?token|auth[_-]?token|bearer[_-]?token|token)$`),
		userCred:   regexp.MustCompile(`\b[a-z][a-z0-9+.-]{1,15}://[^/\s:@"'<>]{1,64}:([^/\s@"'<>]{6,128})@[A-Za-z0-9.-]+`),
		email:      regexp.MustCompile(`\b[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b`),
		phone:      regexp.MustCompile(`(?:\+[1-9][0-9]{0,2}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{2,4}(?:[ .-]?[0-9]{2,4}){2,4}|\(\d{3}\) ?\d{3}-\d{4})\b`),
		ssn:        regexp.MustCompile(`\b(\d{3})-(\d{2})-(\d{4})\b`),
		iban:       regexp.MustCompile(`\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b`),
		card:       regexp.MustCompile(`\b[0-9](?:[ -]?[0-9]){12,18}\b`),
		nonDigit:   regexp.MustCompile(`[^0-9]`),
		nonAlnum:   regexp.MustCompile(`[^A-Z0-9]`),
		placeholde: regexp.MustCompile(`(?i)^(?:x+|\*+|\.+|0+|1234.*|.*(?:example|changeme|placeholder|your[_-]|redacted|dummy|sample|xxxx|\{\{|\$\{|<).*)$`),
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

// maxMatches caps the matches one search returns.
const maxMatches = 32

// Secrets finds credentials in s.
func (m *Matcher) Secrets(s string) []Match {
	var out []Match
	for _, p := range m.secrets {
		for _, loc := range p.re.FindAllStringIndex(s, maxMatches) {
			t := s[loc[0]:loc[1]]
			if p.entropy > 0 && (entropy(t) < p.entropy || m.placeholde.MatchString(t)) {
				continue
			}
			if p.what == "OpenAI API key" && strings.HasPrefix(t, "sk-ant-") {
				continue
			}
			out = append(out, Match{p.what, t, loc[0]})
		}
	}
	for _, sm := range m.assign.FindAllStringSubmatchIndex(s, maxMatches) {
		v := s[sm[4]:sm[5]]
		if m.secretValue(v) && !covered(out, sm[4]) {
			out = append(out, Match{"credential assigned to " + strings.ToLower(s[sm[2]:sm[3]]), v, sm[4]})
		}
	}
	for _, sm := range m.userCred.FindAllStringSubmatchIndex(s, maxMatches) {
		v := s[sm[2]:sm[3]]
		if !m.placeholde.MatchString(v) && !strings.HasPrefix(v, "$") {
			out = append(out, Match{"password in a URL", v, sm[2]})
		}
	}
	return out[:min(len(out), maxMatches)]
}

// SecretKey reports whether a JSON/YAML key names a credential.
func (m *Matcher) SecretKey(k string) bool {
	if len(k) > 64 {
		return false
	}
	return m.secretKey.MatchString(k)
}

// SecretValue reports whether v, the value of a credential key, looks like
// a real secret: long enough, mixed, high entropy and not a placeholder or
// a reference to an environment variable.
func (m *Matcher) SecretValue(v string) bool { return m.secretValue(v) }

func (m *Matcher) secretValue(v string) bool {
	if len(v) < 12 || len(v) > 512 || strings.ContainsAny(v, " \t\n") || m.placeholde.MatchString(v) {
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

func covered(ms []Match, off int) bool {
	for _, m := range ms {
		if off >= m.Off && off < m.Off+len(m.Text) {
			return true
		}
	}
	return false
}

// roleMailbox: local parts of shared mailboxes, which are not personal
// data.
var roleMailbox = map[string]bool{
	"support": true, "help": true, "info": true, "contact": true, "noreply": true, "no-reply": true,
	"admin": true, "sales": true, "privacy": true, "security": true, "team": true, "hello": true,
	"abuse": true, "postmaster": true, "webmaster": true, "legal": true, "billing": true, "press": true,
}

// reservedDomain: example and test domains (RFC 2606, RFC 6761).
func reservedDomain(d string) bool {
	d = strings.ToLower(d)
	for _, s := range []string{"example.com", "example.org", "example.net", ".example", ".test", ".invalid", ".localhost", ".local"} {
		if d == strings.TrimPrefix(s, ".") || strings.HasSuffix(d, s) || strings.HasSuffix(d, "."+s) {
			return true
		}
	}
	return false
}

// PII finds personal data markers in s: email addresses of persons,
// phone numbers, US social security numbers, IBANs (ISO 13616 check
// digits) and payment card numbers (Luhn).
func (m *Matcher) PII(s string) []Match {
	var out []Match
	add := func(what string, loc []int) {
		if len(out) < maxMatches {
			out = append(out, Match{what, s[loc[0]:loc[1]], loc[0]})
		}
	}
	for _, loc := range m.email.FindAllStringIndex(s, maxMatches) {
		e := s[loc[0]:loc[1]]
		at := strings.LastIndexByte(e, '@')
		if roleMailbox[strings.ToLower(e[:at])] || reservedDomain(e[at+1:]) {
			continue
		}
		add("email address", loc)
	}
	for _, loc := range m.ssn.FindAllStringSubmatchIndex(s, maxMatches) {
		a, g, n := s[loc[2]:loc[3]], s[loc[4]:loc[5]], s[loc[6]:loc[7]]
		if a == "000" || a == "666" || a[0] == '9' || g == "00" || n == "0000" {
			continue
		}
		add("US social security number", loc[:2])
	}
	for _, loc := range m.iban.FindAllStringIndex(s, maxMatches) {
		if validIBAN(m.nonAlnum.ReplaceAllString(s[loc[0]:loc[1]], "")) {
			add("IBAN", loc)
		}
	}
	for _, loc := range m.card.FindAllStringIndex(s, maxMatches) {
		d := m.nonDigit.ReplaceAllString(s[loc[0]:loc[1]], "")
		if validCard(d) {
			add("payment card number", loc)
		}
	}
	for _, loc := range m.phone.FindAllStringIndex(s, maxMatches) {
		d := m.nonDigit.ReplaceAllString(s[loc[0]:loc[1]], "")
		if len(d) < 10 || len(d) > 15 || covered(out, loc[0]) {
			continue
		}
		add("phone number", loc)
	}
	return out
}

// validIBAN checks length and the mod-97 check digits.
func validIBAN(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	r := s[4:] + s[:4]
	var b strings.Builder
	for _, c := range r {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			b.WriteString(big.NewInt(int64(c - 'A' + 10)).String())
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(b.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// validCard checks an issuer prefix and the Luhn digit.
func validCard(d string) bool {
	if len(d) < 13 || len(d) > 19 || strings.Count(d, d[:1]) == len(d) {
		return false
	}
	switch {
	case d[0] == '4',
		d[0] == '5' && d[1] >= '1' && d[1] <= '5',
		d[0] == '2' && d[1] >= '2' && d[1] <= '7',
		d[0] == '3' && (d[1] == '4' || d[1] == '7'),
		strings.HasPrefix(d, "6011"), strings.HasPrefix(d, "65"):
	default:
		return false
	}
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// Redact keeps the first four and last two characters of a secret.
func Redact(s string) string {
	if len(s) <= 10 {
		return strings.Repeat("*", len(s))
	}
	return s[:4] + strings.Repeat("*", min(len(s)-6, 12)) + s[len(s)-2:]
}
