package signing

import (
	"crypto/sha256"
	"fmt"
	"hash"

	"golang.org/x/crypto/blake2b"
	"lukechampine.com/blake3"
)

// HashAlgorithm names a digest algorithm as the reference writes it in
// "hash_type" and in file resources.
type HashAlgorithm string

// Supported hash algorithms.
const (
	SHA256  HashAlgorithm = "sha256"
	BLAKE2b HashAlgorithm = "blake2b" // BLAKE2b-512, as Python's hashlib.blake2b()
	BLAKE3  HashAlgorithm = "blake3"  // 256-bit output
)

// ParseHashAlgorithm accepts sha256, blake2b (or the reference's API name
// blake2) and blake3.
func ParseHashAlgorithm(s string) (HashAlgorithm, error) {
	switch s {
	case "sha256", "":
		return SHA256, nil
	case "blake2b", "blake2":
		return BLAKE2b, nil
	case "blake3":
		return BLAKE3, nil
	}
	return "", fmt.Errorf("%w: hash algorithm %q (want sha256, blake2b or blake3)", ErrUnsupported, s)
}

// New returns a fresh hash.Hash for a.
func (a HashAlgorithm) New() (hash.Hash, error) {
	switch a {
	case SHA256:
		return sha256.New(), nil
	case BLAKE2b:
		return blake2b.New512(nil)
	case BLAKE3:
		return blake3.New(32, nil), nil
	}
	return nil, fmt.Errorf("%w: hash algorithm %q", ErrUnsupported, string(a))
}

// Size returns the digest size in bytes, or 0 for an unknown algorithm.
func (a HashAlgorithm) Size() int {
	switch a {
	case SHA256, BLAKE3:
		return 32
	case BLAKE2b:
		return 64
	}
	return 0
}

// itemAlgorithm is the resource "algorithm" the reference writes.
func itemAlgorithm(s Serialization) string {
	if s.Method == MethodShards {
		return fmt.Sprintf("%s-sharded-%d", s.Hash, s.ShardSize)
	}
	return string(s.Hash)
}
