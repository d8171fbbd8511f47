package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/signing"
)

// IntakeBuilderID identifies mlsec intake as the builder of intake provenance.
const intakeBuilderID = "https://mlsec.dev/intake/v1"

type intakeOutput struct {
	gateOutput
	Source     string `json:"source"`
	Upstream   string `json:"upstream_signature"`
	Resigned   bool   `json:"resigned"`
	Signature  string `json:"signature,omitempty"`
	Provenance bool   `json:"provenance_recorded"`
}

func newIntakeCmd(app *App) *cobra.Command { return newIntakeCmdHooks(app, intakeHooks{}) }

// intakeHooks lets tests act between the steps of an intake. The zero value
// does nothing.
type intakeHooks struct {
	// beforeSign runs after the scan and the gate decision, just before
	// the artifact is re-signed.
	beforeSign func()
}

func newIntakeCmdHooks(app *App, hooks intakeHooks) *cobra.Command {
	var (
		df                  decisionFlags
		source, trust, kind string
		stage               string
		upstreamKeys        []string
		hfOut               string
	)
	cmd := &cobra.Command{
		Use:   "intake {PATH --source URL | hf://[datasets/]ORG/NAME[@REV] [--out DIR]} [--trust untrusted] --key ORG.pem",
		Short: "Take an external model or dataset in: quarantine, scan, verify, re-sign, record provenance",
		Long: `Intake takes an artifact from outside the organisation (a Hugging Face model, a
dataset) into the pipeline. The artifact starts quarantined. Intake scans it,
verifies its upstream signature if it has one (against --upstream-key; a
signature that cannot be verified fails intake, and with --upstream-key so
does a missing one), and evaluates the intake
policy (built-in, or --policy).

On a pass it re-signs the artifact with the organisation's key (replacing
the upstream signature, whose digest is kept in the intake record), records
intake provenance (an SLSA provenance statement with the source URL and the
upstream signature status) and a signed gate decision; the artifact becomes
verified. On a fail it records the failed decision and stays quarantined.
(CoSAI AIMM: re-sign external models at ingestion.)

The artifact's root digest is computed before the scan; if the files it
re-signs have a different digest (they changed while intake ran), intake
fails, leaves the existing signature in place and records nothing.

From the Hugging Face Hub, hf://ORG/NAME[@REVISION] (a model) or
hf://datasets/ORG/NAME[@REVISION] (a dataset: --kind defaults to dataset,
--stage to data) (HF_ENDPOINT, HF_TOKEN) pins the revision to a commit,
downloads the snapshot into a quarantine directory beside --out with the
hub's hashes checked, takes it in there (source: the pinned hub URL), and
lands it in --out only when intake passed (docs/transport.md). Spaces
(hf://spaces/...) are applications and are refused.

Exit status: 0 taken in; 1 intake failed; 2 usage or I/O error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			ctx := cmd.Context()
			if err := checkFormat(df.format); err != nil {
				return err
			}
			path := args[0]
			if isHFRef(path) { // hf://[datasets/]ORG/NAME[@REV]: download into quarantine first (intake_hf.go)
				hf, herr := startHFIntake(ctx, app, path, hfOut, source)
				if herr != nil {
					return herr
				}
				defer func() { err = hf.finish(app, err) }()
				path, source = hf.path, hf.source
				if kind == "" && hf.kind != "" { // hf://datasets/…: a dataset unless --kind says otherwise
					kind = string(hf.kind)
				}
			}
			if err := checkModelPath(path); err != nil {
				return err
			}
			if source == "" {
				return mlsec.Errorf(mlsec.EINVALID, "--source URL is required")
			}
			if trust != lifecycle.SourceTrusted && trust != lifecycle.SourceUntrusted {
				return mlsec.Errorf(mlsec.EINVALID, "--trust %q: want trusted or untrusted", trust)
			}
			pl, err := df.loadPipeline()
			if err != nil {
				return err
			}
			signer, pub, err := df.signer()
			if err != nil {
				return err
			}
			if signer == nil {
				return mlsec.Errorf(mlsec.EINVALID, "intake re-signs with the organisation's key: pass --key, --certificate with --key, or --sigstore")
			}
			ids, operator, err := df.identities(pl, pub)
			if err != nil {
				return err
			}
			var upstream []policy.NamedVerifier
			for _, f := range upstreamKeys {
				data, err := os.ReadFile(f)
				if err != nil {
					return mlsec.Errorf(mlsec.EIO, "--upstream-key: %w", err)
				}
				k, err := signing.ParsePublicKey(data)
				if err != nil {
					return mlsec.Errorf(mlsec.EINVALID, "--upstream-key %s: %w", f, err)
				}
				upstream = append(upstream, policy.NamedVerifier{Name: "upstream:" + filepath.Base(f), Verifier: &signing.KeyVerifier{Key: k}})
			}
			t := policy.Target{Path: path, Kind: lifecycle.Kind(kind), SourceURL: source, Trust: trust}
			if pl != nil {
				if def, ok := pl.Artifact(path); ok && kind == "" {
					t.Kind = def.Kind
				}
			}
			if t.Kind == "" {
				t.Kind = lifecycle.KindExternalModel
				if stage == lifecycle.StageData || stage == lifecycle.StageTraining {
					t.Kind = lifecycle.KindDataset
				} else if stage == lifecycle.StageKnowledge {
					t.Kind = lifecycle.KindRAGCorpus
				}
			}
			if !lifecycle.ValidKind(t.Kind) {
				return mlsec.Errorf(mlsec.EINVALID, "--kind %q is not an artifact kind", kind)
			}
			if stage == "" {
				stage = lifecycle.StageExperimentation
				switch t.Kind.Class() {
				case "dataset":
					stage = lifecycle.StageData
				case "llm-asset":
					stage = lifecycle.StageKnowledge
				}
			}
			if _, ok := lifecycle.LookupStage(stage); !ok {
				return mlsec.Errorf(mlsec.EINVALID, "unknown stage %q (want one of %s)", stage, strings.Join(lifecycle.StageNames(), ", "))
			}
			eng, err := policy.NewEngine()
			if err != nil {
				return err
			}
			var params map[string]any
			if len(upstream) > 0 {
				// An expected publisher signature that is missing (stripped,
				// or left in ./model.sig) fails INTAKE-003: re-signing it
				// as the organisation's would launder it.
				params = map[string]any{"require_upstream_signature": true}
			}
			gate, err := eng.IntakeGate(stage, df.policyFile, params)
			if err != nil {
				return mlsec.Errorf(mlsec.EINVALID, "%w", err)
			}
			cfg, err := df.loadScanConfig()
			if err != nil {
				return err
			}
			return runIntake(ctx, app, intakeRun{
				path: path, target: t, gate: gate, signer: signer, operator: operator, format: df.format,
				gatherer: &policy.Gatherer{Pipeline: pl, Identities: append(upstream, ids...), ScanConfig: cfg,
					ScanOptions: scan.Options{Log: app.Log}, Log: app.Log},
				upstream: upstream, hooks: hooks,
			})
		},
	}
	df.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&source, "source", "", "upstream URL the artifact came from (required)")
	fl.StringVar(&trust, "trust", lifecycle.SourceUntrusted, "trust of the source: trusted or untrusted")
	fl.StringVar(&kind, "kind", "", "artifact kind (default external-model, or dataset / rag-corpus by --stage)")
	fl.StringVar(&stage, "stage", "", "stage the artifact enters (default by kind: experimentation, data or knowledge)")
	fl.StringSliceVar(&upstreamKeys, "upstream-key", nil, "PEM public key of the upstream publisher (repeatable)")
	fl.StringVar(&hfOut, "out", "", "hf://ORG/NAME[@REV]: directory the model lands in when intake passes (default ./NAME)")
	return cmd
}

type intakeRun struct {
	path     string
	target   policy.Target
	gate     *policy.Gate
	gatherer *policy.Gatherer
	upstream []policy.NamedVerifier
	signer   signing.Signer
	operator string
	format   string
	hooks    intakeHooks
}

func runIntake(ctx context.Context, app *App, r intakeRun) error {
	r.target.Stage = r.gate.Stage
	// The manifest is hashed before the scan, with the options the
	// organisation's signature uses, so that what is signed can be checked
	// to be what was scanned.
	opts := signing.HashOptions{}
	if fi, err := os.Stat(r.path); err == nil && fi.IsDir() {
		opts.IgnorePaths = []string{evidence.SignatureName, evidence.ClaimsName}
	}
	scanned, scannedErr := signing.HashModel(ctx, r.path, opts)
	g, err := r.gatherer.Gather(ctx, r.target)
	if err != nil {
		return err
	}
	ev := g.Evidence
	// The signature judged at intake is the upstream one: an artifact the
	// organisation already signed is not "upstream verified".
	upstreamStatus := "absent"
	if ev.Signature.Present {
		upstreamStatus = "invalid"
		if ev.Signature.Verified && strings.HasPrefix(ev.Signature.Identity, "upstream:") {
			upstreamStatus = "verified"
		} else if ev.Signature.Verified && len(r.upstream) == 0 {
			upstreamStatus = "verified"
		}
	}
	if ev.Signature.Present && !ev.Signature.Verified && len(r.upstream) == 0 {
		upstreamStatus = "not checked (no --upstream-key)"
		ev.Signature.Reason = "the artifact carries a signature, but no --upstream-key was given to check it against the publisher's key"
	}
	d := r.gate.Evaluate(ev)
	if !ev.Signature.Present && len(r.upstream) > 0 {
		if sig, err := evidence.SignaturePath(r.path); err == nil {
			fmt.Fprintf(app.Stderr, "mlsec: --upstream-key given, but %v\n", evidence.MissingSignature(r.path, sig))
		}
	}
	before := lifecycle.TrustState(ev.Trust.State)
	outcome := lifecycle.OutcomePass
	if d.Result == policy.Fail {
		outcome = lifecycle.OutcomeFail
	}
	after := lifecycle.Next(before, d.Stage, outcome, false)
	o := intakeOutput{Source: r.target.SourceURL, Upstream: upstreamStatus}
	subject := g.Subject
	claimsPath, err := evidence.ClaimsPath(r.path)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	if d.Result != policy.Fail && before != lifecycle.Revoked {
		// Re-sign with the organisation's key.
		sigPath, err := evidence.SignaturePath(r.path)
		if err != nil {
			return mlsec.Errorf(mlsec.EIO, "%w", err)
		}
		upstreamSig := ""
		if b, err := os.ReadFile(sigPath); err == nil {
			s := sha256.Sum256(b)
			upstreamSig = hex.EncodeToString(s[:])
		}
		if scannedErr != nil {
			return signingError(scannedErr)
		}
		if r.hooks.beforeSign != nil {
			r.hooks.beforeSign()
		}
		res, err := signing.Sign(ctx, r.path, r.signer, opts)
		if err != nil {
			return signingError(err)
		}
		if before, signed := scanned.RootDigest(), res.Manifest.RootDigest(); !bytes.Equal(before, signed) {
			// The new signature is not written: the upstream one, if any,
			// stays, and no provenance or decision is recorded.
			msg := fmt.Sprintf("%s changed between the scan and the signing (root digest sha256:%x before the scan, sha256:%x when signed)", r.path, before, signed)
			if d := signing.Compare(scanned, res.Manifest); !d.Empty() {
				msg += ": " + d.String()
			}
			fmt.Fprintf(app.Stderr, "mlsec: intake: %s; not re-signed, nothing recorded: run intake again on a stable copy\n", msg)
			return fmt.Errorf("intake: %s: %w", msg, mlsec.ErrFindings)
		}
		if err := os.WriteFile(sigPath, res.Bundle, 0o644); err != nil {
			return mlsec.Errorf(mlsec.EIO, "writing signature: %w", err)
		}
		o.Resigned, o.Signature = true, sigPath
		subject, err = attest.Identify(ctx, &attest.Hasher{}, r.path)
		if err != nil {
			return mlsec.Errorf(mlsec.EIO, "%w", err)
		}
		subject.Name = ev.Artifact.Name
		params := map[string]any{"source": r.target.SourceURL, "trust": r.target.Trust,
			"upstreamSignature": upstreamStatus, "resigned": true, "kind": string(r.target.Kind)}
		if upstreamSig != "" {
			params["upstreamSignatureSHA256"] = upstreamSig
		}
		if ev.Signature.Identity != "" && upstreamStatus == "verified" {
			params["upstreamIdentity"] = ev.Signature.Identity
		}
		prov := &attest.Provenance{Subject: subject, RunType: "intake", BuildType: policy.IntakeBuildType,
			BuilderID: intakeBuilderID, Parameters: params, StartedOn: time.Now().UTC(),
			// The source is the artifact's upstream: its URL and the
			// digest the files had when taken in, never the artifact itself.
			Dependencies: []attest.Dependency{{Role: attest.RoleSource, URI: r.target.SourceURL, Digest: g.Subject.Digest}}}
		st, err := prov.Statement()
		if err != nil {
			return mlsec.Errorf(mlsec.EINTERNAL, "%w", err)
		}
		if err := signAppend(ctx, r.signer, st, claimsPath); err != nil {
			return err
		}
		o.Provenance = true
	} else {
		after = before
		if d.Result == policy.Fail {
			after = lifecycle.Next(before, d.Stage, lifecycle.OutcomeFail, false)
		}
	}
	vst, err := policy.VSAStatement(policy.VSARequest{Subject: subject, ResourceURI: r.target.SourceURL, Decision: d,
		TrustBefore: string(before), TrustState: string(after), Operator: r.operator, Inputs: g.Inputs, Time: time.Now()})
	if err != nil {
		return err
	}
	if err := signAppend(ctx, r.signer, vst, claimsPath); err != nil {
		return err
	}
	o.gateOutput = gateOutput{Path: r.path, Artifact: ev.Artifact.Name, Subject: string(subject.Digest), Stage: d.Stage,
		Result: d.Result, TrustBefore: string(before), TrustAfter: string(after), Rules: d.Rules, Policies: d.Policies, VSA: claimsPath}
	if r.format == "json" {
		if err := writeJSON(app.Stdout, o); err != nil {
			return err
		}
	} else {
		w := app.Stdout
		fmt.Fprintf(w, "%s intake %s (%s) from %s\n", d.Result, ev.Artifact.Name, subject.Digest.Short(), r.target.SourceURL)
		for _, rr := range d.Rules {
			fmt.Fprintf(w, "  %-4s %-12s %s\n", rr.Result, rr.RuleID, rr.Reason)
			if rr.Result != policy.Pass && rr.Remediation != "" {
				fmt.Fprintf(w, "       %-12s fix: %s\n", "", rr.Remediation)
			}
		}
		fmt.Fprintf(w, "upstream signature: %s\n", upstreamStatus)
		if o.Resigned {
			fmt.Fprintf(w, "re-signed with the organisation's key: %s\n", filepath.ToSlash(o.Signature))
			fmt.Fprintf(w, "intake provenance appended to %s\n", filepath.ToSlash(claimsPath))
		}
		fmt.Fprintf(w, "trust: %s → %s\n", before, after)
		fmt.Fprintf(w, "decision: signed VSA appended to %s\n", filepath.ToSlash(claimsPath))
	}
	if d.Result == policy.Fail {
		return fmt.Errorf("intake: %w", mlsec.ErrFindings)
	}
	return nil
}

func signAppend(ctx context.Context, s signing.Signer, statement []byte, claimsPath string) error {
	b, err := attest.Sign(ctx, s, statement)
	if err != nil {
		return mlsec.Errorf(mlsec.EINVALID, "signing: %w", err)
	}
	if err := attest.AppendClaim(claimsPath, b); err != nil {
		return mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	return nil
}
