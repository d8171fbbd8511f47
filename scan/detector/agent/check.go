package agent

import (
	"github.com/mlsecops/mlsec/scan/internal/secret"

	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	fagent "github.com/mlsecops/mlsec/format/agent"
	"github.com/mlsecops/mlsec/scan/detector/rag"
)

// Issue is one finding in a manifest.
type Issue struct {
	// Rule is the rule id (AGENT-00N).
	Rule string
	// Path is the JSON pointer of the tool, server or string concerned.
	Path string
	// Detail says what was found.
	Detail string
}

// maxPerRule caps the issues reported per rule per manifest.
const maxPerRule = 32

// maxExcerpt caps the characters quoted from a manifest.
const maxExcerpt = 100

// Checker holds the compiled patterns. It is safe for concurrent use.
type Checker struct {
	rag *rag.Analyser

	reBlock      *regexp.Regexp
	reSensitive  *regexp.Regexp
	reSensOrder  *regexp.Regexp
	reConceal    *regexp.Regexp
	reOtherTools *regexp.Regexp
	reTrigger    *regexp.Regexp
	reModify     *regexp.Regexp
	reSentence   *regexp.Regexp
	reShellDesc  *regexp.Regexp
	reHomeDir    *regexp.Regexp
	reSecretName *regexp.Regexp
	tokens       *secret.Finder
	rePlacehold  *regexp.Regexp
	reAuthHeader *regexp.Regexp
	reSecretFlag *regexp.Regexp
	reNetKey     *regexp.Regexp
	// sensitive and triggers are literals (lower case) every match of
	// reSensitive and reTrigger contains: screens before the regexps.
	sensitive, triggers []string
}

// NewChecker compiles the patterns (and the rag detector's matchers, which
// the text checks reuse).
func NewChecker() *Checker {
	return &Checker{
		rag: rag.NewAnalyser(),
		sensitive: []string{".ssh", "id_", ".aws", "gcloud", ".azure", ".kube", ".docker", ".netrc", ".npmrc", ".pypirc",
			".git-credentials", ".gnupg", "/etc/", "mcp.json", "claude_desktop", ".cursor", "wallet", "keychain", "keystore"},
		triggers:     []string{"when", "each time", "every time", "any time", "before", "after", "if", "while"},
		reBlock:      regexp.MustCompile(`(?i)<\s*(?:important|system|instructions?|secret|hidden|critical|admin|sys|system[_ ]prompt)\s*>`),
		reSensitive:  regexp.MustCompile(`(?i)(?:~|\$HOME|%USERPROFILE%|/home/\w+|/Users/\w+)?/?\.ssh/(?:id_\w+|authorized_keys|known_hosts|config)?|\bid_(?:rsa|ed25519|ecdsa|dsa)\b|\.aws/credentials|\.aws/config|\.config/gcloud|\.azure/|\.kube/config|\.docker/config\.json|\.netrc\b|\.npmrc\b|\.pypirc\b|\.git-credentials|\.gnupg\b|/etc/(?:passwd|shadow|sudoers)\b|\bmcp\.json\b|claude_desktop_config\.json|\.cursor/|\b(?:wallet\.dat|keychain|keystore)\b`),
		reSensOrder:  regexp.MustCompile(`(?i)\b(?:pass|send|include|provide|put|insert|attach|append|copy|embed|upload|forward)\b[^.\n]{0,80}\b(?:as|in|into|to|within|inside)\b|\b(?:before|prior to)\s+(?:using|calling|invoking|running)\b|\byou\s+(?:must|need to|have to|should|will need to)\s+(?:first\s+)?(?:read|cat|open|load|send|pass|include|provide|get)\b|\b(?:otherwise|or else)\b[^.\n]{0,60}\b(?:not work|fail|crash|error)|\bfirst\s+(?:read|cat|open|load)\b`),
		reConceal:    regexp.MustCompile(`(?i)\b(?:do not|don't|never|must not|should not)\s+(?:mention|reveal|tell|disclose|show|inform|notify|alert|explain)\s+(?:(?:any(?:thing)?\s+(?:of|about)\s+)?(?:this|that|these|it)\b|the\s+(?:\w+\s+)?(?:steps?|instructions?|requests?|behaviou?r|notes?|sidenote|file|reading|calls?))[^.\n]{0,60}?\b(?:to|with|from)\s+the\s+(?:user|human)\b|\bhide\s+(?:this|it|these|that)(?:\s+\w+)?\s+from\s+the\s+(?:user|human)\b|\bwithout\s+(?:the\s+)?(?:user|human)(?:'s)?\s+(?:knowing|knowledge|noticing|seeing|consent)\b|\bthe\s+(?:user|human)\s+(?:must|should|will)\s+not\s+(?:see|know|notice|find out)\b`),
		reOtherTools: regexp.MustCompile(`(?i)\b(?:any|all|every|each)\s+other\s+(?:tools?|functions?)\b|\b(?:all|every|any)\s+(?:tools|tool calls|functions)\b|\bother\s+(?:tools|functions|servers)\b|\banother\s+(?:tool|function)\b`),
		reTrigger:    regexp.MustCompile(`(?i)\b(?:when(?:ever)?|each time|every time|any time|before|after|if|while)\b`),
		reModify:     regexp.MustCompile(`(?i)\b(?:(?:must|always|should|shall|need to|has to|have to)\s+(?:also\s+|first\s+|silently\s+|secretly\s+)?(?:send|add|include|set|change|replace|redirect|forward|bcc|cc|copy|attach|append|prepend|call\s+this\s+tool)\b|overrid\w*|redirect\w*|(?:replac|chang|modif)\w*\s+(?:the|its|any|all|every)\s+(?:recipients?|address\w*|urls?|paths?|parameters?|arguments?|values?|behaviou?r|destination|email)|(?:also|secretly|silently|quietly)\s+(?:send|forward|copy|bcc|cc|call)\b|ignore\s+(?:the|its|any|all)\s+\w+)`),
		reSentence:   regexp.MustCompile(`[.!?](?:\s|$)|\n`),
		reShellDesc:  regexp.MustCompile(`(?i)\b(?:execut\w*|runs?|running)\s+(?:an?\s+|any\s+|arbitrary\s+)?(?:shell|bash|terminal|system|os|command[- ]line|powershell)\s+commands?\b|\barbitrary\s+(?:code|commands?|shell\s+commands?|programs?)\b|\bexecut\w*\s+(?:arbitrary\s+|any\s+)?(?:python|javascript|node\.?js|shell)\s+(?:code|scripts?)\b`),
		reHomeDir:    regexp.MustCompile(`^(?:/(?:home|Users)/[^/]+/?|[A-Za-z]:[\\/]Users[\\/][^\\/]+[\\/]?)$`),
		reSecretName: regexp.MustCompile(`(?i)(?:token|secret|passw(?:or)?d|passwd|api[-_]?key|apikey|access[-_]?key|private[-_]?key|credentials?|auth(?:orization)?$|client[-_]?secret)`),
		tokens:       secret.New(),
		rePlacehold:  regexp.MustCompile(`(?i)^(?:<[^>]*>|\[[^\]]*\]|\{[^}]*\}|your[-_ ].*|.*[-_ ](?:here|placeholder)|x{3,}|\*{3,}|\.{3,}|changeme|change[-_ ]me|replace[-_ ]?me|todo|example|dummy|none|null|true|false|secret|password|token|api[-_ ]?key)$|YOUR_|your-|\$\{|^\$[A-Za-z_]|^%[A-Za-z_]+%$`),
		reAuthHeader: regexp.MustCompile(`(?i)^(?:bearer|basic|token)\s+(\S{8,})$`),
		reSecretFlag: regexp.MustCompile(`(?i)^--?(?:api[-_]?key|token|access[-_]?token|auth[-_]?token|secret|client[-_]?secret|password|passwd)$`),
		reNetKey:     regexp.MustCompile(`(?i)(?:host|origin|domain|cors|allow|network|cidr|net\b|url)`),
	}
}

type report struct {
	issues []Issue
	count  map[string]int
	seen   map[string]bool
	err    error // the first analysis error (a limit of the rag matchers)
}

func (r *report) add(rule, path, detail string) {
	if r.count == nil {
		r.count, r.seen = map[string]int{}, map[string]bool{}
	}
	key := rule + "\x00" + path + "\x00" + detail
	if r.seen[key] {
		return
	}
	r.seen[key] = true
	r.count[rule]++
	if r.count[rule] <= maxPerRule {
		r.issues = append(r.issues, Issue{Rule: rule, Path: path, Detail: detail})
	}
}

// CheckDocument parses a manifest and checks it; parse errors wrap the
// format/agent sentinels (limits) and no issues are returned with them;
// see Check for the other errors.
func (c *Checker) CheckDocument(data []byte) ([]Issue, error) {
	doc, err := fagent.Parse(data)
	if err != nil {
		return nil, err
	}
	return c.Check(doc)
}

// Check checks a parsed manifest. The error wraps rag.ErrHTMLDepth when a
// string holds hidden HTML nested too deep to analyse; the issues found
// are returned with it.
func (c *Checker) Check(doc *fagent.Doc) ([]Issue, error) {
	var r report
	if doc.Type == fagent.TypeNone {
		return nil, nil
	}
	c.strings(&r, doc)
	names := make(map[string]bool, len(doc.Tools))
	for _, t := range doc.Tools {
		names[t.Name] = true
	}
	for _, t := range doc.Tools {
		c.toolName(&r, t)
		c.crossTool(&r, t, names)
		c.shell(&r, t)
	}
	for _, s := range doc.Servers {
		c.server(&r, s)
	}
	if doc.Card != nil {
		local := len(doc.Card.URLs) > 0
		for _, u := range doc.Card.URLs {
			c.plainHTTP(&r, "/url", "agent card endpoint", u)
			if !loopbackURL(u) {
				local = false
			}
		}
		if !doc.Card.Auth && !local {
			r.add(RuleNoAuth, "", fmt.Sprintf("agent card %q declares no securitySchemes, security requirements or authentication schemes", excerpt(doc.Card.Name)))
		}
	}
	sort.SliceStable(r.issues, func(i, j int) bool { return r.issues[i].Rule < r.issues[j].Rule })
	return r.issues, r.err
}

// ragRule maps the rag detector's rules onto this detector's.
func ragRule(rule string) string {
	switch rule {
	case rag.RuleTags, rag.RuleZeroWidth, rag.RuleBidi:
		return RuleSmuggling
	}
	return RulePoisoning
}

// strings checks every string of the document with the rag matchers
// (hidden text, instruction-shaped text, chat-role tokens, coercion,
// exfiltration links, Unicode smuggling) and the tool-poisoning patterns.
func (c *Checker) strings(r *report, doc *fagent.Doc) {
	fagent.Walk(doc.Root, func(p, s string, isKey bool) {
		if len(s) < 8 && !hasNonASCII(s) {
			return
		}
		issues, err := c.rag.Analyse([]byte(s))
		if err != nil && r.err == nil {
			r.err = err // hidden HTML too deep: the string was not fully analysed
		}
		for _, is := range issues {
			rule := ragRule(is.Rule)
			if isKey && rule != RuleSmuggling {
				continue
			}
			r.add(rule, p, is.Detail)
		}
		if isKey {
			return
		}
		// Literal screens keep the regular expressions off most strings.
		lower := strings.ToLower(s)
		if strings.Contains(s, "<") {
			if m := c.reBlock.FindStringIndex(s); m != nil {
				r.add(RulePoisoning, p, fmt.Sprintf("instruction block for the model: %q", around(s, m)))
			}
		}
		if strings.Contains(lower, "user") || strings.Contains(lower, "human") {
			if m := c.reConceal.FindStringIndex(s); m != nil {
				r.add(RulePoisoning, p, fmt.Sprintf("tells the model to keep something from the user: %q", around(s, m)))
			}
		}
		if !containsAny(lower, c.sensitive) {
			return
		}
		if m := c.reSensitive.FindStringIndex(s); m != nil && c.reSensOrder.MatchString(s) {
			r.add(RulePoisoning, p, fmt.Sprintf("asks the model to read private files (%s): %q", s[m[0]:m[1]], around(s, m)))
		}
	})
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// toolName reports invisible characters in a tool name: look-alike
// names let one tool pass for another.
func (c *Checker) toolName(r *report, t fagent.Tool) {
	for _, ch := range t.Name {
		if unicode.Is(unicode.Cf, ch) || (ch >= 0xE0000 && ch <= 0xE007F) || unicode.Is(unicode.Zs, ch) && ch != ' ' {
			r.add(RuleSmuggling, t.Path+"/name", fmt.Sprintf("tool name %q holds the invisible character U+%04X", t.Name, ch))
			return
		}
	}
}

// crossTool reports sentences of a tool's texts that name another tool of
// the list (or "other tools") together with a trigger and an order that
// changes what that tool does.
func (c *Checker) crossTool(r *report, t fagent.Tool, names map[string]bool) {
	var texts []string
	fagent.Walk(t.Value, func(_, s string, isKey bool) {
		if !isKey && len(s) >= 16 && strings.ContainsRune(s, ' ') {
			texts = append(texts, s)
		}
	})
	for _, text := range texts {
		for _, sent := range splitSentences(c.reSentence, text) {
			if !containsAny(strings.ToLower(sent), c.triggers) || !c.reTrigger.MatchString(sent) || !c.reModify.MatchString(sent) {
				continue
			}
			other := c.reOtherTools.FindString(sent)
			if other == "" {
				other = namedTool(sent, t.Name, names)
			}
			if other != "" {
				r.add(RuleCrossTool, t.Path, fmt.Sprintf("tool %q tells the model how to use %s: %q", t.Name, other, excerpt(sent)))
				break
			}
		}
	}
}

func splitSentences(re *regexp.Regexp, s string) []string {
	var out []string
	last := 0
	for _, m := range re.FindAllStringIndex(s, -1) {
		out = append(out, s[last:m[1]])
		last = m[1]
	}
	return append(out, s[last:])
}

// toolish reports a tool name that cannot be an ordinary word: it has a
// separator, a digit or an inner capital.
func toolish(n string) bool {
	return strings.ContainsAny(n, "_-.0123456789") || strings.ToLower(n[1:]) != n[1:]
}

// namedTool returns the first other tool the sentence names: a tool of
// names — toolish names as words, plain words only as "the NAME tool",
// `NAME` or NAME( — or a toolish name of another server marked that way.
// Words are looked up in names, so the cost is linear in the sentence.
func namedTool(sent, self string, names map[string]bool) string {
	for i := 0; i < len(sent); {
		if !isWord(sent[i]) {
			i++
			continue
		}
		j := i
		for j < len(sent) && (isWord(sent[j]) || sent[j] == '.' && j+1 < len(sent) && isWord(sent[j+1])) {
			j++
		}
		n := sent[i:j]
		s, e := i, j
		i = j
		if n == self || len(n) < 3 {
			continue
		}
		rest := strings.ToLower(sent[e:])
		marked := (s > 0 && sent[s-1] == '`') || strings.HasPrefix(rest, "(") ||
			strings.HasPrefix(rest, " tool") || strings.HasPrefix(rest, " function")
		switch {
		case names[n] && (toolish(n) || marked):
			return "tool " + n
		case !names[n] && toolish(n) && marked:
			// A tool of another server ("the send_email tool"): shadowing
			// reaches across the servers of one client.
			return "tool " + n + " (not in this list)"
		}
	}
	return ""
}

func isWord(b byte) bool {
	return b == '_' || b == '-' || ('0' <= b && b <= '9') || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z')
}

// nameParts splits a tool name into lower-case words (snake, kebab,
// dotted and camel case).
func nameParts(name string) []string {
	var parts []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			parts = append(parts, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prevLower := false
	for _, ch := range name {
		switch {
		case ch == '_' || ch == '-' || ch == '.' || ch == ' ' || ch == '/' || ch == ':':
			flush()
			prevLower = false
			continue
		case unicode.IsUpper(ch) && prevLower:
			flush()
		}
		cur = append(cur, ch)
		prevLower = unicode.IsLower(ch) || unicode.IsDigit(ch)
	}
	flush()
	return parts
}

// shell reports tools that run shell commands or arbitrary code.
func (c *Checker) shell(r *report, t fagent.Tool) {
	parts := nameParts(t.Name)
	has := func(ws ...string) bool {
		for _, p := range parts {
			for _, w := range ws {
				if p == w {
					return true
				}
			}
		}
		return false
	}
	why := ""
	switch {
	case has("shell", "bash", "zsh", "sh", "powershell", "pwsh", "terminal", "cmd", "subprocess"):
		why = "its name is a shell tool"
	case has("exec", "execute", "run", "eval", "spawn", "system") && has("command", "commands", "code", "script", "python", "process", "js", "javascript"):
		why = "its name says it executes commands or code"
	case len(parts) == 1 && has("exec", "execute", "eval"):
		why = "its name says it executes commands"
	}
	if why == "" {
		if m := c.reShellDesc.FindStringIndex(t.Description); m != nil {
			why = fmt.Sprintf("its description says so: %q", around(t.Description, m))
		}
	}
	if why != "" {
		r.add(RuleShell, t.Path, fmt.Sprintf("tool %q runs shell commands or code: %s", t.Name, why))
	}
}

// server checks one configured server, server.json package or remote.
func (c *Checker) server(r *report, s fagent.Server) {
	c.fsRoot(r, s)
	c.network(r, s)
	c.unpinned(r, s)
	c.secrets(r, s)
	if s.URL != "" {
		c.plainHTTP(r, s.Path, fmt.Sprintf("server %q", s.Name), s.URL)
	}
}

// flagValue splits "--flag=value" into flag and value; a plain argument is
// its own value.
func flagValue(a string) (flag, value string) {
	if strings.HasPrefix(a, "-") {
		if i := strings.IndexByte(a, '='); i > 0 {
			return a[:i], a[i+1:]
		}
		return a, ""
	}
	return "", a
}

// isRootPath reports a filesystem root, a home directory or the parent of
// all home directories.
func (c *Checker) isRootPath(v string) bool {
	v = strings.Trim(v, `"'`)
	switch v {
	case "/", "~", "~/", "$HOME", "${HOME}", "$HOME/", "${HOME}/", "%USERPROFILE%", `%USERPROFILE%\`, `C:\`, "C:/", "C:", "/home", "/home/", "/Users", "/Users/", "/root", "/root/", "${env:HOME}", "${userHome}", "${env:USERPROFILE}":
		return true
	}
	return c.reHomeDir.MatchString(v)
}

func (c *Checker) fsRoot(r *report, s fagent.Server) {
	for i, a := range s.Args {
		_, v := flagValue(a)
		why := ""
		switch {
		case v == "":
		case c.isRootPath(v):
			why = fmt.Sprintf("argument %q", a)
		case strings.Contains(v, ":") && c.isRootPath(strings.SplitN(v, ":", 2)[0]) && i > 0 && isMountFlag(s.Args[i-1], a):
			why = fmt.Sprintf("mount %q", a)
		case strings.Contains(v, "source="):
			for _, kv := range strings.Split(v, ",") {
				if src, ok := strings.CutPrefix(kv, "source="); ok && c.isRootPath(src) {
					why = fmt.Sprintf("mount %q", a)
				}
			}
		}
		if why != "" {
			r.add(RuleFSRoot, s.Path, fmt.Sprintf("server %q gets the whole filesystem or home directory: %s", s.Name, why))
		}
	}
}

func isMountFlag(prev, a string) bool {
	f, _ := flagValue(a)
	switch {
	case prev == "-v" || prev == "--volume" || prev == "--mount":
		return true
	case f == "--volume" || f == "-v" || f == "--mount":
		return true
	}
	return false
}

func wildcard(v string) bool {
	v = strings.Trim(v, `"'`)
	return v == "*" || v == "0.0.0.0/0" || v == "::/0" || v == "*.*" || v == "https://*" || v == "http://*"
}

func base(cmd string) string {
	b := path.Base(strings.ReplaceAll(cmd, `\`, "/"))
	for _, ext := range []string{".exe", ".cmd", ".bat"} {
		b = strings.TrimSuffix(b, ext)
	}
	return strings.ToLower(b)
}

func (c *Checker) network(r *report, s fagent.Server) {
	cmd := base(s.Command)
	report := func(what string) {
		r.add(RuleNetwork, s.Path, fmt.Sprintf("server %q may reach any host: %s", s.Name, what))
	}
	for i, a := range s.Args {
		f, v := flagValue(a)
		switch {
		case cmd == "deno" && (a == "--allow-net" || a == "--allow-all" || a == "-A"):
			report(fmt.Sprintf("deno %s without a host list", a))
		case (cmd == "docker" || cmd == "podman") && (a == "--network=host" || a == "--net=host" || ((a == "--network" || a == "--net") && i+1 < len(s.Args) && s.Args[i+1] == "host")):
			report("container on the host network")
		case f != "" && wildcard(v) && c.reNetKey.MatchString(f):
			report(fmt.Sprintf("argument %q", a))
		case f == "" && wildcard(v) && i > 0 && strings.HasPrefix(s.Args[i-1], "-") && c.reNetKey.MatchString(s.Args[i-1]):
			report(fmt.Sprintf("argument %q %q", s.Args[i-1], a))
		}
	}
	for _, k := range sortedKeys(s.Env) {
		if wildcard(s.Env[k]) && c.reNetKey.MatchString(k) {
			report(fmt.Sprintf("environment %s=%s", k, s.Env[k]))
		}
	}
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// npmPinned reports whether an npm package spec names an exact version
// (a local path or tarball URL counts as pinned: no registry lookup).
func npmPinned(spec string) (bool, string) {
	if strings.HasPrefix(spec, ".") || strings.HasPrefix(spec, "/") || strings.HasPrefix(spec, "file:") {
		return true, ""
	}
	ver := ""
	if at := strings.LastIndexByte(spec, '@'); at > 0 {
		ver = spec[at+1:]
	}
	return exactVersion(ver), ver
}

// exactVersion reports whether v is an exact version, not a tag or range.
func exactVersion(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" || strings.EqualFold(v, "latest") || strings.EqualFold(v, "next") || v == "*" {
		return false
	}
	if strings.ContainsAny(v, "^~<>*| ") || strings.Contains(v, ".x") || strings.HasSuffix(v, "x") {
		return false
	}
	return v[0] >= '0' && v[0] <= '9' || v[0] == 'v' && len(v) > 1 && v[1] >= '0' && v[1] <= '9'
}

// firstPositional returns the first argument that is not a flag, skipping
// the values of flags listed in valued; from names a flag whose value is
// the package ("-p", "--package", "--from").
func firstPositional(args []string, valued map[string]bool, from map[string]bool) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			f, v := flagValue(a)
			if from[f] {
				if v != "" {
					return v, true
				}
				if i+1 < len(args) {
					return args[i+1], true
				}
			}
			if v == "" && valued[f] {
				i++
			}
			continue
		}
		return a, true
	}
	return "", false
}

func (c *Checker) unpinned(r *report, s fagent.Server) {
	report := func(what string) {
		r.add(RuleUnpinned, s.Path, fmt.Sprintf("server %q is not pinned: %s", s.Name, what))
	}
	if s.Registry != "" { // server.json package
		if !exactVersion(s.Version) && !strings.Contains(s.Package, "@sha256:") {
			v := s.Version
			if v == "" {
				v = "no version"
			}
			report(fmt.Sprintf("%s package %s with %s", s.Registry, s.Package, v))
		}
		return
	}
	cmd, args := base(s.Command), s.Args
	if (cmd == "pnpm" || cmd == "yarn") && len(args) > 0 && args[0] == "dlx" {
		cmd, args = "npx", args[1:]
	}
	if (cmd == "pipx" || cmd == "uv") && len(args) > 0 && (args[0] == "run" || args[0] == "tool") {
		if cmd == "uv" && len(args) > 1 && args[1] == "run" {
			args = args[1:]
		}
		cmd, args = "uvx", args[1:]
	}
	switch cmd {
	case "npx", "bunx":
		spec, ok := firstPositional(args, map[string]bool{"--registry": true, "--cache": true, "--userconfig": true}, map[string]bool{"-p": true, "--package": true})
		if !ok {
			return
		}
		if pinned, ver := npmPinned(spec); !pinned {
			y := ""
			for _, a := range args {
				if a == "-y" || a == "--yes" {
					y = " -y"
				}
			}
			if ver == "" {
				report(fmt.Sprintf("%s%s %s without a version", cmd, y, spec))
			} else {
				report(fmt.Sprintf("%s%s %s (version %q is a tag or range)", cmd, y, spec, ver))
			}
		}
	case "uvx":
		spec, ok := firstPositional(args, map[string]bool{"--python": true, "--with": true, "--index-url": true, "--index": true, "-p": true}, map[string]bool{"--from": true})
		if !ok {
			return
		}
		if i := strings.Index(spec, "=="); i > 0 && exactVersion(spec[i+2:]) {
			return
		}
		if i := strings.LastIndexByte(spec, '@'); i > 0 && exactVersion(spec[i+1:]) {
			return
		}
		if strings.HasPrefix(spec, ".") || strings.HasPrefix(spec, "/") || strings.HasPrefix(spec, "git+") && strings.Contains(spec, "@") {
			return
		}
		report(fmt.Sprintf("uvx %s without an exact version", spec))
	case "docker", "podman":
		if len(args) == 0 || args[0] != "run" {
			return
		}
		image, ok := firstPositional(args[1:], map[string]bool{"-e": true, "--env": true, "-v": true, "--volume": true, "--mount": true, "--name": true,
			"-p": true, "--publish": true, "--network": true, "--net": true, "-w": true, "--workdir": true, "-u": true, "--user": true,
			"--env-file": true, "--entrypoint": true, "-l": true, "--label": true, "--platform": true, "--pull": true, "-h": true, "--hostname": true,
			"--add-host": true, "--cap-add": true, "--cap-drop": true, "--device": true, "--memory": true, "-m": true, "--cpus": true}, nil)
		if !ok || strings.Contains(image, "@sha256:") {
			return
		}
		last := image[strings.LastIndexByte(image, '/')+1:]
		if i := strings.IndexByte(last, ':'); i < 0 || last[i+1:] == "latest" {
			report(fmt.Sprintf("image %s without a fixed tag or digest", image))
		}
	}
}

// token returns the first provider token (scan/internal/secret's shapes:
// GitHub, OpenAI, Anthropic, Hugging Face, AWS, Google, Slack, Stripe,
// GitLab …) in v, or "".
func (c *Checker) token(v string) string {
	if ms := c.tokens.Find(v); len(ms) > 0 {
		return ms[0].Text
	}
	return ""
}

// literalSecret reports whether v is a literal credential value, not a
// reference (${VAR}, ${input:id}, $VAR, %VAR%), a placeholder or a path.
func (c *Checker) literalSecret(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) < 8 || c.rePlacehold.MatchString(v) {
		return false
	}
	if strings.HasPrefix(v, "/") || strings.HasPrefix(v, "~") || strings.HasPrefix(v, "./") || strings.Contains(v, "://") {
		return false
	}
	return true
}

// mask shows the first characters of a secret and its length.
func mask(v string) string {
	n := min(4, len(v))
	return fmt.Sprintf("%s… (%d characters)", v[:n], len(v))
}

func (c *Checker) secrets(r *report, s fagent.Server) {
	report := func(where, v string) {
		r.add(RuleSecret, s.Path, fmt.Sprintf("server %q has a literal secret in %s: %s", s.Name, where, mask(v)))
	}
	for _, k := range sortedKeys(s.Env) {
		v := s.Env[k]
		up := strings.ToUpper(k)
		ref := false // a name that says the value is not the secret itself
		for _, suf := range []string{"_FILE", "_PATH", "_DIR", "_URL", "_ENDPOINT", "_NAME", "_ID", "_ARN", "_REGION", "_TYPE", "_HEADER", "_MODE", "_LENGTH", "_VERSION", "_SCOPE", "_SCOPES"} {
			ref = ref || strings.HasSuffix(up, suf)
		}
		switch {
		case c.token(v) != "":
			report("environment variable "+k, c.token(v))
		case !ref && c.reSecretName.MatchString(k) && c.literalSecret(v):
			report("environment variable "+k, v)
		}
	}
	for _, k := range sortedKeys(s.SecretEnv) {
		if _, dup := s.Env[k]; !dup && c.literalSecret(s.SecretEnv[k]) {
			report("secret environment variable "+k, s.SecretEnv[k])
		}
	}
	for _, k := range sortedKeys(s.Headers) {
		v := s.Headers[k]
		switch {
		case c.token(v) != "":
			report("header "+k, c.token(v))
		case c.reAuthHeader.MatchString(v) && c.literalSecret(c.reAuthHeader.FindStringSubmatch(v)[1]):
			report("header "+k, c.reAuthHeader.FindStringSubmatch(v)[1])
		case c.reSecretName.MatchString(k) && !strings.EqualFold(k, "authorization") && c.literalSecret(v):
			report("header "+k, v)
		}
	}
	for i, a := range s.Args {
		f, v := flagValue(a)
		switch {
		case c.token(a) != "":
			report("argument", c.token(a))
		case c.reSecretFlag.MatchString(f) && v != "" && c.literalSecret(v):
			report("argument "+f, v)
		case c.reSecretFlag.MatchString(a) && i+1 < len(s.Args) && c.literalSecret(s.Args[i+1]):
			report("argument "+a, s.Args[i+1])
		}
	}
	if t := c.token(s.URL); t != "" {
		report("URL", t)
	}
}

// loopbackURL reports a URL on the local machine.
func loopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	if h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "0.0.0.0" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (c *Checker) plainHTTP(r *report, p, what, raw string) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !strings.EqualFold(u.Scheme, "http") || loopbackURL(raw) || u.Host == "" {
		return
	}
	r.add(RulePlainHTTP, p, fmt.Sprintf("%s is reached over plain HTTP: %s", what, excerpt(raw)))
}

// excerpt folds white space and caps the length.
func excerpt(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxExcerpt {
		s = string([]rune(s)[:maxExcerpt]) + "…"
	}
	return s
}

// around quotes a match with some context.
func around(s string, m []int) string {
	a, e := max(0, m[0]-30), min(len(s), m[1]+50)
	for a > 0 && !utf8.RuneStart(s[a]) {
		a--
	}
	for e < len(s) && !utf8.RuneStart(s[e]) {
		e++
	}
	return excerpt(s[a:e])
}
