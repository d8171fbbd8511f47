package keras

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Archive is an opened Keras v3 .keras zip.
type Archive struct {
	// Config is the content of config.json. When the archive holds
	// several entries of that name it is the last one, the entry Python's
	// zipfile (and so Keras) reads.
	Config []byte
	// Shadowed are the contents of the other config.json entries, in
	// archive order: zip readers disagree on which duplicate wins, so
	// callers examine them too.
	Shadowed [][]byte
	// KerasVersion is metadata.json's keras_version, if present.
	KerasVersion string
	// Members are the other entries (model.weights.h5, assets, ...).
	Members []*zip.File
}

// OpenArchive reads config.json (at most opt.MaxBytes) and metadata.json of
// the .keras archive of size bytes behind r.
func OpenArchive(r io.ReaderAt, size int64, opt Options) (*Archive, error) {
	opt = opt.withDefaults()
	zr, err := zip.NewReader(r, size)
	a := &Archive{}
	if err != nil && (!errors.Is(err, zip.ErrInsecurePath) || zr == nil) {
		// Insecure names are not fatal: callers check member names.
		return nil, fmt.Errorf("%w: zip: %v", ErrFormat, err)
	}
	var cfg, meta *zip.File
	var shadowed []*zip.File
	for _, f := range zr.File {
		switch f.Name {
		case "config.json":
			if cfg != nil {
				shadowed = append(shadowed, cfg)
			}
			cfg = f
			continue
		case "metadata.json":
			if meta == nil {
				meta = f
				continue
			}
		}
		a.Members = append(a.Members, f)
	}
	if cfg == nil {
		return nil, fmt.Errorf("%w: no config.json", ErrFormat)
	}
	if a.Config, err = readMember(cfg, opt.MaxBytes); err != nil {
		return nil, err
	}
	for _, f := range shadowed {
		b, err := readMember(f, opt.MaxBytes)
		if err != nil {
			return nil, err
		}
		a.Shadowed = append(a.Shadowed, b)
	}
	if meta != nil {
		if b, err := readMember(meta, 1<<20); err == nil {
			var m struct {
				KerasVersion string `json:"keras_version"`
			}
			if json.Unmarshal(b, &m) == nil {
				a.KerasVersion = m.KerasVersion
			}
		}
	}
	return a, nil
}

func readMember(f *zip.File, max int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(max) {
		return nil, fmt.Errorf("%w: %s of %d bytes (cap %d)", ErrLimit, f.Name, f.UncompressedSize64, max)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, f.Name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: %s larger than %d bytes", ErrLimit, f.Name, max)
	}
	return b, nil
}
