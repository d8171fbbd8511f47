// Package dial opens the store a command line asks for: embedded SQLite in
// a data directory by default, PostgreSQL when a postgres:// URL is given.
// It also opens the data directory's encrypted blob store. It is the one
// place `mlsec serve`, `mlsec worker`, `mlsec hub` and `mlsec audit` share.
package dial

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
	"github.com/mlsecops/mlsec/store/postgres"
	"github.com/mlsecops/mlsec/store/sqlite"
)

// Config names the storage.
type Config struct {
	// DataDir holds the SQLite database and job queue (unless DatabaseURL
	// is set), the blob store and the blob keys. Default: DefaultDataDir.
	DataDir string
	// DatabaseURL selects PostgreSQL: postgres://user@host:port/db.
	DatabaseURL string
	// Schema is an optional PostgreSQL schema (tests).
	Schema string
	// KeyFile is an age identity file holding the blob keys (every
	// identity in it decrypts, the last encrypts), kept anywhere but
	// beside the blobs: another volume, a tmpfs a secret manager fills.
	// KeyCommand instead runs a command (sh -c) whose standard output is
	// that file's content, e.g. a KMS or secret-manager CLI; the identity
	// then never touches the server's disks. Neither: DataDir/keys.
	KeyFile    string
	KeyCommand string
	Log        *slog.Logger
}

// DefaultDataDir is the data directory used when none is given: "mlsec-data"
// in the working directory, as for `mlsec serve`.
const DefaultDataDir = "mlsec-data"

// QueueFile is the SQLite job-queue database inside a data directory
// (single-node mode; with PostgreSQL the queue shares the database).
const QueueFile = "queue.db"

// IsPostgres reports whether url names a PostgreSQL database.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

func (c Config) dataDir() string {
	if c.DataDir != "" {
		return c.DataDir
	}
	return DefaultDataDir
}

// QueuePath returns the SQLite job-queue file for c, or "" with PostgreSQL.
func (c Config) QueuePath() string {
	if c.DatabaseURL != "" {
		return ""
	}
	return filepath.Join(c.dataDir(), QueueFile)
}

// Open opens the configured store.
func Open(ctx context.Context, c Config) (store.Store, error) {
	if c.DatabaseURL != "" {
		if !IsPostgres(c.DatabaseURL) {
			return nil, fmt.Errorf("%w: --database must be a postgres:// URL (SQLite lives in --data)", store.ErrInvalid)
		}
		return postgres.Open(ctx, c.DatabaseURL, postgres.Options{Schema: c.Schema, Log: c.Log})
	}
	return sqlite.OpenDir(ctx, c.dataDir(), sqlite.Options{Log: c.Log})
}

// Blobs opens the encrypted blob store in DataDir/blobs with the keys of
// KeyCommand, KeyFile, or DataDir/keys, creating the first identity (in a
// key file or DataDir/keys) if there is none.
func Blobs(c Config) (*blob.Store, error) {
	keys, err := Keyring(c, true)
	if err != nil {
		return nil, err
	}
	return blob.Open(filepath.Join(c.dataDir(), "blobs"), keys)
}

// HasKeys reports whether c names blob keys that exist (a key command is
// assumed to).
func HasKeys(c Config) bool {
	switch {
	case c.KeyCommand != "":
		return true
	case c.KeyFile != "":
		_, err := os.Stat(c.KeyFile)
		return err == nil
	}
	_, err := os.Stat(filepath.Join(c.dataDir(), "keys"))
	return err == nil
}

// KeyCommandTimeout bounds a KeyCommand run.
const KeyCommandTimeout = 30 * time.Second

// Keyring loads the blob keys c names (see Config.KeyFile, KeyCommand).
func Keyring(c Config, create bool) (*blob.Keyring, error) {
	switch {
	case c.KeyCommand != "" && c.KeyFile != "":
		return nil, fmt.Errorf("%w: give a key file or a key command, not both", store.ErrInvalid)
	case c.KeyCommand != "":
		out, err := RunKeyCommand(c.KeyCommand)
		if err != nil {
			return nil, err
		}
		return blob.ParseKeyring(bytes.NewReader(out), "from the key command")
	case c.KeyFile != "":
		return blob.LoadKeyFile(c.KeyFile, create)
	}
	return blob.LoadKeyring(filepath.Join(c.dataDir(), "keys"), create)
}

// RunKeyCommand runs command with sh -c and returns its standard output
// (at most 1 MiB); its standard error is passed through.
func RunKeyCommand(command string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), KeyCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	var out limitedBuffer
	out.max = 1 << 20
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("blob: key command: %w", err)
	}
	if out.over {
		return nil, fmt.Errorf("blob: key command printed more than %d bytes", out.max)
	}
	return out.Bytes(), nil
}

type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.over = true
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
