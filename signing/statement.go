package signing

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits applied when reading a statement from a bundle.
const (
	maxPayloadSize = 256 << 20 // bytes of DSSE payload
	maxResources   = 10_000_000
	maxIgnorePaths = 100_000
)

// StatementOptions tune how a statement is rendered.
type StatementOptions struct {
	// FloatShardSize writes shard_size as a Python float ("8.0"), as some
	// reference versions and its golden files do. By default it is an
	// integer.
	FloatShardSize bool
}

// MarshalStatement renders the manifest as the in-toto v1 Statement the
// reference signs, byte for byte as Python protobuf's MessageToJson writes
// it: two-space indentation, ASCII-only strings, fixed key order.
func MarshalStatement(m *Manifest, opts StatementOptions) []byte {
	var b bytes.Buffer
	root := sha256.New()
	for _, it := range m.Items {
		root.Write(it.Digest)
	}
	b.WriteString("{\n  \"_type\": ")
	pyString(&b, StatementType)
	b.WriteString(",\n  \"subject\": [\n    {\n      \"name\": ")
	pyString(&b, m.ModelName)
	b.WriteString(",\n      \"digest\": {\n        \"sha256\": ")
	pyString(&b, hex.EncodeToString(root.Sum(nil)))
	b.WriteString("\n      }\n    }\n  ],\n  \"predicateType\": ")
	pyString(&b, PredicateType)
	b.WriteString(",\n  \"predicate\": {\n    \"serialization\": {\n      \"method\": ")
	s := m.Serialization
	pyString(&b, string(s.Method))
	b.WriteString(",\n      \"hash_type\": ")
	pyString(&b, string(s.Hash))
	b.WriteString(",\n      \"allow_symlinks\": ")
	b.WriteString(strconv.FormatBool(s.AllowSymlinks))
	if s.Method == MethodShards {
		b.WriteString(",\n      \"shard_size\": ")
		b.WriteString(strconv.FormatInt(s.ShardSize, 10))
		if opts.FloatShardSize {
			b.WriteString(".0")
		}
	}
	if len(s.IgnorePaths) > 0 {
		b.WriteString(",\n      \"ignore_paths\": [")
		for i, p := range s.IgnorePaths {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n        ")
			pyString(&b, p)
		}
		b.WriteString("\n      ]")
	}
	b.WriteString("\n    },\n    \"resources\": [")
	for i, it := range m.Items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      {\n        \"algorithm\": ")
		pyString(&b, it.Algorithm)
		b.WriteString(",\n        \"digest\": ")
		pyString(&b, hex.EncodeToString(it.Digest))
		b.WriteString(",\n        \"name\": ")
		pyString(&b, it.Name())
		b.WriteString("\n      }")
	}
	if len(m.Items) > 0 {
		b.WriteString("\n    ")
	}
	b.WriteString("]\n  }\n}")
	return b.Bytes()
}

// pyString writes s as Python's json.dumps does with ensure_ascii.
func pyString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(b, `\u%04x`, r)
			case r < 0x7f || r == 0x7f:
				b.WriteRune(r)
			case r == utf8.RuneError:
				b.WriteString(`\ufffd`)
			case r > 0xffff:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				fmt.Fprintf(b, `\u%04x`, r)
			}
		}
	}
	b.WriteByte('"')
}

// statementJSON is the subset of an in-toto Statement that is read.
type statementJSON struct {
	Type          *string         `json:"_type"`
	Subject       []subjectJSON   `json:"subject"`
	PredicateType *string         `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subjectJSON struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type predicateJSON struct {
	Serialization *serializationJSON `json:"serialization"`
	Resources     *[]resourceJSON    `json:"resources"`
}

type serializationJSON struct {
	Method        *string      `json:"method"`
	HashType      *string      `json:"hash_type"`
	AllowSymlinks *bool        `json:"allow_symlinks"`
	ShardSize     *json.Number `json:"shard_size"`
	IgnorePaths   []string     `json:"ignore_paths"`
}

type resourceJSON struct {
	Name      *string `json:"name"`
	Algorithm *string `json:"algorithm"`
	Digest    *string `json:"digest"`
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidSignature, fmt.Sprintf(format, args...))
}

// ParseStatement reads a signed in-toto Statement into the signed manifest.
// It accepts the v1.0 predicate and the legacy Digests/v0.1 predicate of
// model_signing v0.2, and checks that the subject's root digest matches
// the resources. Every error wraps ErrInvalidSignature.
func ParseStatement(payload []byte) (*Manifest, error) {
	if len(payload) > maxPayloadSize {
		return nil, invalid("statement of %d bytes exceeds the %d byte limit", len(payload), maxPayloadSize)
	}
	var st statementJSON
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&st); err != nil {
		return nil, invalid("statement is not valid JSON: %v", err)
	}
	if st.Type == nil || *st.Type != StatementType {
		got := "<missing>"
		if st.Type != nil {
			got = strconv.Quote(*st.Type)
		}
		return nil, invalid("statement _type is %s, want %q", got, StatementType)
	}
	if st.PredicateType == nil {
		return nil, invalid("statement has no predicateType")
	}
	switch *st.PredicateType {
	case PredicateType:
	case LegacyPredicateType:
		return parseLegacy(&st)
	default:
		return nil, invalid("predicate type is %q, want %q", *st.PredicateType, PredicateType)
	}
	if len(st.Subject) != 1 {
		return nil, invalid("statement has %d subjects, want exactly one", len(st.Subject))
	}
	rootHex, ok := st.Subject[0].Digest["sha256"]
	if !ok {
		return nil, invalid("subject has no sha256 digest")
	}
	var pred predicateJSON
	if err := json.Unmarshal(st.Predicate, &pred); err != nil || pred.Serialization == nil {
		return nil, invalid("predicate has no serialization object")
	}
	ser, err := readSerialization(pred.Serialization)
	if err != nil {
		return nil, err
	}
	if pred.Resources == nil {
		return nil, invalid("predicate has no resources list")
	}
	res := *pred.Resources
	if len(res) == 0 {
		return nil, invalid("predicate has an empty resources list: nothing was signed")
	}
	if len(res) > maxResources {
		return nil, invalid("predicate has %d resources, more than %d", len(res), maxResources)
	}
	m := &Manifest{ModelName: st.Subject[0].Name, Serialization: ser}
	seen := make(map[string]bool, len(res))
	rootHash := sha256.New()
	for i, r := range res {
		if r.Name == nil || r.Algorithm == nil || r.Digest == nil {
			return nil, invalid("resource %d lacks name, algorithm or digest", i)
		}
		d, err := hex.DecodeString(*r.Digest)
		if err != nil || len(d) == 0 || len(d) > 64 {
			return nil, invalid("resource %q has an invalid digest", *r.Name)
		}
		it, err := ParseItemName(ser.Method, *r.Name)
		if err != nil {
			return nil, invalid("%v", err)
		}
		if seen[*r.Name] {
			return nil, invalid("resource %q appears twice", *r.Name)
		}
		seen[*r.Name] = true
		it.Algorithm, it.Digest = *r.Algorithm, d
		rootHash.Write(d)
		m.Items = append(m.Items, it)
	}
	if got := hex.EncodeToString(rootHash.Sum(nil)); !strings.EqualFold(got, rootHex) {
		return nil, invalid("manifest is inconsistent: subject digest is %s but the resources hash to %s", rootHex, got)
	}
	m.Sort()
	return m, nil
}

func readSerialization(s *serializationJSON) (Serialization, error) {
	var ser Serialization
	if s.Method == nil || s.HashType == nil || s.AllowSymlinks == nil {
		return ser, invalid("serialization lacks method, hash_type or allow_symlinks")
	}
	ser.Method = Method(*s.Method)
	ser.AllowSymlinks = *s.AllowSymlinks
	h, err := ParseHashAlgorithm(*s.HashType)
	if err != nil || *s.HashType == "" {
		return ser, invalid("serialization hash_type %q is not supported", *s.HashType)
	}
	ser.Hash = h
	switch ser.Method {
	case MethodFiles:
	case MethodShards:
		if s.ShardSize == nil {
			return ser, invalid("shards serialization has no shard_size")
		}
		// Written as an integer by us and as a float by some reference
		// versions: accept any integral positive number.
		f, err := strconv.ParseFloat(string(*s.ShardSize), 64)
		if err != nil || f < 1 || f != math.Trunc(f) || f > 1<<53 {
			return ser, invalid("shard_size %s is not a positive integer", *s.ShardSize)
		}
		ser.ShardSize = int64(f)
	default:
		return ser, invalid("unknown serialization method %q", *s.Method)
	}
	if len(s.IgnorePaths) > maxIgnorePaths {
		return ser, invalid("too many ignore_paths (%d)", len(s.IgnorePaths))
	}
	ser.IgnorePaths = s.IgnorePaths
	return ser, nil
}

// legacyModelName is the model name the reference gives legacy statements,
// which record none.
const legacyModelName = "compat-undefined-not-present"

// parseLegacy reads the v0.2 Digests/v0.1 predicate: one subject per file,
// files serialization with SHA-256.
func parseLegacy(st *statementJSON) (*Manifest, error) {
	if len(st.Subject) == 0 {
		return nil, invalid("legacy statement has no subject")
	}
	if len(st.Subject) > maxResources {
		return nil, invalid("legacy statement has too many subjects")
	}
	m := &Manifest{
		ModelName:     legacyModelName,
		Serialization: Serialization{Method: MethodFiles, Hash: SHA256},
	}
	seen := map[string]bool{}
	for _, s := range st.Subject {
		d, err := hex.DecodeString(s.Digest["sha256"])
		if err != nil || len(d) != sha256.Size {
			return nil, invalid("legacy subject %q has no valid sha256 digest", s.Name)
		}
		if seen[s.Name] {
			return nil, invalid("legacy subject %q appears twice", s.Name)
		}
		seen[s.Name] = true
		m.Items = append(m.Items, Item{Path: s.Name, Algorithm: string(SHA256), Digest: d})
	}
	m.Sort()
	return m, nil
}
