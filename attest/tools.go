package attest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/agent"
	"github.com/mlsecops/mlsec/signing"
)

// ToolSnapshotType is the predicate type of a tool snapshot: the tools
// (name, title, description, input schema) each MCP tool list or A2A
// agent card of an artifact offered when the artifact was signed. mlsec
// sign appends it to the claims so that mlsec verify can say which tool
// changed after approval (a rug pull), where the signature alone only
// says which file did.
const ToolSnapshotType = "https://mlsec.dev/attestation/tool-snapshot/v1"

// maxSnapshotFile caps the size of a file SnapshotTools parses (the agent
// detector's cap).
const maxSnapshotFile = 16 << 20

// ToolSnapshot is the predicate of a tool snapshot.
type ToolSnapshot struct {
	Manifests []ToolManifest `json:"manifests"`
}

// ToolManifest is one tool list or agent card of the artifact.
type ToolManifest struct {
	// Path is the file's resource name in the signature ("." for a
	// single-file artifact).
	Path string `json:"path"`
	// Kind is the format kind (mcp-tools, a2a-agent-card).
	Kind  string       `json:"kind"`
	Tools []agent.Tool `json:"tools"`
}

// ToolChange is one tool-level difference between the snapshot taken at
// signing and a manifest on disk.
type ToolChange struct {
	Path string `json:"path"`
	agent.Change
}

// ReadToolManifest reads the file at path as an MCP tool list or A2A agent
// card; ok is false for any other content (and for files over the cap).
func ReadToolManifest(path string) (m ToolManifest, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return m, false, fmt.Errorf("attest: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxSnapshotFile || fi.Size() == 0 {
		return m, false, err
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return m, false, fmt.Errorf("attest: %w", err)
	}
	if t := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return m, false, nil
	}
	kind, err := format.DetectFile(path, bytes.NewReader(data), int64(len(data)))
	if err != nil || (kind != format.MCPTools && kind != format.AgentCard) {
		return m, false, err
	}
	doc, err := agent.Parse(data)
	if err != nil {
		return m, false, nil // not analysable: the scan says so; no snapshot
	}
	return ToolManifest{Kind: string(kind), Tools: doc.Tools}, true, nil
}

// SnapshotTools reads the tool lists and agent cards among the signed
// files of the artifact at root (a directory, or a single file when the
// manifest's only item is "."). It returns nil when there are none.
func SnapshotTools(root string, m *signing.Manifest) (*ToolSnapshot, error) {
	var snap ToolSnapshot
	seen := map[string]bool{}
	for _, it := range m.Items {
		if seen[it.Path] {
			continue
		}
		seen[it.Path] = true
		p := root
		if it.Path != "." {
			p = filepath.Join(root, filepath.FromSlash(it.Path))
		}
		tm, ok, err := ReadToolManifest(p)
		if err != nil {
			return nil, err
		}
		if ok {
			tm.Path = it.Path
			snap.Manifests = append(snap.Manifests, tm)
		}
	}
	if len(snap.Manifests) == 0 {
		return nil, nil
	}
	return &snap, nil
}

// Statement renders the snapshot as an in-toto statement about subject.
func (s *ToolSnapshot) Statement(subject Subject) ([]byte, error) {
	pred, err := structOf(s)
	if err != nil {
		return nil, err
	}
	return NewStatement(subject, ToolSnapshotType, pred)
}

// ToolSnapshotOf reads the snapshot of a tool-snapshot statement.
func ToolSnapshotOf(st Statement) (*ToolSnapshot, error) {
	if st.GetPredicateType() != ToolSnapshotType {
		return nil, fmt.Errorf("%w: predicate type %q, want %q", ErrMalformed, st.GetPredicateType(), ToolSnapshotType)
	}
	b, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var s ToolSnapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: tool snapshot: %w", ErrMalformed, err)
	}
	return &s, nil
}

// ErrNoToolSnapshot reports that the claims hold no valid tool snapshot
// about the signed digest.
var ErrNoToolSnapshot = errors.New("attest: no signed tool snapshot")

// ApprovedTools finds the latest tool snapshot among the claims in the
// first existing file of claimsPaths that verifies with v and is about
// the signed digest want.
func ApprovedTools(ctx context.Context, claimsPaths []string, want Digest, v signing.Verifier) (*ToolSnapshot, string, error) {
	for _, cp := range claimsPaths {
		f, err := os.Open(cp)
		if err != nil {
			continue
		}
		var snap *ToolSnapshot
		err = VerifyClaims(ctx, f, want, v, func(r ClaimResult) error {
			if r.OK() && r.PredicateType == ToolSnapshotType {
				if s, err := ToolSnapshotOf(r.Statement); err == nil {
					snap = s
				}
			}
			return nil
		})
		f.Close()
		if err != nil {
			return nil, cp, err
		}
		if snap != nil {
			return snap, cp, nil
		}
	}
	return nil, "", ErrNoToolSnapshot
}

// DiffTools compares the snapshot with the manifests on disk: for each
// manifest of the snapshot, the file at root (a single-file artifact, or
// PATH inside a directory) is read again and its tools compared by name.
// A manifest that is gone or no longer a tool list counts all its tools
// removed.
func (s *ToolSnapshot) DiffTools(root string, single bool) ([]ToolChange, error) {
	var out []ToolChange
	for _, m := range s.Manifests {
		p := root
		if !single {
			p = filepath.Join(root, filepath.FromSlash(m.Path))
		}
		var cur []agent.Tool
		if tm, ok, err := ReadToolManifest(p); err == nil && ok {
			cur = tm.Tools
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for _, c := range agent.Diff(m.Tools, cur) {
			out = append(out, ToolChange{Path: m.Path, Change: c})
		}
	}
	return out, nil
}

// ChangedTools compares the tool lists and agent cards of an artifact that
// no longer matches its signature with the signed tool snapshot in the
// claims: those of the artifact whose signature is sigPath (when it is a
// layout signature: FILE.sig, DIR/model.sig), then the artifact's own.
// The snapshot must verify with v and be about the signed digest; without
// one (or on any error) it returns nil: the file-level diff stands alone.
// from is the claims file the snapshot was read from.
func ChangedTools(ctx context.Context, path, sigPath string, signed *signing.Manifest, v signing.Verifier) (changes []ToolChange, from string) {
	var paths []string
	if sigPath != "" {
		if a, kind, ok := evidence.ArtifactOf(sigPath); ok && kind == evidence.Signature {
			paths = append(paths, evidence.For(a, filepath.Base(sigPath) == evidence.SignatureName).Claims)
		}
	}
	if cp, err := evidence.ClaimsPath(path); err == nil {
		paths = append(paths, cp)
	}
	snap, from, err := ApprovedTools(ctx, paths, DigestOf(signed.RootDigest()), v)
	if err != nil {
		return nil, ""
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, ""
	}
	changes, err = snap.DiffTools(path, !fi.IsDir())
	if err != nil {
		return nil, ""
	}
	return changes, from
}

// ToolChangeSummary renders tool changes on one line for reasons and
// verdicts ("; tools changed since approval: get_alerts (description,
// schema), feedback (added)"), "" for none.
func ToolChangeSummary(changes []ToolChange) string {
	if len(changes) == 0 {
		return ""
	}
	var order []string
	what := map[string][]string{}
	for _, c := range changes {
		name := c.Tool
		if c.Path != "." {
			name = c.Path + ":" + c.Tool
		}
		if _, ok := what[name]; !ok {
			order = append(order, name)
		}
		w := string(c.Kind)
		switch c.Kind {
		case agent.DescriptionChanged:
			w = "description"
		case agent.SchemaChanged:
			w = "schema"
		}
		what[name] = append(what[name], w)
	}
	parts := make([]string, 0, len(order))
	for _, n := range order {
		parts = append(parts, n+" ("+strings.Join(what[n], ", ")+")")
	}
	return "; tools changed since approval: " + strings.Join(parts, ", ")
}
