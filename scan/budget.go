package scan

import (
	"fmt"
	"sync"
)

// Names of the decompression limits (mlsec.yaml keys).
const (
	LimitMaxInflatedBytes   = "max_inflated_bytes"
	LimitMaxInflatedMembers = "max_inflated_members"
)

// Inflater is implemented by the runner's sinks. Container detectors
// charge every compressed member they open and every byte they decompress
// — also heads inflated only to sniff a member, which never reach Nested —
// to the artifact's budget, shared by all nesting levels, so the total work
// of a nested bomb (42.zip: 16 zips of 16 zips ...) is bounded whatever its
// per-level ratios and fan-out.
type Inflater interface {
	// Inflate charges members opened and n bytes decompressed. Past
	// Limits.MaxInflatedMembers or Limits.MaxInflatedBytes it marks the
	// input not analysed (once) and returns a *NotAnalysedError wrapping
	// ErrLimit; the detector stops decompressing.
	Inflate(members int, n int64) error
}

// inflation is one artifact's decompression account.
type inflation struct {
	mu      sync.Mutex
	members int
	bytes   int64
}

var _ Inflater = (*sink)(nil)

// Inflate implements Inflater.
func (s *sink) Inflate(members int, n int64) error {
	lim := s.st.r.limits
	in := &s.st.inflation
	in.mu.Lock()
	in.members += members
	in.bytes += n
	var why, limit string
	switch {
	case in.members > lim.MaxInflatedMembers:
		why, limit = fmt.Sprintf("more than %d compressed members opened in one artifact", lim.MaxInflatedMembers), LimitMaxInflatedMembers
	case in.bytes > lim.MaxInflatedBytes:
		why, limit = fmt.Sprintf("more than %d bytes decompressed in one artifact", lim.MaxInflatedBytes), LimitMaxInflatedBytes
	}
	in.mu.Unlock()
	if why == "" {
		return nil
	}
	s.v.mark(limit, "scan stopped: "+why)
	return &NotAnalysedError{Limit: limit, Reason: why, Err: ErrLimit}
}

// InflateBudget returns sink's Inflater, or one that never refuses when
// the sink does not keep an account (tests' sinks).
func InflateBudget(sink Sink) Inflater {
	if in, ok := sink.(Inflater); ok {
		return in
	}
	return noBudget{}
}

type noBudget struct{}

func (noBudget) Inflate(int, int64) error { return nil }
