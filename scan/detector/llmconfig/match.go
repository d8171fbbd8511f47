package llmconfig

import (
	"math/big"
	"regexp"
	"strings"

	"github.com/mlsecops/mlsec/scan/internal/secret"
)

// maxMatches caps the matches one search returns.
const maxMatches = secret.MaxMatches

// Match is one secret or PII marker found in a string.
type Match = secret.Match

// Secrets finds credentials in s.
func (m *Matcher) Secrets(s string) []Match { return m.Find(s) }

// SecretKey reports whether a JSON/YAML key names a credential.
func (m *Matcher) SecretKey(k string) bool { return m.Key(k) }

// SecretValue reports whether v, the value of a credential key, looks like
// a real secret.
func (m *Matcher) SecretValue(v string) bool { return m.Value(v) }

// Matcher finds secrets and PII markers. Build it once with NewMatcher; it
// is safe for concurrent use.
type Matcher struct {
	*secret.Finder
	email    *regexp.Regexp
	phone    *regexp.Regexp
	ssn      *regexp.Regexp
	iban     *regexp.Regexp
	card     *regexp.Regexp
	nonDigit *regexp.Regexp
	nonAlnum *regexp.Regexp
}

// NewMatcher compiles the patterns.
func NewMatcher() *Matcher {
	return &Matcher{
		Finder:   secret.New(),
		email:    regexp.MustCompile(`\b[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b`),
		phone:    regexp.MustCompile(`(?:\+[1-9][0-9]{0,2}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{2,4}(?:[ .-]?[0-9]{2,4}){2,4}|\(\d{3}\) ?\d{3}-\d{4})\b`),
		ssn:      regexp.MustCompile(`\b(\d{3})-(\d{2})-(\d{4})\b`),
		iban:     regexp.MustCompile(`\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b`),
		card:     regexp.MustCompile(`\b[0-9](?:[ -]?[0-9]){12,18}\b`),
		nonDigit: regexp.MustCompile(`[^0-9]`),
		nonAlnum: regexp.MustCompile(`[^A-Z0-9]`),
	}
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
			out = append(out, Match{What: what, Text: s[loc[0]:loc[1]], Off: loc[0]})
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
		if len(d) < 10 || len(d) > 15 || secret.Covered(out, loc[0]) {
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
