package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/aibom"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/format/llmkind"
	"github.com/mlsecops/mlsec/inspect"
	"github.com/mlsecops/mlsec/lineage"
	"github.com/mlsecops/mlsec/scan"
)

// maxConfigSize bounds a run configuration file.
const maxConfigSize = 4 << 20

func newAttestCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "attest",
		Short: "Record signed evidence (provenance, scan, evaluation, AI-BOM) in a model's claims file",
		Long: `Attest records in-toto attestations about a model or dataset, signed as Sigstore
bundles, one per line in the append-only claims file beside it (claims.jsonl
inside a directory, FILE.claims.jsonl beside a single file). Each statement's
subject is the artifact's OpenSSF Model Signing root digest, so it pairs up
with the artifact's signature; the claims file is not part of that signature.

  attest provenance   SLSA Provenance v1 of a training, fine-tuning,
                      quantization or conversion run
  attest scan         the mlsec scan result (https://mlsec.dev/attestation/scan/v1)
  attest eval         evaluation metrics as an in-toto test result
  attest bom          the CycloneDX AI-BOM (built in process, or --bom FILE)
  attest list         list the claims (signatures not checked)
  attest verify       verify every claim (signature, subject, predicate)`,
	}
	cmd.AddCommand(
		newAttestProvenanceCmd(app),
		newAttestScanCmd(app),
		newAttestEvalCmd(app),
		newAttestBOMCmd(app),
		newAttestListCmd(app),
		newAttestVerifyCmd(app),
	)
	return cmd
}

// attestOutput is the JSON result of the attest commands that write a claim.
type attestOutput struct {
	Path          string        `json:"path"`
	Claims        string        `json:"claims"`
	PredicateType string        `json:"predicate_type"`
	Subject       attest.Digest `json:"subject"`
	Method        string        `json:"method"`
	Summary       string        `json:"summary,omitempty"`
}

// recordClaim signs the statement and appends it to the artifact's claims
// file, then reports it.
func recordClaim(ctx context.Context, app *App, sf *signerFlags, format, path string, subject attest.Subject, predicateType string, statement []byte, summary string) error {
	signer, method, err := sf.signer()
	if err != nil {
		return err
	}
	line, err := attest.Sign(ctx, signer, statement)
	if err != nil {
		return signingError(err)
	}
	cp, err := evidence.ClaimsPath(path)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	if err := attest.AppendClaim(cp, line); err != nil {
		return mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	// Not silent: a claim about an artifact without a signature where the
	// layout puts it names the default serialization's digest, which a
	// signature written elsewhere (or with another --hash) may not match.
	if sp, err := evidence.SignaturePath(path); err == nil {
		if _, err := os.Stat(sp); err != nil {
			fmt.Fprintf(app.Stderr, "mlsec: note: %s has no signature at %s: the claim names its digest with the default serialization (files, sha256); sign it (mlsec sign %s) before recording claims so that they name the signed digest\n", path, sp, path)
		}
	}
	out := attestOutput{Path: path, Claims: cp, PredicateType: predicateType, Subject: subject.Digest, Method: method, Summary: summary}
	if format == "json" {
		return writeJSON(app.Stdout, out)
	}
	_, err = fmt.Fprintf(app.Stdout, "recorded %s about %s (%s) in %s, signed (%s)%s\n",
		predicateType, path, subject.Digest, cp, method, prefixed(": ", summary))
	return err
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// identify hashes the artifact at path into its subject.
func identify(ctx context.Context, h *attest.Hasher, what, path string) (attest.Subject, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return attest.Subject{}, mlsec.Errorf(mlsec.EINVALID, "%s: %s does not exist", what, path)
	}
	if err := checkModelPath(path); err != nil {
		return attest.Subject{}, mlsec.Errorf(mlsec.EINVALID, "%s: %s", what, strings.TrimPrefix(err.Error(), "invalid: "))
	}
	s, err := attest.Identify(ctx, h, path)
	if err != nil {
		return attest.Subject{}, signingError(err)
	}
	return s, nil
}

// digestArg reads an input given as sha256:<hex> (ok) rather than as a
// path; a sha256: argument that is neither a digest nor an existing path is
// an error about the digest.
func digestArg(what, arg string) (attest.Digest, bool, error) {
	if !strings.HasPrefix(arg, "sha256:") {
		return "", false, nil
	}
	d, err := attest.ParseDigest(arg)
	if err == nil {
		return d, true, nil
	}
	if _, serr := os.Stat(arg); serr == nil {
		return "", false, nil // a file that happens to be named sha256:...
	}
	return "", false, usageError(fmt.Errorf("%s: %q is neither a path nor a sha256 digest (want sha256:<64 hex digits>)", what, arg))
}

// dependency resolves arg, given with the flag what, to a provenance input
// with role: a sha256:<hex> root digest is taken as given (no name), a path
// is hashed and recorded with its name and digest.
func dependency(ctx context.Context, h *attest.Hasher, role attest.Role, what, arg string) (attest.Dependency, error) {
	if dg, ok, err := digestArg(what, arg); err != nil {
		return attest.Dependency{}, err
	} else if ok {
		return attest.Dependency{Role: role, Digest: dg}, nil
	}
	s, err := identify(ctx, h, what, arg)
	if err != nil {
		return attest.Dependency{}, err
	}
	return attest.Dependency{Role: role, Name: s.Name, Digest: s.Digest}, nil
}

// checkAcyclic refuses provenance that would make the model its own
// ancestor, by the evidence in the model's default evidence directory and
// the parents' own claims.
func checkAcyclic(ctx context.Context, app *App, model string, child attest.Digest, parents []attest.Digest, parentPaths []string) error {
	for _, p := range parents {
		if p == child {
			return mlsec.Errorf(mlsec.EINVALID, "%s is its own parent (%s): a run cannot produce its own input", model, child)
		}
	}
	dir, err := defaultEvidence(model)
	if err != nil {
		return err
	}
	idx, err := loadEvidence(ctx, app, dir, append([]string{model}, parentPaths...)...)
	if err != nil {
		return err
	}
	if err := lineage.CheckAcyclic(ctx, idx, child, parents); err != nil {
		if errors.Is(err, attest.ErrCycle) {
			return mlsec.Errorf(mlsec.EINVALID, "refusing provenance of %s: %s", model, strings.TrimPrefix(err.Error(), "attest: "))
		}
		return mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	return nil
}

func newAttestProvenanceCmd(app *App) *cobra.Command {
	var (
		sf                                            signerFlags
		model, config, builderID, runType, invocation string
		startedOn, finishedOn, format                 string
		datasets, baseModels, code, adapters          []string
	)
	cmd := &cobra.Command{
		Use:   "provenance --model PATH --builder-id URI [flags]",
		Short: "Record the SLSA provenance of the run that produced a model",
		Long: `Provenance records how the model at --model was produced: its datasets and
base models (each by OpenSSF Model Signing root digest: a path is hashed the
way its signature says, or a sha256:<hex> digest is taken as given), the
training code (--code URL@COMMIT), the run's configuration and
hyperparameters (--config FILE, JSON or YAML) and the builder that ran it.
The statement is signed and appended to the model's claims file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			if model == "" || builderID == "" {
				return mlsec.Errorf(mlsec.EINVALID, "--model and --builder-id are required")
			}
			ctx := cmd.Context()
			h := &attest.Hasher{}
			subj, err := identify(ctx, h, "--model", model)
			if err != nil {
				return err
			}
			p := &attest.Provenance{Subject: subj, RunType: runType, BuilderID: builderID, InvocationID: invocation}
			if p.StartedOn, err = parseTime("--started-on", startedOn); err != nil {
				return err
			}
			if p.FinishedOn, err = parseTime("--finished-on", finishedOn); err != nil {
				return err
			}
			if config != "" {
				if p.Parameters, err = readConfig(config); err != nil {
					return err
				}
			}
			var parentPaths []string
			var parents []attest.Digest
			for _, d := range datasets {
				dep, err := dependency(ctx, h, attest.RoleDataset, "--dataset", d)
				if err != nil {
					return err
				}
				p.Dependencies = append(p.Dependencies, dep)
				if dep.Name != "" {
					parentPaths = append(parentPaths, d)
				}
				parents = append(parents, dep.Digest)
			}
			for _, b := range baseModels {
				dep, err := dependency(ctx, h, attest.RoleBaseModel, "--base-model", b)
				if err != nil {
					return err
				}
				p.Dependencies = append(p.Dependencies, dep)
				if dep.Name != "" {
					parentPaths = append(parentPaths, b)
				}
				parents = append(parents, dep.Digest)
			}
			for _, a := range adapters {
				dep, err := dependency(ctx, h, attest.RoleAdapter, "--adapter", a)
				if err != nil {
					return err
				}
				p.Dependencies = append(p.Dependencies, dep)
				if dep.Name != "" {
					parentPaths = append(parentPaths, a)
				}
				parents = append(parents, dep.Digest)
				facts, err := adapterFacts(a)
				if err != nil {
					return err
				}
				if facts != nil {
					if p.Parameters == nil {
						p.Parameters = map[string]any{}
					}
					list, _ := p.Parameters["adapters"].([]any)
					p.Parameters["adapters"] = append(list, facts)
				}
			}
			// Refuse a cycle when it is written: no parent may be the model
			// or descend from it in the evidence around the model.
			if err := checkAcyclic(ctx, app, model, subj.Digest, parents, parentPaths); err != nil {
				return err
			}
			for _, c := range code {
				d, err := attest.ParseCodeRef(c)
				if err != nil {
					return usageError(err)
				}
				p.Dependencies = append(p.Dependencies, d)
			}
			st, err := p.Statement()
			if err != nil {
				return usageError(err)
			}
			rt := p.RunType
			if rt == "" {
				rt = attest.RunTraining
			}
			summary := fmt.Sprintf("%s by %s from %d inputs", rt, builderID, len(p.Dependencies))
			return recordClaim(ctx, app, &sf, format, model, subj, attest.ProvenanceType, st, summary)
		},
	}
	sf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&model, "model", "", "the model (file or directory) the run produced")
	fl.StringSliceVar(&datasets, "dataset", nil, "dataset directory or file used by the run, or its sha256:<hex> root digest (repeatable)")
	fl.StringSliceVar(&baseModels, "base-model", nil, "base model path, or its sha256:<hex> root digest (repeatable)")
	fl.StringSliceVar(&adapters, "adapter", nil, "LoRA/PEFT adapter directory (with adapter_config.json) merged by the run, or its sha256:<hex> root digest (repeatable; use --run-type merge)")
	fl.StringSliceVar(&code, "code", nil, "training code as URL@COMMIT, e.g. git+https://host/repo@<40-hex commit> (repeatable)")
	fl.StringVar(&config, "config", "", "run configuration and hyperparameters (JSON or YAML object)")
	fl.StringVar(&builderID, "builder-id", "", "URI of the platform that ran the job")
	fl.StringVar(&runType, "run-type", attest.RunTraining, "training, fine-tuning, quantization, conversion or merge")
	fl.StringVar(&invocation, "invocation-id", "", "the run's id on the builder")
	fl.StringVar(&startedOn, "started-on", "", "run start time (RFC 3339)")
	fl.StringVar(&finishedOn, "finished-on", "", "run end time (RFC 3339)")
	fl.StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func parseTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, mlsec.Errorf(mlsec.EINVALID, "%s %q: want RFC 3339, e.g. 2026-01-02T15:04:05Z", flag, s)
	}
	return t.UTC(), nil
}

// adapterFacts reads the adapter_config.json of an --adapter path (the
// directory's, or the file itself) and returns what provenance records of
// it: its base model, the base revision and the PEFT type. A digest
// argument, or a path without adapter_config.json, gives nil.
func adapterFacts(arg string) (map[string]any, error) {
	if strings.HasPrefix(arg, "sha256:") {
		if _, err := os.Stat(arg); err != nil {
			return nil, nil
		}
	}
	cfg := arg
	if fi, err := os.Stat(arg); err == nil && fi.IsDir() {
		cfg = filepath.Join(arg, "adapter_config.json")
	}
	if filepath.Base(cfg) != "adapter_config.json" {
		return nil, nil
	}
	if _, err := os.Stat(cfg); err != nil {
		return nil, nil
	}
	data, err := readBounded(cfg, llmkind.MaxBytes)
	if err != nil {
		return nil, err
	}
	res := llmkind.Classify(data)
	m, ok := res.Doc.(map[string]any)
	if res.Kind != llmkind.LoRAAdapter || !ok {
		return nil, mlsec.Errorf(mlsec.EINVALID, "--adapter %s: adapter_config.json is not a PEFT adapter configuration", arg)
	}
	facts := map[string]any{"name": filepath.Base(filepath.Clean(arg))}
	for _, k := range []string{"base_model_name_or_path", "revision", "peft_type", "task_type"} {
		if v, ok := m[k].(string); ok && v != "" {
			facts[k] = v
		}
	}
	return facts, nil
}

// readConfig reads a JSON or YAML object of run parameters.
func readConfig(path string) (map[string]any, error) {
	data, err := readBounded(path, maxConfigSize)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "--config %s: not a JSON or YAML object: %v", path, err)
	}
	if v == nil {
		v = map[string]any{}
	}
	return v, nil
}

// readBounded reads a whole file of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, mlsec.Errorf(mlsec.EINVALID, "%s does not exist", path)
		}
		return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	if int64(len(data)) > max {
		return nil, mlsec.Errorf(mlsec.EINVALID, "%s is larger than %d bytes", path, max)
	}
	return data, nil
}

func newAttestScanCmd(app *App) *cobra.Command {
	var (
		sf             signerFlags
		config, format string
	)
	cmd := &cobra.Command{
		Use:   "scan [flags] PATH",
		Short: "Scan a model and record the result as a signed attestation",
		Long: `Scan runs every mlsec detector over PATH (in process, exactly as mlsec scan
does) and records the mlsec.scan/v1 document, with paths relative to the
model, as a https://mlsec.dev/attestation/scan/v1 statement in the claims file.
Findings do not change the exit status: the attestation records them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			ctx, path := cmd.Context(), args[0]
			subj, err := identify(ctx, &attest.Hasher{}, "PATH", path)
			if err != nil {
				return err
			}
			cfg := scan.DefaultConfig()
			if config != "" {
				if cfg, err = scan.LoadConfig(config); err != nil {
					return usageError(err)
				}
			}
			doc, err := attest.ScanArtifact(ctx, path, cfg, scan.Options{Log: app.Log})
			if err != nil {
				return err
			}
			st, err := attest.ScanStatement(subj, doc)
			if err != nil {
				return err
			}
			summary := fmt.Sprintf("%d artifacts, %d findings, max severity %s", doc.Summary.Artifacts, doc.Summary.Findings, doc.Summary.MaxSeverity)
			return recordClaim(ctx, app, &sf, format, path, subj, attest.ScanType, st, summary)
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&config, "config", "", "scan configuration FILE (mlsec.yaml)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func newAttestEvalCmd(app *App) *cobra.Command {
	var (
		sf                   signerFlags
		metrics, url, format string
		fail, warn           []string
	)
	cmd := &cobra.Command{
		Use:   "eval --metrics FILE [flags] PATH",
		Short: "Record evaluation results as a signed in-toto test result",
		Long: `Eval records a model's evaluation metrics (a JSON object; nested objects are
flattened with dots) as an in-toto test-result statement. Each --threshold
(e.g. accuracy>=0.9) is a test that fails the result when it does not hold;
each --warn-threshold only warns. A threshold on a missing metric fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			if metrics == "" {
				return mlsec.Errorf(mlsec.EINVALID, "--metrics FILE is required")
			}
			ctx, path := cmd.Context(), args[0]
			e := &attest.Eval{MetricsName: filepath.Base(metrics), URL: url}
			for _, s := range fail {
				t, err := attest.ParseThreshold(s)
				if err != nil {
					return usageError(err)
				}
				e.Fail = append(e.Fail, t)
			}
			for _, s := range warn {
				t, err := attest.ParseThreshold(s)
				if err != nil {
					return usageError(err)
				}
				e.Warn = append(e.Warn, t)
			}
			var err error
			if e.MetricsFile, err = readBounded(metrics, attest.MaxMetricsSize); err != nil {
				return err
			}
			if e.Subject, err = identify(ctx, &attest.Hasher{}, "PATH", path); err != nil {
				return err
			}
			st, err := e.Statement()
			if err != nil {
				return usageError(err)
			}
			parsed, _ := attest.ParseStatement(st)
			tr, err := attest.TestResultOf(parsed)
			if err != nil {
				return err
			}
			summary := fmt.Sprintf("%s (%d passed, %d warned, %d failed)", tr.Result, len(tr.Passed), len(tr.Warned), len(tr.Failed))
			return recordClaim(ctx, app, &sf, format, path, e.Subject, attest.TestResultType, st, summary)
		},
	}
	sf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&metrics, "metrics", "", "evaluation metrics FILE (JSON object)")
	fl.StringArrayVar(&fail, "threshold", nil, "METRIC>=VALUE (or <=, >, <, ==) that must hold (repeatable)")
	fl.StringArrayVar(&warn, "warn-threshold", nil, "METRIC>=VALUE that warns when it does not hold (repeatable)")
	fl.StringVar(&url, "url", "", "link to the evaluation run")
	fl.StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func newAttestBOMCmd(app *App) *cobra.Command {
	var (
		sf                signerFlags
		bom, spec, format string
	)
	cmd := &cobra.Command{
		Use:   "bom [--bom FILE] [flags] PATH",
		Short: "Record a CycloneDX AI-BOM as a signed attestation",
		Long: `Bom records a CycloneDX AI/ML-BOM about PATH as a statement of predicate type
https://cyclonedx.org/bom in the claims file. Without --bom the BOM is built
in process exactly as mlsec bom builds it (CycloneDX JSON, --spec 1.6 or
1.7); with --bom FILE a CycloneDX JSON document written by another tool is
recorded as it is.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			ctx, path := cmd.Context(), args[0]
			subj, err := identify(ctx, &attest.Hasher{}, "PATH", path)
			if err != nil {
				return err
			}
			var data []byte
			if bom != "" {
				if data, err = readBounded(bom, attest.MaxBOMSize); err != nil {
					return err
				}
			} else if data, err = buildBOM(ctx, app, path, spec, subj.Digest); err != nil {
				return err
			}
			// Only a BOM that validates against its CycloneDX schema is
			// signed: a consumer of the attestation can rely on its shape.
			if v, probs, verr := aibom.NewValidator().Validate(data); verr != nil {
				what := "the built BOM"
				if bom != "" {
					what = bom
				}
				if len(probs) == 0 {
					return usageError(fmt.Errorf("attest bom: %s: %w", what, verr))
				}
				msgs := make([]string, 0, len(probs))
				for _, p := range probs[:min(len(probs), 5)] {
					msgs = append(msgs, p.String())
				}
				return usageError(fmt.Errorf("attest bom: %s is not valid CycloneDX %s (%d problems; mlsec bom validate lists them): %s", what, v, len(probs), strings.Join(msgs, "; ")))
			}
			st, err := attest.BOMStatement(subj, data)
			if err != nil {
				return usageError(err)
			}
			return recordClaim(ctx, app, &sf, format, path, subj, attest.CycloneDXType, st, "")
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&bom, "bom", "", "record this CycloneDX JSON FILE instead of building the BOM")
	cmd.Flags().StringVar(&spec, "spec", "1.6", "CycloneDX spec version of the built BOM: "+strings.Join(aibom.SpecVersions, "|"))
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// buildBOM inspects the artifact and renders its CycloneDX JSON AI-BOM,
// recording root (the statement's subject, already hashed) as its OMS root
// digest.
func buildBOM(ctx context.Context, app *App, path, spec string, root attest.Digest) ([]byte, error) {
	if _, err := aibom.ParseSpec(spec); err != nil {
		return nil, usageError(fmt.Errorf("--spec: %w", err))
	}
	rep, err := inspect.Inspect(ctx, path, inspect.Options{Log: app.Log})
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	if rep.RootDigest == "" {
		rep.RootDigest = string(root)
	}
	b, err := aibom.CycloneDX(rep, aibom.Options{Spec: spec})
	if err != nil {
		return nil, usageError(err)
	}
	for _, w := range append(append([]string{}, rep.Warnings...), b.Warnings...) {
		fmt.Fprintf(app.Stderr, "mlsec: warning: %s\n", w)
	}
	var buf bytes.Buffer
	if err := b.Encode(&buf, aibom.FormatCycloneDXJSON, spec); err != nil {
		return nil, mlsec.Errorf(mlsec.EINTERNAL, "bom: %w", err)
	}
	return buf.Bytes(), nil
}

// claimListing is one row of attest list.
type claimListing struct {
	Line          int             `json:"line"`
	PredicateType string          `json:"predicate_type,omitempty"`
	Subjects      []attest.Digest `json:"subjects,omitempty"`
	Summary       string          `json:"summary,omitempty"`
	Error         string          `json:"error,omitempty"`
}

func describe(st attest.Statement) string {
	switch st.GetPredicateType() {
	case attest.ProvenanceType:
		if p, err := attest.ProvenanceOf(st); err == nil {
			return fmt.Sprintf("%s by %s, %d parents", p.RunType, p.BuilderID, len(p.Parents()))
		}
	case attest.ScanType:
		if s, err := attest.ScanOf(st); err == nil {
			return fmt.Sprintf("%d findings, max severity %s", s.Summary.Findings, s.Summary.MaxSeverity)
		}
	case attest.TestResultType:
		if r, err := attest.TestResultOf(st); err == nil {
			return fmt.Sprintf("%s (%d passed, %d warned, %d failed)", r.Result, len(r.Passed), len(r.Warned), len(r.Failed))
		}
	}
	return ""
}

func newAttestListCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list [flags] PATH",
		Short: "List the claims recorded about a model (signatures not checked)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			if err := checkModelPath(args[0]); err != nil {
				return err
			}
			cp, err := evidence.ClaimsPath(args[0])
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "%w", err)
			}
			rows := []claimListing{}
			err = attest.ReadClaimsFile(cp, func(c attest.Claim) error {
				r := claimListing{Line: c.Line}
				if c.Err != nil {
					r.Error = attest.Reason(c.Err)
				} else if st, err := attest.PeekStatement(c.Bundle); err != nil {
					r.Error = attest.Reason(err)
				} else {
					r.PredicateType, r.Subjects, r.Summary = st.GetPredicateType(), st.Subjects(), describe(st)
				}
				rows = append(rows, r)
				return nil
			})
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "%w", err)
			}
			if format == "json" {
				return writeJSON(app.Stdout, map[string]any{"path": args[0], "claims": cp, "entries": rows})
			}
			if len(rows) == 0 {
				_, err := fmt.Fprintf(app.Stdout, "no claims in %s\n", cp)
				return err
			}
			for _, r := range rows {
				if r.Error != "" {
					fmt.Fprintf(app.Stdout, "%s:%d  ERROR %s\n", cp, r.Line, strings.TrimPrefix(r.Error, "attest: "))
					continue
				}
				subj := ""
				if len(r.Subjects) > 0 {
					subj = r.Subjects[0].Short()
				}
				fmt.Fprintf(app.Stdout, "%s:%d  %s  %s%s\n", cp, r.Line, r.PredicateType, subj, prefixed("  ", r.Summary))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func newAttestVerifyCmd(app *App) *cobra.Command {
	var (
		tf     trustFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "verify [verification flags] PATH",
		Short: "Verify every claim recorded about a model",
		Long: `Verify checks each claim in PATH's claims file: the bundle's signature against
the trusted signers, that the statement's subject is the root digest of the
artifact on disk, and that the predicate is well formed. Every claim gets its
own verdict; a broken line never hides the others.

Exit status: 0 every claim is valid; 1 a claim is invalid or about another
artifact, or there are no claims; 2 usage or I/O error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			v, err := tf.verifier(app)
			if err != nil {
				return err
			}
			ctx, path := cmd.Context(), args[0]
			subj, err := identify(ctx, &attest.Hasher{}, "PATH", path)
			if err != nil {
				return err
			}
			cp, _ := evidence.ClaimsPath(path)
			f, err := os.Open(cp)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return mlsec.Errorf(mlsec.EIO, "%w", err)
			}
			results := []attest.ClaimResult{}
			if f != nil {
				defer f.Close()
				err = attest.VerifyClaims(ctx, f, subj.Digest, v, func(r attest.ClaimResult) error {
					results = append(results, r)
					return nil
				})
				if err != nil {
					return mlsec.Errorf(mlsec.EIO, "%w", err)
				}
			}
			bad := 0
			for _, r := range results {
				if !r.OK() {
					bad++
				}
			}
			if format == "json" {
				if err := writeJSON(app.Stdout, map[string]any{
					"path": path, "claims": cp, "subject": subj.Digest, "valid": bad == 0 && len(results) > 0, "results": results,
				}); err != nil {
					return err
				}
			} else {
				for _, r := range results {
					if r.OK() {
						fmt.Fprintf(app.Stdout, "OK   %s:%d  %s%s\n", cp, r.Line, r.PredicateType, prefixed("  ", describe(r.Statement)))
					} else {
						fmt.Fprintf(app.Stdout, "FAIL %s:%d  %s%s\n", cp, r.Line, r.Status, prefixed(": ", r.Reason))
					}
				}
			}
			switch {
			case len(results) == 0:
				if format != "json" {
					fmt.Fprintf(app.Stdout, "FAIL %s: no claims in %s\n", path, cp)
				}
				return fmt.Errorf("attest: no claims about %s: %w", path, mlsec.ErrFindings)
			case bad > 0:
				if format != "json" {
					fmt.Fprintf(app.Stdout, "FAIL %s: %d of %d claims did not verify (subject %s)\n", path, bad, len(results), subj.Digest)
				}
				return fmt.Errorf("attest: %d invalid claims: %w", bad, mlsec.ErrFindings)
			}
			if format != "json" {
				fmt.Fprintf(app.Stdout, "OK %s: %d claims verified (subject %s)\n", path, len(results), subj.Digest)
			}
			return nil
		},
	}
	tf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
