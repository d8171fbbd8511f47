// Package blob keeps artifact bytes (uploads) encrypted at rest with age
// (filippo.io/age, X25519) under the server's identity, addressed by the
// sha256 of their plaintext. Every read re-hashes the plaintext and fails
// with ErrDigestMismatch if it is not the digest asked for.
//
// Key rotation: a Keyring holds every identity the server has had. The
// newest encrypts; all of them decrypt. Rotate by adding a new identity
// (GenerateIdentity), restarting, running ReEncrypt to move old blobs to the
// new key, then retiring the old identity file. See docs/server-storage.md.
package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/mlsecops/mlsec/store"
)

// Sentinel errors.
var (
	// ErrNotFound reports a digest with no blob.
	ErrNotFound = errors.New("blob: not found")
	// ErrDigestMismatch reports a blob whose plaintext does not hash to its
	// digest (a swapped or corrupted file).
	ErrDigestMismatch = errors.New("blob: digest mismatch")
	// ErrTooLarge reports a Put that exceeded its size cap.
	ErrTooLarge = errors.New("blob: too large")
	// ErrNoKey reports a keyring without identities, or a blob no identity
	// in the keyring can decrypt.
	ErrNoKey = errors.New("blob: no usable key")
)

// Keyring is the server's age identities, oldest first. The last one
// encrypts; every one decrypts.
type Keyring struct {
	ids []*age.X25519Identity
}

// NewKeyring returns a keyring of ids, oldest first.
func NewKeyring(ids ...*age.X25519Identity) (*Keyring, error) {
	if len(ids) == 0 {
		return nil, ErrNoKey
	}
	return &Keyring{ids: slices.Clone(ids)}, nil
}

// Recipient returns the public key new blobs are encrypted to.
func (k *Keyring) Recipient() *age.X25519Recipient { return k.ids[len(k.ids)-1].Recipient() }

func (k *Keyring) identities() []age.Identity {
	out := make([]age.Identity, len(k.ids))
	for i, id := range k.ids {
		out[len(k.ids)-1-i] = id // newest first: most blobs use it
	}
	return out
}

// Identity files in a key directory are named identity-<UTC time>.txt, so
// lexical order is age order.
const identityPattern = "identity-*.txt"

// GenerateIdentity writes a new X25519 identity (in age-keygen's format)
// to dir, mode 0600, and returns its path and public key. The next
// LoadKeyring makes it the encrypting key.
func GenerateIdentity(dir string, now time.Time) (path string, recipient string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("blob: key directory: %w", err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", "", fmt.Errorf("blob: generate identity: %w", err)
	}
	path = filepath.Join(dir, "identity-"+now.UTC().Format("20060102T150405.000000000Z")+".txt")
	body := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", now.UTC().Format(time.RFC3339), id.Recipient(), id)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", fmt.Errorf("blob: write identity: %w", err)
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return "", "", fmt.Errorf("blob: write identity: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", "", fmt.Errorf("blob: write identity: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", "", fmt.Errorf("blob: write identity: %w", err)
	}
	return path, id.Recipient().String(), nil
}

// LoadKeyring reads every identity file in dir (oldest first by name). With
// create set and no identity present, it generates the first one.
func LoadKeyring(dir string, create bool) (*Keyring, error) {
	paths, err := filepath.Glob(filepath.Join(dir, identityPattern))
	if err != nil {
		return nil, fmt.Errorf("blob: keys: %w", err)
	}
	if len(paths) == 0 && create {
		p, _, err := GenerateIdentity(dir, time.Now())
		if err != nil {
			return nil, err
		}
		paths = []string{p}
	}
	slices.Sort(paths)
	var ids []*age.X25519Identity
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("blob: keys: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("blob: identity %s is readable by group or others (mode %v); chmod 600 it", p, st.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("blob: keys: %w", err)
		}
		parsed, err := age.ParseIdentities(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("blob: identity %s: %w", p, err)
		}
		for _, id := range parsed {
			x, ok := id.(*age.X25519Identity)
			if !ok {
				return nil, fmt.Errorf("blob: identity %s: only X25519 identities are supported", p)
			}
			ids = append(ids, x)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no %s in %s", ErrNoKey, identityPattern, dir)
	}
	return NewKeyring(ids...)
}

// ParseKeyring reads an age identity file's content (one or more X25519
// identities, oldest first; comments allowed), e.g. the output of a KMS
// command. source names it in errors.
func ParseKeyring(r io.Reader, source string) (*Keyring, error) {
	parsed, err := age.ParseIdentities(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("blob: identity %s: %w", source, err)
	}
	var ids []*age.X25519Identity
	for _, id := range parsed {
		x, ok := id.(*age.X25519Identity)
		if !ok {
			return nil, fmt.Errorf("blob: identity %s: only X25519 identities are supported", source)
		}
		ids = append(ids, x)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no identity in %s", ErrNoKey, source)
	}
	return NewKeyring(ids...)
}

// LoadKeyFile reads the identity file path (every identity in it, oldest
// first; the last encrypts), which must not be readable by group or
// others. With create set and no file, it writes a first identity.
func LoadKeyFile(path string, create bool) (*Keyring, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if _, err := AppendIdentity(path, time.Now()); err != nil {
			return nil, err
		}
		st, err = os.Stat(path)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("blob: identity %s is readable by group or others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("blob: key file: %w", err)
	}
	defer f.Close()
	return ParseKeyring(f, path)
}

// NewIdentityText returns a new X25519 identity in age-keygen's format
// (with its creation time and public key as comments) and its public key.
func NewIdentityText(now time.Time) (text, recipient string, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", "", fmt.Errorf("blob: generate identity: %w", err)
	}
	return fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", now.UTC().Format(time.RFC3339), id.Recipient(), id), id.Recipient().String(), nil
}

// AppendIdentity adds a new identity at the end of the identity file path
// (created mode 0600 if missing), so it becomes the encrypting key while
// the older ones still decrypt, and returns its public key. The file is
// replaced atomically (write, fsync, rename) and never loosens its mode.
func AppendIdentity(path string, now time.Time) (recipient string, err error) {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("blob: key file: %w", err)
	}
	text, recipient, err := NewIdentityText(now)
	if err != nil {
		return "", err
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("blob: key file: %w", err)
	}
	f, err := os.CreateTemp(dir, ".identity-*")
	if err != nil {
		return "", fmt.Errorf("blob: key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err == nil {
		_, err = f.Write(append(old, text...))
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err == nil {
			err = syncDir(dir)
		}
	} else {
		f.Close()
	}
	if err != nil {
		return "", fmt.Errorf("blob: key file: %w", err)
	}
	return recipient, nil
}

// Store is a directory of encrypted blobs: DIR/sha256/ab/<64 hex>.age.
type Store struct {
	dir  string
	keys *Keyring
}

// Open returns the blob store rooted at dir (created if missing).
func Open(dir string, keys *Keyring) (*Store, error) {
	if keys == nil {
		return nil, ErrNoKey
	}
	for _, d := range []string{dir, filepath.Join(dir, "tmp"), filepath.Join(dir, "sha256")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blob: %w", err)
		}
	}
	return &Store{dir: dir, keys: keys}, nil
}

func (s *Store) path(d store.Digest) (string, error) {
	if _, err := store.ParseDigest(string(d)); err != nil {
		return "", err
	}
	h := strings.TrimPrefix(string(d), "sha256:")
	return filepath.Join(s.dir, "sha256", h[:2], h+".age"), nil
}

// Put streams r into the store, encrypting as it goes, and returns the
// plaintext's digest and size. More than maxSize bytes (0: no cap) is
// ErrTooLarge and stores nothing. Storing the same bytes twice keeps one
// blob. The blob is fsynced before Put returns.
func (s *Store) Put(ctx context.Context, r io.Reader, maxSize int64) (store.Digest, int64, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	defer tmp.Close()
	enc, err := age.Encrypt(tmp, s.keys.Recipient())
	if err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	h := sha256.New()
	src := r
	if maxSize > 0 {
		src = io.LimitReader(r, maxSize+1)
	}
	n, err := io.Copy(io.MultiWriter(enc, h), ctxReader{ctx, src})
	if err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	if maxSize > 0 && n > maxSize {
		return "", 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxSize)
	}
	if err := enc.Close(); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	d := store.Digest("sha256:" + hex.EncodeToString(h.Sum(nil)))
	dst, _ := s.path(d)
	if _, err := os.Stat(dst); err == nil {
		return d, n, nil // already stored
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return "", 0, err
	}
	return d, n, nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob: sync: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob: sync: %w", err)
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Has reports whether a blob for d exists.
func (s *Store) Has(d store.Digest) bool {
	p, err := s.path(d)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// Open returns a reader of d's plaintext. The reader hashes what it
// returns and, at the end, yields ErrDigestMismatch instead of io.EOF if
// the bytes are not d's: consumers must read to EOF (and check the error)
// before trusting the content. Use Get for small blobs.
func (s *Store) Open(d store.Digest) (io.ReadCloser, error) {
	p, err := s.path(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, d)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: open: %w", err)
	}
	plain, err := age.Decrypt(f, s.keys.identities()...)
	if err != nil {
		f.Close()
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, fmt.Errorf("%w: %s: %w", ErrNoKey, d, err)
		}
		return nil, fmt.Errorf("blob: decrypt %s: %w", d, err)
	}
	return &verifier{f: f, r: plain, h: sha256.New(), want: strings.TrimPrefix(string(d), "sha256:")}, nil
}

type verifier struct {
	f    *os.File
	r    io.Reader
	h    hash.Hash
	want string
	err  error
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if hex.EncodeToString(v.h.Sum(nil)) != v.want {
			v.err = fmt.Errorf("%w: content of sha256:%s hashes to sha256:%x", ErrDigestMismatch, v.want, v.h.Sum(nil))
			return n, v.err
		}
		v.err = io.EOF
		return n, io.EOF
	}
	if err != nil {
		v.err = fmt.Errorf("blob: read: %w", err) // includes age's authentication failures
		return n, v.err
	}
	return n, nil
}

func (v *verifier) Close() error { return v.f.Close() }

// Get reads a whole blob of at most maxSize bytes, verified.
func (s *Store) Get(d store.Digest, maxSize int64) ([]byte, error) {
	rc, err := s.Open(d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > maxSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, d, maxSize)
	}
	// LimitReader stopped at maxSize+1 without reaching EOF only if the
	// blob is larger; otherwise the verifier has already checked it.
	return b, nil
}

// Delete removes d's blob (missing is not an error).
func (s *Store) Delete(d store.Digest) error {
	p, err := s.path(d)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete: %w", err)
	}
	return nil
}

// ReEncrypt rewrites every blob not encrypted to the keyring's newest
// identity so that it is, verifying each blob's digest on the way. It is
// safe to interrupt and re-run; it returns how many blobs it rewrote.
func (s *Store) ReEncrypt(ctx context.Context) (int, error) {
	newest := s.keys.ids[len(s.keys.ids)-1]
	n := 0
	err := filepath.WalkDir(filepath.Join(s.dir, "sha256"), func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if de.IsDir() || !strings.HasSuffix(p, ".age") {
			return nil
		}
		d := store.Digest("sha256:" + strings.TrimSuffix(filepath.Base(p), ".age"))
		if current, err := encryptedTo(p, newest); err != nil {
			return err
		} else if current {
			return nil
		}
		if err := s.rewrite(ctx, d, p); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("blob: re-encrypt: %w", err)
	}
	return n, nil
}

func encryptedTo(path string, id *age.X25519Identity) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	hdr, err := age.ExtractHeader(f)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	_, err = age.DecryptHeader(hdr, id)
	return err == nil, nil
}

func (s *Store) rewrite(ctx context.Context, d store.Digest, dst string) error {
	rc, err := s.Open(d)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "reenc-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	enc, err := age.Encrypt(tmp, s.keys.Recipient())
	if err != nil {
		return err
	}
	if _, err := io.Copy(enc, ctxReader{ctx, rc}); err != nil {
		return fmt.Errorf("%s: %w", d, err) // digest mismatch: leave the old file for inspection
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}
