package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditEntry is one entry of the append-only audit log. Entries form a hash
// chain: Hash = sha256(PrevHash bytes || CanonicalAudit(entry)), with
// PrevHash of the first entry all zeros. Changing, inserting or deleting any
// row breaks the chain at that row.
type AuditEntry struct {
	// Seq numbers entries 1, 2, 3, ... without gaps.
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	// Actor is who acted: "token:NAME#ID" for an API token (TokenActor),
	// "cli:alice", "worker".
	Actor string `json:"actor"`
	// Action is a dotted verb, e.g. "artifact.create", "decision.record",
	// "state.override", "evidence.add", "token.create".
	Action string `json:"action"`
	// Subject is what was acted on: a digest, "token:7", "hubscan:3".
	Subject string `json:"subject"`
	// Detail carries small key/value facts about the action.
	Detail   map[string]string `json:"detail,omitempty"`
	PrevHash string            `json:"prev_hash"` // hex
	Hash     string            `json:"hash"`      // hex
}

// genesis is the PrevHash of the first audit entry: 32 zero bytes.
var genesis [sha256.Size]byte

// GenesisHash returns the hex PrevHash of the first audit entry.
func GenesisHash() string { return hex.EncodeToString(genesis[:]) }

// AuditTime normalises a timestamp to what both databases store exactly:
// UTC, microsecond precision. Implementations stamp entries with it so the
// hash computed before the insert matches the row read back.
func AuditTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// CanonicalAudit returns the bytes an entry's hash covers: the JSON object
// {"seq","time","actor","action","subject","detail"} with the time in
// RFC 3339 UTC with microseconds and detail keys sorted (encoding/json sorts
// map keys), no insignificant whitespace.
func CanonicalAudit(e AuditEntry) []byte {
	detail := e.Detail
	if detail == nil {
		detail = map[string]string{}
	}
	b, err := json.Marshal(struct {
		Seq     int64             `json:"seq"`
		Time    string            `json:"time"`
		Actor   string            `json:"actor"`
		Action  string            `json:"action"`
		Subject string            `json:"subject"`
		Detail  map[string]string `json:"detail"`
	}{e.Seq, AuditTime(e.Time).Format("2006-01-02T15:04:05.000000Z"), e.Actor, e.Action, e.Subject, detail})
	if err != nil {
		panic("store: marshal audit entry: " + err.Error()) // strings and ints only: cannot fail
	}
	return b
}

// AuditHash returns the hex hash of e chained to the hex hash prev.
func AuditHash(prev string, e AuditEntry) (string, error) {
	p, err := hex.DecodeString(prev)
	if err != nil || len(p) != sha256.Size {
		return "", fmt.Errorf("%w: previous hash %q is not 32 hex bytes", ErrInvalid, prev)
	}
	h := sha256.New()
	h.Write(p)
	h.Write(CanonicalAudit(e))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SealAudit fills e.Seq, e.PrevHash and e.Hash so that e follows the entry
// (prevSeq, prevHash); prevSeq 0 with prevHash "" starts the chain.
func SealAudit(e *AuditEntry, prevSeq int64, prevHash string) error {
	if prevHash == "" {
		prevHash = GenesisHash()
	}
	e.Seq = prevSeq + 1
	e.Time = AuditTime(e.Time)
	e.PrevHash = prevHash
	h, err := AuditHash(prevHash, *e)
	if err != nil {
		return err
	}
	e.Hash = h
	return nil
}

// AuditError locates the first audit entry that fails verification. It
// matches ErrAuditTampered with errors.Is.
type AuditError struct {
	// Seq is the sequence number where the chain breaks (for a missing
	// entry, the number that was expected).
	Seq    int64
	Reason string
}

func (e *AuditError) Error() string {
	return fmt.Sprintf("store: audit log tampered at entry %d: %s", e.Seq, e.Reason)
}

// Is makes errors.Is(err, ErrAuditTampered) true.
func (e *AuditError) Is(target error) bool { return target == ErrAuditTampered }

// ChainVerifier checks audit entries one at a time, in Seq order, so
// implementations can stream the log. The zero value expects entry 1.
type ChainVerifier struct {
	seq  int64
	hash string
}

// Next checks e against the entries seen so far.
func (v *ChainVerifier) Next(e AuditEntry) error {
	want := v.seq + 1
	prev := v.hash
	if prev == "" {
		prev = GenesisHash()
	}
	switch {
	case e.Seq < want:
		return &AuditError{Seq: e.Seq, Reason: "duplicate or out-of-order sequence number"}
	case e.Seq > want:
		return &AuditError{Seq: want, Reason: fmt.Sprintf("entries %d..%d missing", want, e.Seq-1)}
	case e.PrevHash != prev:
		return &AuditError{Seq: e.Seq, Reason: "prev_hash does not match the previous entry's hash"}
	}
	h, err := AuditHash(prev, e)
	if err != nil {
		return &AuditError{Seq: e.Seq, Reason: err.Error()}
	}
	if !bytes.Equal([]byte(h), []byte(e.Hash)) {
		return &AuditError{Seq: e.Seq, Reason: "hash does not match the entry's content"}
	}
	v.seq, v.hash = e.Seq, e.Hash
	return nil
}

// End checks the chain's end against the head the store recorded with the
// last append (headSeq, headHash), which detects a truncated tail, and
// returns the number of entries checked.
func (v *ChainVerifier) End(headSeq int64, headHash string) (int64, error) {
	if headSeq != v.seq {
		return v.seq, &AuditError{Seq: v.seq + 1, Reason: fmt.Sprintf("log ends at entry %d but the recorded head is entry %d", v.seq, headSeq)}
	}
	if headSeq > 0 && headHash != v.hash {
		return v.seq, &AuditError{Seq: v.seq, Reason: "last entry's hash differs from the recorded head"}
	}
	return v.seq, nil
}

// TokenActor names token t as an audit actor: "token:NAME#ID". Token names
// are unique and never reused, and the id pins the record even so.
func TokenActor(t Token) string {
	return "token:" + t.Name + "#" + strconv.FormatInt(t.ID, 10)
}

// ParseTokenActor splits an actor written by TokenActor into the token's
// name and id; actors of older records ("token:NAME") give id 0. ok is
// false for actors that are not tokens.
func ParseTokenActor(actor string) (name string, id int64, ok bool) {
	rest, ok := strings.CutPrefix(actor, "token:")
	if !ok || rest == "" {
		return "", 0, false
	}
	if i := strings.LastIndexByte(rest, '#'); i > 0 {
		if n, err := strconv.ParseInt(rest[i+1:], 10, 64); err == nil && n > 0 {
			return rest[:i], n, true
		}
	}
	return rest, 0, true
}

// ValidTokenName reports whether name may name a token: 1 to 100
// characters from letters, digits and ". _ - @ :", starting with a letter
// or digit (no spaces, no control characters, no "#").
func ValidTokenName(name string) bool {
	if name == "" || len(name) > 100 {
		return false
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && strings.ContainsRune("._-@:", c):
		default:
			return false
		}
	}
	return true
}
