package cli

import (
	"crypto/ecdsa"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/signing"
)

// decisionFlags are the flags of the commands that record signed decisions
// (gate, intake): the signing method (signerFlags, shared with mlsec attest
// and parsed as mlsec sign parses it), the trusted identities, the pipeline
// and the policy.
type decisionFlags struct {
	sf          signerFlags
	identity    string
	trustedKeys []string
	pipeline    string
	policyFile  string
	scanConfig  string
	format      string
}

func (f *decisionFlags) register(cmd *cobra.Command) {
	f.sf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.identity, "identity", "", "name of the signing identity recorded in the decision (default: the pipeline identity whose key matches --key, else \"self\")")
	fl.StringArrayVar(&f.trustedKeys, "trusted-key", nil, "NAME=PUB.pem: an extra identity whose signatures and claims are trusted (repeatable)")
	fl.StringVar(&f.pipeline, "pipeline", "", "pipeline file (artifacts, sources, identities, roles, stage gates)")
	fl.StringVar(&f.policyFile, "policy", "", "policy file to apply instead of the pipeline's or the built-in policy")
	fl.StringVar(&f.scanConfig, "config", "", "scan configuration file (mlsec.yaml)")
	fl.StringVar(&f.format, "format", "text", "output format: text or json")
}

// signer builds the decision signer, nil when no signing method was
// given; pub is its public key for the key and certificate methods (nil
// for keyless).
func (f *decisionFlags) signer() (signing.Signer, *ecdsa.PublicKey, error) {
	if f.sf.key == "" && f.sf.cert == "" && !f.sf.useSigstore {
		return nil, nil, nil
	}
	s, _, err := f.sf.signer()
	if err != nil {
		return nil, nil, err
	}
	switch s := s.(type) {
	case *signing.KeySigner:
		return s, &s.Key.PublicKey, nil
	case *signing.CertSigner:
		return s, &s.Key.PublicKey, nil
	}
	return s, nil, nil
}

// loadPipeline reads the --pipeline file, if any.
func (f *decisionFlags) loadPipeline() (*lifecycle.Pipeline, error) {
	if f.pipeline == "" {
		return nil, nil
	}
	p, err := lifecycle.LoadPipeline(f.pipeline)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "%w", err)
	}
	return p, nil
}

// identities returns the identities whose signatures are trusted: the
// pipeline's key identities, the --trusted-key ones, and the decision
// signer's own key; and the name the signer goes by.
func (f *decisionFlags) identities(pl *lifecycle.Pipeline, own *ecdsa.PublicKey) ([]policy.NamedVerifier, string, error) {
	var ids []policy.NamedVerifier
	operator := f.identity
	ownFound, ownName := false, ""
	add := func(name, file string) error {
		data, err := os.ReadFile(file)
		if err != nil {
			return mlsec.Errorf(mlsec.EIO, "identity %s: %w", name, err)
		}
		pub, err := signing.ParsePublicKey(data)
		if err != nil {
			return mlsec.Errorf(mlsec.EINVALID, "identity %s: %s: %w", name, file, err)
		}
		if own != nil && own.Equal(pub) && !ownFound {
			ownFound, ownName = true, name
			if operator == "" {
				operator = name
			}
		}
		ids = append(ids, policy.NamedVerifier{Name: name, Verifier: &signing.KeyVerifier{Key: pub}})
		return nil
	}
	if pl != nil {
		for _, id := range pl.Identities {
			if id.Key == "" {
				continue
			}
			if err := add(id.Name, pl.Resolve(id.Key)); err != nil {
				return nil, "", err
			}
		}
	}
	for _, tk := range f.trustedKeys {
		name, file, ok := strings.Cut(tk, "=")
		if !ok || name == "" || file == "" {
			return nil, "", mlsec.Errorf(mlsec.EINVALID, "--trusted-key %q: want NAME=PUB.pem", tk)
		}
		if err := add(name, file); err != nil {
			return nil, "", err
		}
	}
	// The name recorded in a decision (and in an override) must not claim
	// another pipeline identity: --identity naming a declared identity with
	// a key must sign with that key. (A name the pipeline does not declare,
	// e.g. the person operating a shared key, is recorded as given.)
	if f.identity != "" && pl != nil && own != nil {
		for _, id := range pl.Identities {
			if id.Name == f.identity && id.Key != "" && ownName != f.identity {
				return nil, "", mlsec.Errorf(mlsec.EINVALID, "--identity %q: the signing key is not that identity's key (%s)", f.identity, id.Key)
			}
		}
	}
	if operator == "" {
		operator = "self"
	}
	if own != nil && !ownFound {
		ids = append(ids, policy.NamedVerifier{Name: operator, Verifier: &signing.KeyVerifier{Key: own}})
	}
	return ids, operator, nil
}

func (f *decisionFlags) loadScanConfig() (scan.Config, error) {
	if f.scanConfig == "" {
		return scan.DefaultConfig(), nil
	}
	cfg, err := scan.LoadConfig(f.scanConfig)
	if err != nil {
		return scan.Config{}, usageError(err)
	}
	return cfg, nil
}

// defaultKind guesses an artifact's kind from the stage it is gated at.
func defaultKind(stage string) lifecycle.Kind {
	switch stage {
	case lifecycle.StageData:
		return lifecycle.KindDataset
	case lifecycle.StageTraining:
		return lifecycle.KindFeedbackData
	case lifecycle.StageKnowledge:
		return lifecycle.KindRAGCorpus
	case lifecycle.StageExperimentation:
		return lifecycle.KindExternalModel
	case lifecycle.StagePlanning:
		return lifecycle.KindThreatModel
	case lifecycle.StageCD, lifecycle.StageServing, lifecycle.StageMonitoring:
		return lifecycle.KindPackage
	}
	return lifecycle.KindModel
}

type gateOutput struct {
	Path        string              `json:"path"`
	Artifact    string              `json:"artifact"`
	Subject     string              `json:"subject"`
	Stage       string              `json:"stage"`
	Result      policy.Result       `json:"result"`
	Overridden  bool                `json:"overridden"`
	Override    *policy.Override    `json:"override,omitempty"`
	TrustBefore string              `json:"trust_before"`
	TrustAfter  string              `json:"trust_after"`
	Rules       []policy.RuleResult `json:"rules"`
	Policies    []policy.PolicyRef  `json:"policies"`
	VSA         string              `json:"vsa,omitempty"`
}

func newGateCmd(app *App) *cobra.Command {
	var (
		df                    decisionFlags
		stage, kind, source   string
		trust, overrideReason string
		dryRun                bool
	)
	cmd := &cobra.Command{
		Use:   "gate --stage NAME [--pipeline FILE] [--policy FILE] [signing flags] PATH",
		Short: "Judge an artifact at a lifecycle gate and record the signed decision",
		Long: `Gate gathers the evidence about PATH (it scans it, verifies its signature against
the trusted identities and reads its claims), evaluates the stage's policies
(--policy, else the pipeline's, else the built-in policy of the stage), prints
PASS, WARN or FAIL with the reason for every rule, and appends a signed SLSA
Verification Summary Attestation to the artifact's claims. The VSA also
records the artifact's new trust state (quarantined → verified → released,
or revoked).

Without a pipeline file the gate trusts its own key (and --trusted-key): every
built-in gate can pass, except what needs roles (planning; approver roles),
for which mlsec pipeline init writes a starter pipeline file. An artifact
given with --source is untrusted unless --trust trusted; one without a source
or an intake record is the organisation's own (docs/lifecycle.md).

Break glass: --override-reason TEXT records who overrode a failed gate and
why; the result stays FAILED, the VSA is marked overridden, the trust state
moves on as after a pass, and the command exits 0.

Exit status: 0 pass or warn (or overridden); 1 fail; 2 usage error, a policy
or pipeline that does not compile, or an unreadable artifact.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := checkFormat(df.format); err != nil {
				return err
			}
			path := args[0]
			if err := checkModelPath(path); err != nil {
				return err
			}
			if stage == "" {
				return mlsec.Errorf(mlsec.EINVALID, "--stage is required (one of %s)", strings.Join(lifecycle.StageNames(), ", "))
			}
			pl, err := df.loadPipeline()
			if err != nil {
				return err
			}
			eng, err := policy.NewEngine()
			if err != nil {
				return err
			}
			gate, err := eng.StageGate(stage, pl, df.policyFile)
			if err != nil {
				return err
			}
			signer, pub, err := df.signer()
			if err != nil {
				return err
			}
			if signer == nil && !dryRun {
				return mlsec.Errorf(mlsec.EINVALID, "the decision must be signed: pass --key, --certificate with --key, or --sigstore (or --dry-run to evaluate without recording)")
			}
			ids, operator, err := df.identities(pl, pub)
			if err != nil {
				return err
			}
			cfg, err := df.loadScanConfig()
			if err != nil {
				return err
			}
			if trust != "" && trust != lifecycle.SourceTrusted && trust != lifecycle.SourceUntrusted {
				return mlsec.Errorf(mlsec.EINVALID, "--trust %q: want trusted or untrusted", trust)
			}
			t := policy.Target{Path: path, Kind: lifecycle.Kind(kind), SourceURL: source, Trust: trust}
			if pl != nil {
				if def, ok := pl.Artifact(path); ok && kind == "" {
					t.Kind = def.Kind
				}
			}
			if t.Kind == "" {
				t.Kind = defaultKind(stage)
			}
			if !lifecycle.ValidKind(t.Kind) {
				return mlsec.Errorf(mlsec.EINVALID, "--kind %q is not an artifact kind", kind)
			}
			if st, _ := lifecycle.LookupStage(stage); !st.Handles(t.Kind) {
				fmt.Fprintf(app.Stderr, "mlsec: warning: the %s stage neither receives nor produces %s artifacts (receives %v, produces %v)\n",
					stage, t.Kind, st.Receives, st.Produces)
			}
			var ov *policy.Override
			if overrideReason != "" {
				ov = &policy.Override{Identity: df.identity, Reason: overrideReason}
			}
			r := &policy.Runner{
				Gatherer: &policy.Gatherer{Pipeline: pl, Identities: ids, ScanConfig: cfg,
					ScanOptions: scan.Options{Log: app.Log}, Log: app.Log},
				Gate: gate, Signer: signer, Operator: operator,
			}
			if dryRun {
				r.Signer = nil
			}
			out, err := r.Run(ctx, t, ov)
			if err != nil {
				return err
			}
			if err := writeGate(app.Stdout, df.format, path, out); err != nil {
				return err
			}
			if out.Decision.Result == policy.Fail && out.Override == nil {
				return fmt.Errorf("gate %s: %w", stage, mlsec.ErrFindings)
			}
			return nil
		},
	}
	df.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&stage, "stage", "", "lifecycle stage: "+strings.Join(lifecycle.StageNames(), ", "))
	fl.StringVar(&kind, "kind", "", "artifact kind (default: from the pipeline file, else guessed from the stage)")
	fl.StringVar(&source, "source", "", "upstream URL of the artifact (default: from the pipeline file)")
	fl.StringVar(&trust, "trust", "", "trust of the source: trusted or untrusted (default untrusted)")
	fl.StringVar(&overrideReason, "override-reason", "", "break glass: record an override of a failed gate with this reason")
	fl.BoolVar(&dryRun, "dry-run", false, "evaluate and print, but do not sign or record the decision")
	return cmd
}

func writeGate(w io.Writer, format, path string, out *policy.Outcome) error {
	o := gateOutput{Path: path, Artifact: out.Evidence.Artifact.Name, Subject: string(out.Subject.Digest),
		Stage: out.Decision.Stage, Result: out.Decision.Result, Overridden: out.Override != nil, Override: out.Override,
		TrustBefore: string(out.TrustBefore), TrustAfter: string(out.TrustAfter),
		Rules: out.Decision.Rules, Policies: out.Decision.Policies}
	if out.Bundle != nil {
		o.VSA = out.ClaimsPath
	}
	if format == "json" {
		return writeJSON(w, o)
	}
	res := string(o.Result)
	if o.Overridden {
		res += " (overridden)"
	}
	fmt.Fprintf(w, "%s %s gate %s (%s): %s\n", res, o.Stage, o.Artifact, out.Subject.Digest.Short(), path)
	for _, r := range o.Rules {
		fmt.Fprintf(w, "  %-4s %-12s %s\n", r.Result, r.RuleID, r.Reason)
		if r.Result != policy.Pass && r.Remediation != "" {
			fmt.Fprintf(w, "       %-12s fix: %s\n", "", r.Remediation)
		}
	}
	if o.Override != nil {
		fmt.Fprintf(w, "override by %s: %s\n", o.Override.Identity, o.Override.Reason)
	}
	fmt.Fprintf(w, "trust: %s → %s\n", o.TrustBefore, o.TrustAfter)
	if o.VSA != "" {
		fmt.Fprintf(w, "decision: signed VSA appended to %s\n", filepath.ToSlash(o.VSA))
	} else {
		fmt.Fprintln(w, "decision: not recorded (--dry-run)")
	}
	return nil
}
