package server

import (
	"context"
	"errors"
	"io"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
)

// EncryptedBlobs adapts the age-encrypted blob store (package store/blob)
// to Blobs, capping uploads at maxSize bytes.
func EncryptedBlobs(s *blob.Store, maxSize int64) Blobs { return encBlobs{s, maxSize} }

type encBlobs struct {
	s   *blob.Store
	max int64
}

func (b encBlobs) Put(ctx context.Context, r io.Reader) (store.Digest, int64, error) {
	d, n, err := b.s.Put(ctx, r, b.max)
	if errors.Is(err, blob.ErrTooLarge) {
		return "", 0, mlsec.Errorf(ETOOLARGE, "upload exceeds the limit of %d bytes", b.max)
	}
	return d, n, err
}

func (b encBlobs) Open(_ context.Context, d store.Digest) (io.ReadCloser, error) {
	rc, err := b.s.Open(d)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, mlsec.Errorf(mlsec.ENOTFOUND, "no stored bytes for %s", d)
	}
	return rc, err
}

// Delete removes stored bytes (an upload refused for its digest).
func (b encBlobs) Delete(d store.Digest) error { return b.s.Delete(d) }
