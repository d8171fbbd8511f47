package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/aibom"
)

type bomFlags struct {
	inspectFlags
	spec         string
	completeness bool
	serial       string
	timestamp    string
	author       string
}

func newBOMCmd(app *App) *cobra.Command {
	var fl bomFlags
	cmd := &cobra.Command{
		Use:   "bom [flags] PATH",
		Short: "Write an AI-BOM (CycloneDX ML-BOM or SPDX 3 AI/Dataset) for a model or dataset",
		Long: `Bom inspects PATH as "mlsec inspect" does and writes an AI bill of materials:
CycloneDX 1.6 or 1.7 (JSON or XML) with a machine-learning-model component and
its model card, data components for datasets and the base models as pedigree;
or SPDX 3.0.1 with the AI and Dataset profiles. Nothing is fetched: the facts
come from the model files' headers, config.json, generation_config.json,
tokenizer_config.json and the README's front matter.

Hashes (sha256 per file and the OMS root digest) need --digest, which reads
every byte. --serial and --timestamp make the output reproducible.
--completeness prints how many G7 "SBOM for AI" minimum elements are present.

"mlsec bom validate FILE" checks a CycloneDX JSON document against the
official schema of the version it declares.

Exit codes: 0 success; 2 usage error or unreadable path.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBOM(cmd.Context(), app, fl, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.format, "format", aibom.FormatCycloneDXJSON, "output format: "+strings.Join(aibom.Formats(), "|"))
	f.StringVar(&fl.spec, "spec", "1.6", "CycloneDX spec version: "+strings.Join(aibom.SpecVersions, "|"))
	f.StringVarP(&fl.output, "output", "o", "", "write the BOM to `FILE` instead of standard output")
	f.BoolVar(&fl.completeness, "completeness", false, "print the G7 SBOM-for-AI completeness score (to standard error when the BOM goes to standard output)")
	f.StringVar(&fl.serial, "serial", "", "serial number `urn:uuid:...` (random by default)")
	f.StringVar(&fl.timestamp, "timestamp", "", "creation time, RFC 3339 (now by default; SOURCE_DATE_EPOCH is honoured)")
	f.StringVar(&fl.author, "author", "", "`NAME` of the person or organisation producing the BOM")
	fl.registerSource(cmd)
	cmd.AddCommand(newBOMValidateCmd(app))
	return cmd
}

func (fl bomFlags) options() (aibom.Options, error) {
	o := aibom.Options{Spec: fl.spec, SerialNumber: fl.serial, Author: fl.author}
	if _, err := aibom.ParseSpec(fl.spec); err != nil {
		return o, usageError(fmt.Errorf("--spec: %w", err))
	}
	if fl.serial != "" && !strings.HasPrefix(fl.serial, "urn:uuid:") {
		return o, usageError(fmt.Errorf("--serial %q: want urn:uuid:<uuid>", fl.serial))
	}
	switch {
	case fl.timestamp != "":
		t, err := time.Parse(time.RFC3339, fl.timestamp)
		if err != nil {
			return o, usageError(fmt.Errorf("--timestamp: %w", err))
		}
		o.Timestamp = t
	case os.Getenv("SOURCE_DATE_EPOCH") != "":
		var sec int64
		if _, err := fmt.Sscan(os.Getenv("SOURCE_DATE_EPOCH"), &sec); err != nil {
			return o, usageError(fmt.Errorf("SOURCE_DATE_EPOCH: %w", err))
		}
		o.Timestamp = time.Unix(sec, 0)
	}
	return o, nil
}

func runBOM(ctx context.Context, app *App, fl bomFlags, path string) error {
	switch fl.format {
	case aibom.FormatCycloneDXJSON, aibom.FormatCycloneDXXML, aibom.FormatSPDX3JSON:
	default:
		return usageError(fmt.Errorf("unknown --format %q (want %s)", fl.format, strings.Join(aibom.Formats(), ", ")))
	}
	opts, err := fl.options()
	if err != nil {
		return err
	}
	rep, err := inspectPath(ctx, app, fl.inspectFlags, path)
	if err != nil {
		return err
	}
	if opts.SerialNumber == "" {
		// One serial for both builders, so the SPDX ids match the CycloneDX
		// serial.
		opts.SerialNumber = aibom.NewSerial()
	}
	b, err := aibom.CycloneDX(rep, opts)
	if err != nil {
		return usageError(err)
	}
	warnings := append(append([]string{}, rep.Warnings...), b.Warnings...)
	var out bytes.Buffer
	if fl.format == aibom.FormatSPDX3JSON {
		d, err := aibom.SPDX3(rep, opts)
		if err != nil {
			return mlsec.Errorf(mlsec.EINTERNAL, "bom: %w", err)
		}
		if err := d.WriteJSON(&out); err != nil {
			return mlsec.Errorf(mlsec.EINTERNAL, "bom: %w", err)
		}
		warnings = append(append([]string{}, rep.Warnings...), d.Warnings...)
	} else if err := b.Encode(&out, fl.format, fl.spec); err != nil {
		return mlsec.Errorf(mlsec.EINTERNAL, "bom: %w", err)
	}
	for _, w := range warnings {
		fmt.Fprintf(app.Stderr, "mlsec: warning: %s\n", w)
	}
	if err := writeOutput(app, fl.output, "bom", func(w io.Writer) error {
		_, err := w.Write(out.Bytes())
		return err
	}); err != nil {
		return err
	}
	if fl.completeness {
		w := app.Stderr
		if fl.output != "" {
			w = app.Stdout
		}
		return aibom.WriteCompleteness(w, aibom.Score(b))
	}
	return nil
}

// maxValidateSize bounds the document bom validate reads into memory.
const maxValidateSize = 256 << 20

func newBOMValidateCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate [flags] FILE",
		Short: "Validate a CycloneDX JSON BOM against the official schema of its specVersion",
		Long: `Validate checks FILE ("-" for standard input) against the official CycloneDX
JSON schema of the specVersion the document declares (1.6 or 1.7; the schemas
are built in, nothing is fetched) and prints each violation as a JSON pointer
and a message.

Exit codes: 0 valid; 1 invalid; 2 usage error, unreadable file, or a document
that is not CycloneDX JSON of a supported version.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usageError(fmt.Errorf("unknown --format %q (want text or json)", format))
			}
			var data []byte
			var err error
			if args[0] == "-" {
				data, err = io.ReadAll(io.LimitReader(app.Stdin, maxValidateSize+1))
				if err == nil && len(data) > maxValidateSize {
					return mlsec.Errorf(mlsec.EINVALID, "bom validate: standard input is larger than %d bytes", maxValidateSize)
				}
			} else {
				data, err = readBounded(args[0], maxValidateSize)
			}
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "bom validate: %w", err)
			}
			spec, probs, err := aibom.NewValidator().Validate(data)
			if err != nil && !errors.Is(err, aibom.ErrInvalid) {
				return mlsec.Errorf(mlsec.EINVALID, "bom validate: %s: %w", args[0], err)
			}
			if format == "json" {
				if probs == nil {
					probs = []aibom.Problem{}
				}
				if werr := writeJSON(app.Stdout, map[string]any{"file": args[0], "spec_version": spec, "valid": err == nil, "problems": probs}); werr != nil {
					return werr
				}
			} else if err == nil {
				fmt.Fprintf(app.Stdout, "%s: valid CycloneDX %s\n", args[0], spec)
			} else {
				fmt.Fprintf(app.Stdout, "%s: invalid CycloneDX %s: %d problem(s)\n", args[0], spec, len(probs))
				for _, p := range probs {
					fmt.Fprintf(app.Stdout, "  %s\n", p)
				}
			}
			if err != nil {
				return fmt.Errorf("bom validate: %s: %w", args[0], mlsec.ErrFindings)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
