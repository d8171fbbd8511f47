//go:build !linux

package quarantine

import "os"

func rename(src, dst string) error { return os.Rename(src, dst) }
