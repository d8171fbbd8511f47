package problem

import (
	"errors"
	"testing"
)

var (
	errBad     = errors.New("x: bad")
	errTooMany = errors.New("x: too many problems")
)

func TestError(t *testing.T) {
	for _, tt := range []struct {
		p    Problem
		want string
	}{
		{Problem{Err: errBad}, "x: bad"},
		{Problem{Err: errBad, Subject: "w"}, "x: bad (w)"},
		{Problem{Err: errBad, Detail: "3 > 2"}, "x: bad: 3 > 2"},
		{Problem{Err: errBad, Subject: "w", Detail: "3 > 2"}, "x: bad (w): 3 > 2"},
	} {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.p, got, tt.want)
		}
		if !errors.Is(tt.p, errBad) {
			t.Errorf("errors.Is(%#v, errBad) = false", tt.p)
		}
	}
}

func TestAddCaps(t *testing.T) {
	var ps []Problem
	for i := range Max + 10 {
		ps = Add(ps, errTooMany, errBad, int64(i), "s", "n=%d", i)
	}
	if len(ps) != Max+1 {
		t.Fatalf("%d problems, want %d", len(ps), Max+1)
	}
	first := Problem{Err: errBad, Offset: 0, Subject: "s", Detail: "n=0"}
	if ps[0] != first {
		t.Errorf("first = %#v, want %#v", ps[0], first)
	}
	last := Problem{Err: errTooMany, Offset: -1, Detail: "more than 1000 problems; the rest are not listed"}
	if ps[Max] != last {
		t.Errorf("last = %#v, want %#v", ps[Max], last)
	}
}
