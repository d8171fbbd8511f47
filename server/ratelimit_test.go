package server

import (
	"strconv"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(10, 2, func() time.Time { return now })
	for i, want := range []bool{true, true, false} {
		if ok, _ := l.allow("a"); ok != want {
			t.Fatalf("request %d: allowed %v, want %v", i, ok, want)
		}
	}
	if _, wait := l.allow("a"); wait != 100*time.Millisecond {
		t.Fatalf("wait %v, want 100ms", wait)
	}
	now = now.Add(100 * time.Millisecond)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("not refilled after 100ms at 10/s")
	}
	// The table is bounded: idle (full) buckets are evicted, and when none
	// is idle new callers share the overflow bucket.
	for i := range maxBuckets + 10 {
		l.allow("k" + strconv.Itoa(i))
	}
	if n := len(l.buckets); n > maxBuckets+1 {
		t.Fatalf("%d buckets, cap %d", n, maxBuckets)
	}
	now = now.Add(time.Second) // everything refills
	l.allow("fresh")
	if n := len(l.buckets); n > 2 {
		t.Fatalf("%d buckets after eviction of idle ones", n)
	}
	var nilLimiter *limiter
	if ok, _ := nilLimiter.allow("x"); !ok {
		t.Fatal("a disabled limiter refused")
	}
}
