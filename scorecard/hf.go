package scorecard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/inspect"
	"github.com/mlsecops/mlsec/transport/hfhub"
)

// HubLimits bound what GatherHub reads from the hub.
type HubLimits struct {
	// MaxFile: files up to this size are downloaded whole (hash-checked)
	// and scanned; larger ones are judged by content from range requests.
	MaxFile int64
	// MaxTotal bounds the bytes downloaded whole; files past it are
	// judged remotely too.
	MaxTotal int64
	// RemoteBudget bounds the bytes read from one remotely judged file.
	RemoteBudget int64
	// MaxRemote bounds how many files are judged remotely; the rest are
	// listed as not judged (which fails closed).
	MaxRemote int
}

// DefaultHubLimits: whole files up to 1 MiB, 32 MiB in all; 1 MiB of range
// reads per large file, 500 large files.
var DefaultHubLimits = HubLimits{MaxFile: 1 << 20, MaxTotal: 32 << 20, RemoteBudget: 1 << 20, MaxRemote: 500}

// RemoteFile is a file of a hub repository that was not downloaded: its
// format is judged by content from the bytes range requests read (the
// scanner's content detection on the file's first and, for archives, last
// bytes), or Err says why it could not be.
type RemoteFile struct {
	Path   string
	Size   int64
	SHA256 string // the hub's LFS sha256, when listed
	Format format.Kind
	// Read is how many bytes were read to judge it.
	Read int64
	// Err says why there is no judgement.
	Err string
}

// HubSource says what GatherHub read.
type HubSource struct {
	// Ref is the reference as given (hf://ORG/NAME[@REV]); Commit the
	// commit its revision resolved to.
	Ref, Repo, Revision, Commit string
	// Listed is the number of files at Commit; Downloaded those fetched
	// whole (Bytes in all); Remote those judged by range requests
	// (RemoteBytes read).
	Listed, Downloaded, Remote int
	Bytes, RemoteBytes         int64
}

// GatherHub collects the facts about a Hugging Face Hub repository without
// downloading its weights: it pins ref's revision to a commit, lists the
// files there, downloads the small ones (model card, config, tokenizer
// configuration, licence, signature, claims — every file up to
// lim.MaxFile, checked against the hub's hashes) into a temporary
// directory that is scanned and inspected like a snapshot, and judges each
// larger file's format by content from range requests. The temporary
// directory is removed before GatherHub returns.
func GatherHub(ctx context.Context, c *hfhub.Client, ref hfhub.Ref, s Scanner, opts inspect.Options, lim HubLimits) (*Facts, *HubSource, error) {
	info, err := c.Info(ctx, ref)
	if err != nil {
		return nil, nil, hubError(ref, err)
	}
	entries, err := c.Tree(ctx, ref, info.SHA)
	if err != nil {
		return nil, nil, hubError(ref, err)
	}
	src := &HubSource{Ref: hfhub.Scheme + ref.Repo + "@" + ref.Revision, Repo: ref.Repo, Revision: ref.Revision, Commit: info.SHA, Listed: len(entries)}
	tmp, err := os.MkdirTemp("", "mlsec-scorecard-")
	if err != nil {
		return nil, nil, mlsec.Errorf(mlsec.EIO, "scorecard: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, path.Base(ref.Repo))

	var remote []RemoteFile
	for _, e := range entries {
		size := e.ContentSize()
		if size <= lim.MaxFile && src.Bytes+size <= lim.MaxTotal {
			if err := c.Fetch(ctx, ref, info.SHA, e, filepath.Join(dir, filepath.FromSlash(e.Path))); err != nil {
				return nil, nil, hubError(ref, err)
			}
			src.Downloaded++
			src.Bytes += size
			continue
		}
		rf := RemoteFile{Path: e.Path, Size: size, Format: format.Unknown}
		if e.LFS != nil {
			rf.SHA256 = e.LFS.OID
		}
		if len(remote) >= lim.MaxRemote {
			rf.Err = fmt.Sprintf("not judged: more than %d large files", lim.MaxRemote)
			remote = append(remote, rf)
			continue
		}
		r, err := c.Open(ctx, ref, info.SHA, e, lim.RemoteBudget)
		if err != nil {
			return nil, nil, hubError(ref, err)
		}
		k, derr := format.DetectFile(path.Base(e.Path), r, size)
		rf.Read = r.Fetched
		src.RemoteBytes += r.Fetched
		switch {
		case errors.Is(derr, hfhub.ErrIntegrity), ctx.Err() != nil:
			return nil, nil, hubError(ref, errors.Join(derr, ctx.Err()))
		case derr != nil:
			rf.Err = derr.Error()
		default:
			rf.Format = k
		}
		remote = append(remote, rf)
	}
	src.Remote = len(remote)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, mlsec.Errorf(mlsec.EIO, "scorecard: %w", err)
	}
	f, err := Gather(ctx, dir, s, opts)
	if err != nil {
		return nil, nil, err
	}
	// Name things by their hub address, not the temporary directory.
	at := hfhub.Scheme + ref.Repo + "@" + info.SHA
	f.Name, f.Commit, f.Remote = hfhub.Scheme+ref.Repo, info.SHA, remote
	f.Signature = at + "/" + rel(dir, f.Signature)
	f.Claims = at + "/" + rel(dir, f.Claims)
	return f, src, nil
}

// hubError maps hub errors to mlsec's codes.
func hubError(ref hfhub.Ref, err error) error {
	switch {
	case errors.Is(err, hfhub.ErrNotFound):
		return mlsec.Errorf(mlsec.ENOTFOUND, "scorecard hf://%s@%s: %w", ref.Repo, ref.Revision, err)
	case errors.Is(err, hfhub.ErrUnauthorized):
		return mlsec.Errorf(mlsec.EFORBIDDEN, "scorecard hf://%s@%s: %w", ref.Repo, ref.Revision, err)
	}
	return mlsec.Errorf(mlsec.EIO, "scorecard hf://%s@%s: %w", ref.Repo, ref.Revision, err)
}
