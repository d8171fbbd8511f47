package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/transport"
	"github.com/mlsecops/mlsec/transport/oci"
	"github.com/mlsecops/mlsec/transport/quarantine"
)

type pullFlags struct {
	registry   registryFlags
	trust      trustFlags
	stage      string
	failOn     string
	scanConfig string
	pipeline   string
	limits     oci.Limits
}

func newPullCmd(app *App) *cobra.Command {
	var fl pullFlags
	cmd := &cobra.Command{
		Use:   "pull [flags] oci://REGISTRY/REPO@sha256:... DIR",
		Short: "Pull a model from an OCI registry, verify it, scan it, and only then land it in DIR",
		Long: `Pull is verify-then-land. It fetches the model manifest by digest (a tag is
resolved once, printed, and the digest used from then on), streams every
layer into a quarantine directory beside DIR checking each digest and size
as the bytes arrive (tar layers bounded by --max-inflated-bytes,
--max-inflated-members, --max-ratio, --max-depth), reads the evidence
referrers (OMS signature, claims), verifies the OMS signature with the same
flags as mlsec verify (--key, --ca-bundle, --identity with --issuer; every
signature referrer is checked, untrusted ones are ignored and named),
requires every claim to be about the signed model, scans the model (fail closed: a
finding at or above --fail-on, or a file that could not be analysed), and
with --stage NAME evaluates that stage's gate (KServe and admission use
serving). Only an artifact that passed everything is renamed to DIR, in one
step; DIR must not exist or be an empty directory. Any failure leaves DIR
untouched and says why.

Reads CNCF ModelPack artifacts (what mlsec push writes), KitOps ModelKits
and generic OCI artifacts whose layers carry file names.

Exit status: 0 landed; 1 a check failed (digest, signature, scan, gate);
2 usage, network or registry errors.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPull(cmd.Context(), app, fl, args[0], args[1])
		},
	}
	fl.registry.register(cmd)
	fl.trust.register(cmd)
	f := cmd.Flags()
	f.StringVar(&fl.stage, "stage", "", "also evaluate this lifecycle stage's gate: "+strings.Join(lifecycle.StageNames(), ", "))
	f.StringVar(&fl.failOn, "fail-on", "high", "refuse the model when a finding is at or above this severity: critical|high|medium|low|info")
	f.StringVar(&fl.scanConfig, "config", "", "scan configuration file (mlsec.yaml)")
	f.StringVar(&fl.pipeline, "pipeline", "", "pipeline file for --stage (policies, identities)")
	d := oci.DefaultLimits()
	f.Int64Var(&fl.limits.MaxInflatedBytes, "max-inflated-bytes", d.MaxInflatedBytes, "refuse layers writing more than this many bytes in all (tar layers as they inflate, raw layers by declared size)")
	f.Int64Var(&fl.limits.MaxInflatedMembers, "max-inflated-members", d.MaxInflatedMembers, "refuse tar layers holding more entries than this in all")
	f.Int64Var(&fl.limits.MaxRatio, "max-ratio", d.MaxRatio, "refuse a compressed tar layer inflating more than this many times its size")
	f.IntVar(&fl.limits.MaxDepth, "max-depth", d.MaxDepth, "refuse file names deeper than this many directories")
	return cmd
}

// pullRefused reports a pulled artifact that failed a check: printed with
// its reason, exit 1.
func pullRefused(app *App, dest string, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(app.Stderr, "mlsec: pull refused: %s; %s untouched\n", msg, dest)
	return fmt.Errorf("pull: %s: %w", msg, mlsec.ErrFindings)
}

func runPull(ctx context.Context, app *App, fl pullFlags, refArg, dest string) error {
	ref, err := oci.ParseReference(refArg)
	if err != nil {
		return usageError(err)
	}
	threshold, err := parseFailOn(fl.failOn)
	if err != nil || threshold == mlsec.SeverityNone {
		return mlsec.Errorf(mlsec.EINVALID, "pull: --fail-on %q: want critical, high, medium, low or info", fl.failOn)
	}
	v, err := fl.trust.verifier(app)
	if err != nil {
		return err
	}
	cfg := scan.DefaultConfig()
	if fl.scanConfig != "" {
		if cfg, err = scan.LoadConfig(fl.scanConfig); err != nil {
			return usageError(err)
		}
	}
	var gate *policy.Gate
	var pl *lifecycle.Pipeline
	if fl.stage != "" {
		if fl.pipeline != "" {
			if pl, err = lifecycle.LoadPipeline(fl.pipeline); err != nil {
				return usageError(err)
			}
		}
		eng, err := policy.NewEngine()
		if err != nil {
			return err
		}
		if gate, err = eng.StageGate(fl.stage, pl, ""); err != nil {
			return err
		}
	}
	repo, err := oci.NewRepository(ref, fl.registry.options())
	if err != nil {
		return usageError(err)
	}
	pinned, isDigest := ref.Digest()
	desc, err := repo.Resolve(ctx, ref.Reference)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "pull: resolve %s: %w", refArg, err)
	}
	if isDigest == nil {
		if desc.Digest != pinned {
			return pullRefused(app, dest, "registry resolved %s to %s", pinned, desc.Digest)
		}
	} else {
		fmt.Fprintf(app.Stderr, "resolved %s to %s%s/%s@%s\n", refArg, oci.Scheme, ref.Registry, ref.Repository, desc.Digest)
	}
	q, err := quarantine.New(dest)
	if err != nil {
		return mlsec.Errorf(mlsec.EINVALID, "pull: %w", err)
	}
	defer q.Discard()
	start := time.Now()
	p, err := oci.Pull(ctx, repo, desc, q.Path(), oci.PullOptions{Limits: fl.limits})
	if err != nil {
		if errors.Is(err, oci.ErrArtifact) {
			return pullRefused(app, dest, "%v", err)
		}
		return mlsec.Errorf(mlsec.EIO, "pull: %w (%s untouched)", err, dest)
	}
	fetched := time.Since(start)
	fmt.Fprintf(app.Stderr, "fetched %d layers, %s in %.2f s (%s/s), digests checked while streaming\n",
		len(p.Files), humanBytes(p.Bytes), fetched.Seconds(), humanBytes(int64(float64(p.Bytes)/max(fetched.Seconds(), 1e-3))))
	start = time.Now()
	model := q.Path()
	if !p.Dir {
		model = filepath.Join(q.Path(), p.Name)
	}
	_, claimsPath, err := transport.EvidencePaths(model)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "pull: %w", err)
	}
	// The signature: every signature referrer is checked; one from a
	// trusted signer must verify and match the files (raw layers were
	// hashed as they streamed).
	if len(p.Signatures) == 0 {
		return pullRefused(app, dest, "%s has no OMS signature referrer", desc.Digest)
	}
	var cands []sigCandidate
	for _, s := range p.Signatures {
		cands = append(cands, sigCandidate{label: "referrer " + s.Referrer.Digest.String(), bundle: s.Bundle})
	}
	var digests map[string][]byte
	if p.Dir && !p.Archives {
		digests = p.Digests
	}
	so, err := verifySignatures(ctx, v, model, digests, cands)
	if err != nil {
		return pullCheckErr(app, dest, err)
	}
	for _, n := range so.notes {
		fmt.Fprintf(app.Stderr, "%s\n", n)
	}
	fmt.Fprintf(app.Stderr, "signature verified: %s (%s), root %s\n", desc.Digest, so.chose, so.check.Digest)
	// The claims: each must be about the model the signature covers (its
	// root digest), so a claim about another model cannot be swapped in.
	if len(p.Claims) > 0 {
		var b bytes.Buffer
		for _, c := range p.Claims {
			if err := claimNames(c.Bundle, so.check.Digest); err != nil {
				return pullRefused(app, dest, "claim referrer %s: %v", c.Referrer.Digest, err)
			}
			b.Write(bytes.TrimSpace(c.Bundle))
			b.WriteByte('\n')
		}
		if err := writeNew(claimsPath, b.Bytes()); err != nil {
			return pullRefused(app, dest, "claims: %v", err)
		}
	}
	if err := scanReceived(ctx, app, cfg, threshold, model, q.Path()); err != nil {
		return pullCheckErr(app, dest, err)
	}
	h := &attest.Hasher{}
	if gate != nil {
		r := &policy.Runner{Gatherer: &policy.Gatherer{Pipeline: pl, Hasher: h,
			Identities: []policy.NamedVerifier{{Name: "pull", Verifier: v}}, ScanConfig: cfg,
			ScanOptions: scan.Options{Log: app.Log}, Log: app.Log}, Gate: gate}
		t := policy.Target{Path: model, Kind: defaultKind(fl.stage), SourceURL: oci.Scheme + ref.Registry + "/" + ref.Repository + "@" + desc.Digest.String()}
		out, err := r.Run(ctx, t, nil)
		if err != nil {
			return err
		}
		if out.Decision.Result == policy.Fail {
			var failed []string
			for _, rr := range out.Decision.Rules {
				if rr.Result == policy.Fail {
					failed = append(failed, rr.RuleID+": "+rr.Reason)
				}
			}
			return pullRefused(app, dest, "gate %s FAILED: %s", fl.stage, strings.Join(failed, "; "))
		}
		fmt.Fprintf(app.Stderr, "gate %s: %s\n", fl.stage, out.Decision.Result)
	}
	checks := "signature, scan"
	if gate != nil {
		checks += ", gate " + fl.stage
	}
	fmt.Fprintf(app.Stderr, "checked %s in %.2f s\n", checks, time.Since(start).Seconds())
	if err := q.Land(); err != nil {
		return mlsec.Errorf(mlsec.EIO, "pull: %w", err)
	}
	landed := dest
	if !p.Dir {
		landed = filepath.Join(dest, p.Name)
	}
	fmt.Fprintf(app.Stdout, "pulled %s%s/%s@%s to %s: %s, %d files, %s, %d claims\n", oci.Scheme, ref.Registry, ref.Repository, desc.Digest,
		landed, p.Format, len(p.Files), humanBytes(p.Bytes), len(p.Claims))
	return nil
}

// pullCheckErr reports a failed check of verifySignatures or
// scanReceived: a refusal exits 1, anything else keeps its status.
func pullCheckErr(app *App, dest string, err error) error {
	var r *refusal
	if errors.As(err, &r) {
		return pullRefused(app, dest, "%s", r.msg)
	}
	return fmt.Errorf("pull: %w (%s untouched)", err, dest)
}

// claimNames checks that a claim's statement names want among its
// subjects. The claim's own signature is not verified here (gates and
// mlsec verify-chain verify claims against their signers' identities).
func claimNames(bundle []byte, want attest.Digest) error {
	pk, err := attest.PeekClaim(bundle)
	if err != nil {
		return err
	}
	if !slices.Contains(pk.Subjects, want) {
		return fmt.Errorf("it is about %v, not this model (%s)", pk.Subjects, want)
	}
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
