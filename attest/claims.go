package attest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mlsecops/mlsec/signing"
)

// MaxClaimSize bounds one line of a claims file. Longer lines are reported
// as broken claims and skipped without being held in memory.
const MaxClaimSize = 8 << 20

// ErrNotBundle reports a claims line that is not a Sigstore bundle.
var ErrNotBundle = errors.New("attest: claims line is not a Sigstore bundle")

// Claim is one non-empty line of a claims file.
type Claim struct {
	// Line is the 1-based line number.
	Line int
	// Bundle is the line's bytes (a bundle's JSON), valid only during the
	// callback; nil when the line was too long.
	Bundle []byte
	// Err is set when the line cannot be a claim (too long).
	Err error
}

// ReadClaims streams the claims file r line by line, calling fn for each
// non-empty line (blank lines are skipped). A line longer than
// MaxClaimSize is reported with Err set and skipped; reading goes on, so a
// broken line never hides the claims after it. Memory stays bounded by
// MaxClaimSize whatever the input.
func ReadClaims(r io.Reader, fn func(Claim) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	line := 0
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > MaxClaimSize+1 {
				tooLong, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		atEOF := err == io.EOF
		if err != nil && !atEOF {
			return fmt.Errorf("attest: reading claims: %w", err)
		}
		if !atEOF || len(buf) > 0 || tooLong {
			line++
			c := Claim{Line: line}
			if tooLong {
				c.Err = fmt.Errorf("%w: line %d is longer than %d bytes", ErrNotBundle, line, MaxClaimSize)
			} else {
				c.Bundle = bytes.TrimSpace(buf)
			}
			if c.Err != nil || len(c.Bundle) > 0 {
				if ferr := fn(c); ferr != nil {
					return ferr
				}
			}
		}
		if atEOF {
			return nil
		}
		buf, tooLong = buf[:0], false
	}
}

// ReadClaimsFile is ReadClaims on a file; a missing file has no claims.
func ReadClaimsFile(path string, fn func(Claim) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	defer f.Close()
	// A device or pipe (a hostile model's claims.jsonl linked to
	// /dev/zero) would never end.
	if fi, err := f.Stat(); err != nil {
		return fmt.Errorf("attest: %w", err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("attest: claims file %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	return ReadClaims(f, fn)
}

// PeekStatement parses a claim's statement without verifying its
// signature (for indexing evidence, never for trust decisions).
func PeekStatement(bundleJSON []byte) (Statement, error) {
	b, err := signing.ReadBundle(bundleJSON)
	if err != nil {
		return Statement{}, fmt.Errorf("%w: %w", ErrNotBundle, err)
	}
	if pt := b.GetDsseEnvelope().GetPayloadType(); pt != PayloadType {
		return Statement{}, fmt.Errorf("%w: DSSE payload type %q, want %q", ErrMalformed, pt, PayloadType)
	}
	return ParseStatement(b.GetDsseEnvelope().GetPayload())
}

// AppendClaim appends one bundle (compact JSON, no newline) to the claims
// file at path, creating it. Earlier lines are never rewritten: the new
// line is written with a single O_APPEND write, preceded by a newline when
// the file does not end with one.
func AppendClaim(path string, bundleJSON []byte) error {
	if bytes.ContainsAny(bundleJSON, "\r\n") {
		return fmt.Errorf("%w: a claim must be one line of compact JSON", ErrMalformed)
	}
	if _, err := signing.ReadBundle(bundleJSON); err != nil {
		return fmt.Errorf("%w: %w", ErrNotBundle, err)
	}
	// Never append through a symbolic link or to a device: a model
	// directory from elsewhere could point claims.jsonl at any file of the
	// user's.
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("attest: claims file %s is not a regular file (%s): refusing to append", path, fi.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	line := make([]byte, 0, len(bundleJSON)+2)
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if rf, err := os.Open(path); err == nil {
			if _, err := rf.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
				line = append(line, '\n')
			}
			rf.Close()
		}
	}
	line = append(append(line, bundleJSON...), '\n')
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("attest: appending claim: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("attest: appending claim: %w", err)
	}
	return nil
}

// ClaimStatus is the verdict on one claim.
type ClaimStatus string

// Claim verdicts.
const (
	ClaimValid ClaimStatus = "valid"
	// ClaimInvalid: not a bundle, bad or untrusted signature, malformed
	// statement or predicate.
	ClaimInvalid ClaimStatus = "invalid"
	// ClaimOtherSubject: validly signed but about another artifact.
	ClaimOtherSubject ClaimStatus = "other-subject"
)

// ClaimResult is the outcome of verifying one claim.
type ClaimResult struct {
	Line          int         `json:"line"`
	Status        ClaimStatus `json:"status"`
	PredicateType string      `json:"predicate_type,omitempty"`
	Subjects      []Digest    `json:"subjects,omitempty"`
	Reason        string      `json:"reason,omitempty"`
	// Statement is set for signed, well-formed statements.
	Statement Statement `json:"-"`
	// Err is the error behind an invalid claim.
	Err error `json:"-"`
}

// OK reports whether the claim is valid for the artifact.
func (r ClaimResult) OK() bool { return r.Status == ClaimValid }

// VerifyClaims verifies every claim in r against the artifact whose root
// digest is want: the bundle's signature with v, a well-formed statement
// and predicate, and a subject equal to want. Each claim gets its own
// result, in file order; one broken claim never hides another.
func VerifyClaims(ctx context.Context, r io.Reader, want Digest, v signing.Verifier, fn func(ClaimResult) error) error {
	return ReadClaims(r, func(c Claim) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(VerifyClaim(ctx, c, want, v))
	})
}

// VerifyClaim verifies one claim; see VerifyClaims.
func VerifyClaim(ctx context.Context, c Claim, want Digest, v signing.Verifier) ClaimResult {
	res := ClaimResult{Line: c.Line, Status: ClaimInvalid}
	fail := func(err error) ClaimResult {
		res.Err, res.Reason = err, reason(err)
		return res
	}
	if c.Err != nil {
		return fail(c.Err)
	}
	b, err := signing.ReadBundle(c.Bundle)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrNotBundle, err))
	}
	payload, err := v.VerifyBundle(ctx, b)
	if err != nil {
		return fail(err)
	}
	st, err := ParseStatement(payload)
	if err != nil {
		return fail(err)
	}
	res.PredicateType, res.Subjects, res.Statement = st.GetPredicateType(), st.Subjects(), st
	if err := CheckPredicate(st); err != nil {
		return fail(err)
	}
	if !st.About(want) {
		res.Status = ClaimOtherSubject
		res.Err = fmt.Errorf("%w: the claim is about %v, the artifact on disk is %s", ErrSubject, res.Subjects, want)
		res.Reason = reason(res.Err)
		return res
	}
	res.Status = ClaimValid
	return res
}

// Reason renders err for people: without the attest and signing package
// prefixes, as ClaimResult.Reason is.
func Reason(err error) string { return reason(err) }

// reason strips the package prefixes from err for display.
func reason(err error) string {
	s := err.Error()
	for _, p := range []string{"attest: ", "signing: invalid signature: ", "signing: "} {
		for len(s) > len(p) && s[:len(p)] == p {
			s = s[len(p):]
		}
		// Wrapped causes carry the prefixes too: a line that is not a
		// bundle is not "an invalid signature".
		s = strings.ReplaceAll(s, ": "+p, ": ")
	}
	return s
}
