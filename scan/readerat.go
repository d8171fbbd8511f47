package scan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
)

// ScanReaderAt examines one artifact given as bytes rather than a path —
// e.g. a decrypted blob held in memory, so no plaintext file need exist —
// exactly as Scan examines a file: name is the artifact's path in the
// result (and what extension-based detection sees), r and size its bytes.
func (r *Runner) ScanReaderAt(ctx context.Context, name string, ra io.ReaderAt, size int64) (*Result, error) {
	if size < 0 {
		return nil, mlsec.Errorf(mlsec.EINVALID, "scan: negative size %d", size)
	}
	art := Artifact{Path: name, Format: format.Unknown, Findings: []mlsec.Finding{}, Size: size}
	st := &state{r: r, art: &art}
	if r.opts.Digest {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(ra, 0, size)); err != nil {
			return nil, fmt.Errorf("scan: digest: %w", err)
		}
		art.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	in := &Input{Path: name, R: ra, Size: size}
	o := st.dispatch(ctx, in, name)
	art.Format, art.Status, art.Verdict, art.Reason, art.Limit = o.kind, o.status, o.verdict, o.reason, o.limit
	if o.verdict != VerdictNotAnalysed && st.worst.verdict == VerdictNotAnalysed {
		// A member was not analysed: so was the artifact as a whole.
		art.Verdict, art.Reason, art.Limit = VerdictNotAnalysed, "member "+st.worst.member+" not analysed: "+st.worst.reason, st.worst.limit
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	arts := []Artifact{art}
	return &Result{Rules: r.resultRules(arts), Artifacts: arts}, nil
}
