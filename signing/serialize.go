package signing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// GitPaths are ignored by default, as the reference does.
var gitPaths = [...]string{".git", ".gitattributes", ".github", ".gitignore"}

// HashOptions configure how a model is serialized into a manifest.
type HashOptions struct {
	// Method is files (default) or shards. Like the reference, shards with
	// BLAKE3 serializes by files (BLAKE3 hashes one file in parallel).
	Method Method
	// Hash is the digest algorithm; SHA256 by default.
	Hash HashAlgorithm
	// ShardSize is the shard size for the shards method (default
	// DefaultShardSize).
	ShardSize int64
	// AllowSymlinks hashes symbolic links to files (their target's content
	// under the link's name); without it a symlink is an error (ErrSymlink).
	AllowSymlinks bool
	// IgnorePaths are paths relative to the model root (slash or OS
	// separated); a directory ignores everything below it. They are recorded
	// in the manifest's serialization.
	IgnorePaths []string
	// IncludeGitPaths stops ignoring .git, .gitattributes, .github and
	// .gitignore.
	IncludeGitPaths bool
	// OnlyFiles, when non-nil, restricts hashing to these model-relative
	// file paths (verification with --ignore-unsigned-files). Paths that do
	// not exist are skipped; Compare reports them missing.
	OnlyFiles []string
	// Workers bounds the parallel hashing goroutines (default GOMAXPROCS).
	Workers int
	// Progress, if set, is called from the hashing goroutines with the
	// number of bytes just hashed.
	Progress func(n int64)
	// Total, if set, is called once with the number of bytes to hash before
	// hashing starts.
	Total func(n int64)
}

func (o HashOptions) serialization() (Serialization, error) {
	s := Serialization{Method: o.Method, Hash: o.Hash, ShardSize: o.ShardSize, AllowSymlinks: o.AllowSymlinks}
	if s.Method == "" {
		s.Method = MethodFiles
	}
	if s.Hash == "" {
		s.Hash = SHA256
	}
	if s.Hash.Size() == 0 {
		return s, fmt.Errorf("%w: hash algorithm %q", ErrUnsupported, string(s.Hash))
	}
	switch s.Method {
	case MethodFiles:
		s.ShardSize = 0
	case MethodShards:
		if s.ShardSize == 0 {
			s.ShardSize = DefaultShardSize
		}
		if s.ShardSize < 0 {
			return s, fmt.Errorf("signing: shard size %d must be positive", s.ShardSize)
		}
		if s.Hash == BLAKE3 { // the reference's use_shard_serialization does this
			s.Method, s.ShardSize = MethodFiles, 0
		}
	default:
		return s, fmt.Errorf("%w: serialization method %q (want files or shards)", ErrUnsupported, string(s.Method))
	}
	return s, nil
}

// cleanRel normalizes a model-relative path to slash form; ok is false for
// paths that leave the model.
func cleanRel(p string) (string, bool) {
	c := path.Clean(filepath.ToSlash(p))
	if c == ".." || strings.HasPrefix(c, "../") || path.IsAbs(c) {
		return "", false
	}
	return c, true
}

type fileEntry struct {
	rel  string // slash path relative to the root, "." for a single file
	abs  string
	size int64
}

type task struct {
	file       int
	start, end int64 // end < 0: to EOF (files method)
}

// HashModel serializes the model (a file or a directory) at modelPath into
// a manifest, hashing files and shards in parallel with bounded memory.
func HashModel(ctx context.Context, modelPath string, opts HashOptions) (*Manifest, error) {
	ser, err := opts.serialization()
	if err != nil {
		return nil, err
	}
	var ignores []string
	for _, p := range opts.IgnorePaths {
		if c, ok := cleanRel(p); ok {
			ignores = append(ignores, c)
		}
	}
	if !opts.IncludeGitPaths {
		ignores = append(ignores, gitPaths[:]...)
	}
	slices.Sort(ignores)
	ignores = slices.Compact(ignores)
	if len(ignores) > 0 {
		ser.IgnorePaths = ignores
	}

	files, err := collectFiles(modelPath, ignores, opts)
	if err != nil {
		return nil, err
	}
	var tasks []task
	var total int64
	for i, f := range files {
		total += f.size
		if ser.Method == MethodFiles {
			tasks = append(tasks, task{file: i, start: 0, end: -1})
			continue
		}
		for start := int64(0); start < f.size; start += ser.ShardSize {
			tasks = append(tasks, task{file: i, start: start, end: min(start+ser.ShardSize, f.size)})
		}
	}
	if opts.Total != nil {
		opts.Total(total)
	}
	items, err := hashTasks(ctx, files, tasks, ser, opts)
	if err != nil {
		return nil, err
	}
	m := &Manifest{ModelName: modelName(modelPath), Items: items, Serialization: ser}
	m.Sort()
	return m, nil
}

func modelName(p string) string {
	name := filepath.Base(p)
	if name == "." || name == ".." || name == string(filepath.Separator) {
		if abs, err := filepath.Abs(p); err == nil {
			name = filepath.Base(abs)
		}
	}
	return name
}

func ignored(rel string, ignores []string) bool {
	for _, p := range ignores {
		if p == "." || rel == p || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}

// checkEntry applies the reference's rules to one path: symlinks need
// allowSymlinks; only regular files (or links to them) are hashed;
// directories are skipped; anything else is an error.
func checkEntry(abs, rel string, allowSymlinks bool) (fileEntry, bool, error) {
	li, err := os.Lstat(abs)
	if err != nil {
		return fileEntry{}, false, fmt.Errorf("signing: %w", err)
	}
	if li.Mode()&fs.ModeSymlink != 0 && !allowSymlinks {
		return fileEntry{}, false, fmt.Errorf("%w: %s (name the link's target instead, or sign with --allow-symlinks to hash what it points to; verify follows what the signature recorded)", ErrSymlink, abs)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return fileEntry{}, false, fmt.Errorf("signing: cannot use %s: %w", abs, err)
	}
	switch {
	case fi.Mode().IsRegular():
		return fileEntry{rel: rel, abs: abs, size: fi.Size()}, true, nil
	case fi.IsDir():
		return fileEntry{}, false, nil
	}
	return fileEntry{}, false, fmt.Errorf("signing: cannot use %s: not a regular file or directory", abs)
}

func collectFiles(root string, ignores []string, opts HashOptions) ([]fileEntry, error) {
	rootEntry, isFile, err := checkEntry(root, ".", opts.AllowSymlinks)
	if err != nil {
		return nil, err
	}
	if isFile {
		if opts.OnlyFiles != nil && !slices.Contains(opts.OnlyFiles, ".") {
			return nil, nil
		}
		return []fileEntry{rootEntry}, nil
	}
	var files []fileEntry
	if opts.OnlyFiles != nil {
		seen := map[string]bool{}
		for _, p := range opts.OnlyFiles {
			rel, ok := cleanRel(p)
			if !ok || rel == "." || seen[rel] || ignored(rel, ignores) {
				continue
			}
			seen[rel] = true
			abs := filepath.Join(root, filepath.FromSlash(rel))
			if _, err := os.Lstat(abs); errors.Is(err, fs.ErrNotExist) {
				continue // reported missing by Compare
			}
			e, ok, err := checkEntry(abs, rel, opts.AllowSymlinks)
			if err != nil {
				return nil, err
			}
			if ok {
				files = append(files, e)
			}
		}
		return files, nil
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("signing: %w", err)
		}
		if p == root {
			return nil
		}
		r, err := filepath.Rel(root, p)
		if err != nil {
			return fmt.Errorf("signing: %w", err)
		}
		rel := filepath.ToSlash(r)
		if ignored(rel, ignores) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		e, ok, err := checkEntry(p, rel, opts.AllowSymlinks)
		if err != nil {
			return err
		}
		if ok {
			files = append(files, e)
		}
		return nil
	})
	return files, err
}

const (
	chunkSize       = 256 << 10 // fits in L2: read, then hash from cache
	blake3ChunkSize = 8 << 20   // large writes let BLAKE3 hash subtrees in parallel
)

func hashTasks(ctx context.Context, files []fileEntry, tasks []task, ser Serialization, opts HashOptions) ([]Item, error) {
	items := make([]Item, len(tasks))
	if len(tasks) == 0 {
		return items, nil
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(tasks))
	// Largest first balances the workers.
	order := make([]int, len(tasks))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(taskSize(files, tasks[b]), taskSize(files, tasks[a]))
	})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	alg := itemAlgorithm(ser)
	for range workers {
		wg.Go(func() {
			h, _ := ser.Hash.New()
			size := chunkSize
			if ser.Hash == BLAKE3 {
				size = blake3ChunkSize
			}
			buf := make([]byte, size)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(order) || ctx.Err() != nil {
					return
				}
				t := tasks[order[i]]
				f := files[t.file]
				h.Reset()
				if err := hashRange(ctx, h, f, t, buf, opts.Progress); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				it := Item{Path: f.rel, Algorithm: alg, Digest: h.Sum(nil)}
				if ser.Method == MethodShards {
					it.Shard, it.Start, it.End = true, t.start, t.end
				}
				items[order[i]] = it
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return items, nil
}

func taskSize(files []fileEntry, t task) int64 {
	if t.end < 0 {
		return files[t.file].size
	}
	return t.end - t.start
}

// hashRange streams [t.start, t.end) of the file (to EOF when t.end < 0)
// through h: from a read-only mapping where possible, else by reading into
// buf (BLAKE3 then reads ahead in a second goroutine so that reading
// overlaps hashing).
func hashRange(ctx context.Context, h hash.Hash, f fileEntry, t task, buf []byte, progress func(int64)) error {
	fh, err := os.Open(f.abs)
	if err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	defer fh.Close()
	toEOF, end := t.end < 0, t.end
	if toEOF {
		fi, err := fh.Stat()
		if err != nil {
			return fmt.Errorf("signing: %w", err)
		}
		end = fi.Size()
	}
	// Hash straight from the page cache when the file can be mapped.
	if end-t.start >= mmapMinSize {
		if ok, err := hashMapped(ctx, h, fh, t.start, end, len(buf), progress); ok {
			if err != nil || !toEOF {
				return err
			}
			// The reference reads files to EOF: take whatever grew.
			_, err = readInto(ctx, h, io.NewSectionReader(fh, end, 1<<62), buf, progress, f.abs)
			return err
		}
	}
	length := int64(1 << 62)
	if !toEOF {
		length = t.end - t.start
	}
	r := io.NewSectionReader(fh, t.start, length)
	if len(buf) >= blake3ChunkSize {
		return pipelined(ctx, h, r, len(buf), progress, f.abs)
	}
	n, err := readInto(ctx, h, r, buf, progress, f.abs)
	if err != nil {
		return err
	}
	if !toEOF && n != length {
		return fmt.Errorf("signing: %s changed while hashing (short read at offset %d)", f.abs, t.start+n)
	}
	return nil
}

// mmapMinSize is the smallest range worth mapping.
const mmapMinSize = 1 << 20

// readInto streams r through h with buf and returns the bytes hashed.
func readInto(ctx context.Context, h io.Writer, r io.Reader, buf []byte, progress func(int64), name string) (int64, error) {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			h.Write(buf[:k])
			n += int64(k)
			if progress != nil {
				progress(int64(k))
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("signing: reading %s: %w", name, err)
		}
	}
}

func pipelined(ctx context.Context, h io.Writer, r io.Reader, size int, progress func(int64), name string) error {
	const depth = 2
	free := make(chan []byte, depth+1)
	for range depth + 1 {
		free <- make([]byte, size)
	}
	type block struct {
		b   []byte
		err error
	}
	full := make(chan block, depth)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(full)
		for {
			var b []byte
			select {
			case b = <-free:
			case <-done:
				return
			}
			k, err := io.ReadFull(r, b)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			select {
			case full <- block{b[:k], err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for blk := range full {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(blk.b) > 0 {
			h.Write(blk.b)
			if progress != nil {
				progress(int64(len(blk.b)))
			}
		}
		if blk.err == io.EOF {
			return nil
		}
		if blk.err != nil {
			return fmt.Errorf("signing: reading %s: %w", name, blk.err)
		}
		free <- blk.b[:cap(blk.b)]
	}
	return nil
}
