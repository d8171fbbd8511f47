// Package seal writes and opens sealed bundles: a model with its
// signature and claims in one tar stream encrypted with age
// (filippo.io/age) to one or more recipients.
//
// age encrypts in authenticated 64 KiB chunks (STREAM, ChaCha20-Poly1305)
// whose last chunk is marked, so a modified, reordered or truncated bundle
// fails to decrypt. Open therefore unpacks into a quarantine directory
// beside the destination, reads the decrypted stream to its authenticated
// end, checks every file against the bundle's index (name, size, SHA-256),
// and only then renames the quarantine directory to the destination: no
// byte reaches the destination unless the whole bundle was authentic.
// Both directions stream with bounded memory.
//
// Bundle layout (inside the encryption): a tar stream whose first entry is
// the header (HeaderName, JSON), then one regular-file entry per member,
// and last the index (IndexName, JSON). age authenticates the stream, not
// its sender: anyone holding a recipient's public key can seal a bundle
// for it. Who made the model is what its OMS signature inside says.
package seal

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/transport"
	"github.com/mlsecops/mlsec/transport/quarantine"
)

// Names of the bundle's own entries. They cannot clash with a member: a
// member name never starts with ".mlsec-seal".
const (
	HeaderName = ".mlsec-seal.json"
	IndexName  = ".mlsec-seal-index.json"
	// Version is the bundle format version written in the header.
	Version = 1
	// maxMetaSize bounds the header and index entries.
	maxMetaSize = 64 << 20
	// maxTrailer bounds the decrypted bytes after the tar end marker.
	maxTrailer = 1 << 20
)

// ErrBundle reports a bundle that failed authentication or does not have
// the bundle layout.
var ErrBundle = errors.New("seal: bad bundle")

// Header is the bundle's first entry.
type Header struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	Dir     bool   `json:"dir"`
	Created string `json:"created,omitempty"`
}

// IndexEntry records one member.
type IndexEntry struct {
	Name   string         `json:"name"`
	Size   int64          `json:"size"`
	SHA256 string         `json:"sha256"`
	Role   transport.Role `json:"role"`
}

// Index is the bundle's last entry.
type Index struct {
	Files []IndexEntry `json:"files"`
}

const copyBuf = 1 << 20

// Write seals the artifact to recipients into w.
func Write(ctx context.Context, w io.Writer, a *transport.Artifact, recipients ...age.Recipient) (*Index, error) {
	if len(recipients) == 0 {
		return nil, errors.New("seal: no recipient")
	}
	for _, m := range a.Members {
		if strings.HasPrefix(m.Name, ".mlsec-seal") {
			return nil, fmt.Errorf("seal: member name %q is reserved", m.Name)
		}
		if err := transport.CheckName(m.Name); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	aw := newAsyncWriter(w, 4, copyBuf)
	defer aw.Close()
	enc, err := age.Encrypt(aw, recipients...)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	tw := tar.NewWriter(enc)
	hdr, _ := json.Marshal(Header{Version: Version, Name: a.Name, Dir: a.Dir})
	if err := writeEntry(tw, HeaderName, hdr); err != nil {
		return nil, err
	}
	idx := &Index{}
	free := make(chan *block, pipeBlocks)
	for range pipeBlocks {
		free <- &block{buf: make([]byte, pipeBlock)}
	}
	in := make(chan memberMsg, pipeBlocks+2)
	go readMembers(ctx, a.Members, free, in)
	defer func() {
		cancel()
		for range in { // let the reader finish
		}
	}()
	var size int64
	var cur transport.Member
	for msg := range in {
		if msg.err != nil {
			return nil, msg.err
		}
		switch msg.kind {
		case msgStart:
			size, cur = msg.size, msg.m
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: msg.m.Name, Mode: 0o644, Size: size, Format: tar.FormatPAX}); err != nil {
				return nil, fmt.Errorf("seal: %s: %w", msg.m.Name, err)
			}
		case msgData:
			_, err := tw.Write(msg.blk.buf[:msg.blk.n])
			free <- msg.blk
			if err != nil {
				return nil, fmt.Errorf("seal: %s: %w", cur.Name, err)
			}
		case msgEnd:
			if msg.n != size {
				return nil, fmt.Errorf("seal: %s changed while sealing (%d of %d bytes)", msg.m.Path, msg.n, size)
			}
			idx.Files = append(idx.Files, IndexEntry{Name: msg.m.Name, Size: msg.n, SHA256: msg.sum, Role: msg.m.Role})
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(idx.Files) != len(a.Members) {
		return nil, fmt.Errorf("seal: %d of %d files read", len(idx.Files), len(a.Members))
	}
	ib, _ := json.Marshal(idx)
	if err := writeEntry(tw, IndexName, ib); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return idx, nil
}

func writeEntry(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), Format: tar.FormatPAX}); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	return nil
}

// Opened describes a bundle that was opened and landed.
type Opened struct {
	Header Header
	Index  Index
	// Dest is where the artifact landed: DIR itself for a directory
	// artifact; for a single file F, DIR holds F and its evidence.
	Dest string
}

// ModelDigests returns, for a directory bundle, the SHA-256 digest of
// every model file by slash path (the signature and the claims file of
// the evidence layout left out, whatever roles the index claims), as
// unpacking checked them: what a signature check needs without reading
// the files again. It is nil for a single-file bundle.
func (o *Opened) ModelDigests() map[string][]byte {
	if !o.Header.Dir {
		return nil
	}
	out := make(map[string][]byte, len(o.Index.Files))
	for _, f := range o.Index.Files {
		if evidence.IsInside(f.Name) {
			continue
		}
		if sum, err := hex.DecodeString(f.SHA256); err == nil && len(sum) == sha256.Size {
			out[f.Name] = sum
		}
	}
	return out
}

// Size returns the total size of the files landed.
func (o *Opened) Size() int64 {
	var n int64
	for _, f := range o.Index.Files {
		n += f.Size
	}
	return n
}

// Open decrypts the bundle r with identities and lands its files at dest
// (which must not exist or be an empty directory) once the whole bundle
// was authenticated and checked against its index. On any error dest is
// left as it was and the quarantine directory is removed.
func Open(ctx context.Context, r io.Reader, dest string, identities ...age.Identity) (*Opened, error) {
	return OpenCheck(ctx, r, dest, nil, identities...)
}

// CheckFunc inspects an authenticated bundle unpacked at root (the
// quarantine directory, holding what will become dest) before it lands;
// an error keeps it from landing. o.Dest is not set yet.
type CheckFunc func(ctx context.Context, o *Opened, root string) error

// OpenCheck is Open with one more check before landing: once the bundle
// was authenticated and matched its index, check (when not nil) runs on
// the quarantined files, and only if it returns nil does dest appear.
func OpenCheck(ctx context.Context, r io.Reader, dest string, check CheckFunc, identities ...age.Identity) (*Opened, error) {
	q, err := quarantine.New(dest)
	if err != nil {
		return nil, err
	}
	defer q.Discard()
	o, err := unpack(ctx, r, q.Path(), identities)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(ctx, o, q.Path()); err != nil {
			return nil, err
		}
	}
	if err := q.Land(); err != nil {
		return nil, err
	}
	o.Dest = dest
	return o, nil
}

func bundleErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBundle}, args...)...)
}

func unpack(ctx context.Context, r io.Reader, dir string, identities []age.Identity) (*Opened, error) {
	dec, err := age.Decrypt(bufio.NewReaderSize(r, 256<<10), identities...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, fmt.Errorf("seal: no identity opens this bundle: %w", err)
		}
		return nil, bundleErr("%v", err)
	}
	tr := tar.NewReader(dec)
	o := &Opened{}
	hb, err := readMeta(tr, HeaderName)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(hb, &o.Header); err != nil {
		return nil, bundleErr("header: %v", err)
	}
	if o.Header.Version != Version {
		return nil, bundleErr("version %d, want %d", o.Header.Version, Version)
	}
	type got struct {
		size int64
		sum  string
	}
	files := map[string]got{}
	var order []string
	pipe := newLandPipe(ctx)
	defer pipe.wait()
	var ib []byte
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		th, err := tr.Next()
		if err == io.EOF {
			return nil, bundleErr("ends without its index")
		}
		if err != nil {
			return nil, bundleErr("%v", err)
		}
		if th.Name == IndexName {
			if ib, err = readBody(tr, th); err != nil {
				return nil, err
			}
			break
		}
		if th.Typeflag != tar.TypeReg || transport.SparseTar(th) {
			return nil, bundleErr("entry %q is not a regular file (type %q, sparse %t)", th.Name, th.Typeflag, transport.SparseTar(th))
		}
		if err := transport.CheckName(th.Name); err != nil || strings.HasPrefix(th.Name, ".mlsec-seal") {
			return nil, bundleErr("entry name %q refused", th.Name)
		}
		if len(files) >= transport.MaxMembers {
			return nil, bundleErr("more than %d files", transport.MaxMembers)
		}
		if _, dup := files[th.Name]; dup {
			return nil, bundleErr("entry %q appears twice", th.Name)
		}
		n, err := pipe.copyFile(filepath.Join(dir, filepath.FromSlash(th.Name)), tr)
		if err != nil {
			return nil, err
		}
		files[th.Name] = got{size: n}
		order = append(order, th.Name)
	}
	if err := pipe.wait(); err != nil {
		return nil, err
	}
	for i, name := range order {
		g := files[name]
		g.sum = hex.EncodeToString(pipe.sums[i][:])
		files[name] = g
	}
	if err := json.Unmarshal(ib, &o.Index); err != nil {
		return nil, bundleErr("index: %v", err)
	}
	if _, err := tr.Next(); err != io.EOF {
		return nil, bundleErr("entries after the index")
	}
	// The tar end marker is not the end of the age stream: read to the
	// stream's end so that its last chunk is authenticated too (a bundle
	// truncated after the index fails here).
	n, err := io.Copy(io.Discard, io.LimitReader(dec, maxTrailer+1))
	if err != nil {
		return nil, bundleErr("%v", err)
	}
	if n > maxTrailer {
		return nil, bundleErr("more than %d bytes after the tar stream", maxTrailer)
	}
	if len(o.Index.Files) != len(files) {
		return nil, bundleErr("index lists %d files, bundle holds %d", len(o.Index.Files), len(files))
	}
	for _, e := range o.Index.Files {
		g, ok := files[e.Name]
		if !ok {
			return nil, bundleErr("index lists %q, which the bundle does not hold", e.Name)
		}
		if g.size != e.Size || g.sum != e.SHA256 {
			return nil, bundleErr("%s: sha256:%s (%d bytes), index says sha256:%s (%d bytes)", e.Name, g.sum, g.size, e.SHA256, e.Size)
		}
	}
	if !o.Header.Dir {
		if _, ok := files[o.Header.Name]; !ok || transport.CheckName(o.Header.Name) != nil || strings.Contains(o.Header.Name, "/") {
			return nil, bundleErr("single-file bundle does not hold its model %q", o.Header.Name)
		}
	}
	return o, nil
}

func readMeta(tr *tar.Reader, name string) ([]byte, error) {
	th, err := tr.Next()
	if err != nil {
		return nil, bundleErr("%v", err)
	}
	if th.Name != name {
		return nil, bundleErr("first entry is %q, want %q", th.Name, name)
	}
	return readBody(tr, th)
}

func readBody(tr *tar.Reader, th *tar.Header) ([]byte, error) {
	if th.Typeflag != tar.TypeReg || transport.SparseTar(th) || th.Size < 0 || th.Size > maxMetaSize {
		return nil, bundleErr("entry %q: bad type or size %d", th.Name, th.Size)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, bundleErr("%v", err)
	}
	return b, nil
}
