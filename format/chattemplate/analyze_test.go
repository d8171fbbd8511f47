package chattemplate

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/internal/testutil/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Real chat templates of popular model families must be clean.
func TestClean(t *testing.T) {
	files, _ := filepath.Glob("testdata/clean/*.jinja")
	if len(files) < 10 {
		t.Fatalf("only %d clean templates", len(files))
	}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if issues := Analyse(string(src)); len(issues) != 0 {
			t.Errorf("%s: %+v", name, issues)
		}
	}
}

// Every malicious template is flagged; the exact issues are golden.
func TestMalicious(t *testing.T) {
	files, _ := filepath.Glob("testdata/malicious/*.jinja")
	if len(files) < 15 {
		t.Fatalf("only %d malicious templates", len(files))
	}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		issues := Analyse(string(src))
		flagged := false
		for _, is := range issues {
			if is.Kind != Syntax {
				flagged = true
			}
		}
		if !flagged {
			t.Errorf("%s: not flagged: %+v", name, issues)
		}
		got, err := json.MarshalIndent(issues, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		golden.File(t, strings.TrimSuffix(name, ".jinja")+".golden.json", append(got, '\n'), *update)
	}
}

func TestKinds(t *testing.T) {
	tests := []struct {
		src  string
		want []Kind
	}{
		{"{{ x.__class__ }}", []Kind{Dunder}},
		{"{{ x['__globals__'] }}", []Kind{Dunder}},
		{"{{ x._secret }}", []Kind{Private}},
		{"{{ f.func_globals }}", []Kind{Internals}},
		{"{{ x|attr('a') }}", []Kind{AttrFilter}},
		{"{{ x | attr ( 'a' ) }}", []Kind{AttrFilter}},
		{"{{ x|map('attr', 'y')|list }}", []Kind{AttrFilter}},
		{"{{ cycler }}", []Kind{Gadget}},
		{"{{ lipsum() }}", []Kind{Gadget}},
		{"{% set ns = namespace(a=1) %}{{ ns.a }}", nil},
		{"{{ namespace['x'] }}", []Kind{Gadget}},
		{"{{ x[('__cl' + 'ass__')] }}", []Kind{StringBuilt}},
		// ardanlabs/jinja has no loader statements: they also fail to parse.
		{"{% import 'x.j2' as x %}", []Kind{Load, Syntax}},
		{"{% extends 'base' %}", []Kind{Load, Syntax}},
		{"{{ 'a' ~ 'b' }}{{ m.content }}", nil},
		{"{{ x is defined }}", nil},
		{"{{ 'a_b' + c }}", nil},
		{"{{ tool.name|replace('-', '_') }}", nil},
		{"{{ 'call_' ~ id ~ '_' ~ n }}", nil},
		{"{{ x['_' ~ '_' ~ y] }}", []Kind{StringBuilt}},
		{"{{ x[y ~ 'ss__'] }}", []Kind{StringBuilt}},
		{"{{ x[('_','_')|join ~ y] }}", []Kind{StringBuilt}},
		{"{{ '%c%c'|format(95, 95) }}", []Kind{StringBuilt}},
		{"{{ '%c' }}", nil},
		{"{{ x ", []Kind{Syntax}},
		{"{{ 'abc }}", []Kind{Syntax}},
		{"{# open", []Kind{Syntax}},
		{"{% raw %}{{ x.__class__ }}", []Kind{Syntax}},
		{"{% if %}", []Kind{Syntax}},
		{"{{ {'a': 1}['a'] }}", nil},
		{"{{ '\\x5f\\x5fclass\\x5f\\x5f' }}", []Kind{Dunder}},
		// Underscores made without writing "__" (reviewer finds).
		{"{{ ()[('_'*2)~'class'~('_'*2)] }}", []Kind{StringBuilt, StringBuilt, StringBuilt}},
		{"{% set u = '_' %}{{ ''[u*2 ~ 'class' ~ u*2] }}", []Kind{StringBuilt, StringBuilt}},
		{"{% set a = 'a_b'[1] %}", []Kind{StringBuilt}},
		{"{% set p = 'ABC__DEF'[3:5] %}", []Kind{StringBuilt}},
		{"{{ '_a'|first }}", []Kind{StringBuilt}},
		{"{{ 'x_'.split('x') }}", []Kind{StringBuilt}},
		{"{{ '_'.join(['', '', 'class', '', '']) }}", []Kind{StringBuilt, StringBuilt}},
		{"{{ ['', x]|join('_') }}", []Kind{StringBuilt}},
		{"{{ '{0}{0}class{0}{0}'.format('_') }}", []Kind{StringBuilt, StringBuilt}},
		{"{{ '{0.mro}'.format(x) }}", []Kind{StringBuilt}},
		{"{{ '{:c}'.format(95) }}", []Kind{StringBuilt}},
		{"{% set k = dict(__class__=1)|list|first %}", []Kind{Dunder}},
		// Ordinary uses of underscores stay clean.
		{"{{ '<start_of_turn>' + role + '\\n' }}", nil},
		{"{% if 'tool_calls' in message %}{{ message['tool_call_id'] }}{% endif %}", nil},
		{"{{ name.split('_')|join(' ') }}{{ '<tool_call>'.startswith(x) }}", nil},
		{"{{ '\\n'.join(parts) }}{{ 'Today: {}'.format(d) }}", nil},
	}
	for _, tc := range tests {
		var got []Kind
		for _, is := range Analyse(tc.src) {
			got = append(got, is.Kind)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.src, diff)
		}
	}
}

func FuzzTemplate(f *testing.F) {
	for _, dir := range []string{"testdata/clean", "testdata/malicious", "testdata/symbolic"} {
		files, _ := filepath.Glob(dir + "/*.jinja")
		for _, name := range files {
			if src, err := os.ReadFile(name); err == nil {
				f.Add(string(src))
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(Analyse(src)) > MaxIssues {
			t.Fatal("issue cap exceeded")
		}
	})
}

// TestSymbolic: templates that build a dunder name by string construction
// (testdata/symbolic, each rendered by real Jinja2 to reach module globals)
// are flagged, and the symbolic evaluation names the built attribute.
func TestSymbolic(t *testing.T) {
	files, _ := filepath.Glob("testdata/symbolic/*.jinja")
	if len(files) < 10 {
		t.Fatalf("only %d templates", len(files))
	}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		named := false
		for _, is := range Analyse(string(src)) {
			named = named || is.Kind == StringBuilt && is.Subject == "__globals__"
		}
		if !named {
			t.Errorf("%s: no issue names __globals__: %+v", name, Analyse(string(src)))
		}
	}
}
