package server

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
)

// Digests on the wire (RFC 9530 Content-Digest, sha-256): an upload may
// declare its digest (?digest=sha256:HEX or a Content-Digest header) and is
// refused when the bytes received differ; a download carries the stored
// digest in Content-Digest and ETag, and is cut off (never completed) when
// the stored bytes fail their own check on the way out.

// contentDigest formats d as an RFC 9530 Content-Digest value.
func contentDigest(d store.Digest) string {
	raw, err := hex.DecodeString(strings.TrimPrefix(string(d), "sha256:"))
	if err != nil {
		return ""
	}
	return "sha-256=:" + base64.StdEncoding.EncodeToString(raw) + ":"
}

// declaredDigest returns the digest an upload declares, "" for none.
func declaredDigest(r *http.Request) (store.Digest, error) {
	var out store.Digest
	if q := r.URL.Query().Get("digest"); q != "" {
		d, err := store.ParseDigest(q)
		if err != nil {
			return "", errorf(mlsec.EINVALID, "?digest=%q: want sha256:HEX", q)
		}
		out = d
	}
	if h := r.Header.Get("Content-Digest"); h != "" {
		var found bool
		for _, member := range strings.Split(h, ",") {
			alg, val, ok := strings.Cut(strings.TrimSpace(member), "=")
			if !ok || strings.ToLower(strings.TrimSpace(alg)) != "sha-256" {
				continue
			}
			val = strings.TrimSpace(val)
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(val, ":"), ":"))
			if err != nil || len(raw) != 32 || !strings.HasPrefix(val, ":") || !strings.HasSuffix(val, ":") {
				return "", errorf(mlsec.EINVALID, "Content-Digest: bad sha-256 value %q", val)
			}
			d := store.Digest("sha256:" + hex.EncodeToString(raw))
			if out != "" && out != d {
				return "", errorf(mlsec.EINVALID, "?digest and Content-Digest disagree")
			}
			out, found = d, true
		}
		if !found {
			return "", errorf(mlsec.EINVALID, "Content-Digest %q has no sha-256 member", h)
		}
	}
	return out, nil
}

// checkUpload refuses an upload whose bytes do not have the declared
// digest; the stored copy is removed unless an artifact already holds
// those bytes.
func (s *Server) checkUpload(r *http.Request, declared, got store.Digest) error {
	if declared == "" || declared == got {
		return nil
	}
	if _, err := s.store.Artifact(r.Context(), got); errors.Is(err, store.ErrNotFound) {
		if d, ok := s.cfg.Blobs.(interface{ Delete(store.Digest) error }); ok {
			_ = d.Delete(got)
		}
	}
	return errorf(mlsec.EINVALID, "upload digest mismatch: declared %s, received %s: nothing registered", declared, got)
}

func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	a, err := s.store.Artifact(r.Context(), d)
	if err != nil {
		return fromStore(err)
	}
	if !a.Blob || s.cfg.Blobs == nil {
		return errorf(mlsec.ENOTFOUND, "%s was registered by reference: this server holds no bytes of it", d)
	}
	rc, err := s.cfg.Blobs.Open(r.Context(), d)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Digest", contentDigest(d))
	h.Set("ETag", strconv.Quote(string(d)))
	if a.Size > 0 {
		h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		// The stored bytes failed their digest (or the disk failed) after
		// the status went out: cut the connection so that the client
		// never sees a complete body.
		s.log.Error("download aborted", "digest", string(d), "err", fmt.Sprint(err))
		panic(http.ErrAbortHandler)
	}
	return nil
}
