package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"oras.land/oras-go/v2/registry"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/admission"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/internal/certreload"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/transport/oci"
)

type admissionFlags struct {
	addr, cert, key       string
	server, tokenFile, ca string
	failOpen, immutable   bool
	allowUnsigned         bool
	vsaKeys               []string
	unknown               string
	timeout               time.Duration
	logFormat, logLevel   string
	// Resolving oci references through the registry.
	registryResolve bool
	registry        registryFlags
	trust           trustFlags
}

func newAdmissionCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admission",
		Short: "Kubernetes admission: admit only models released with a passing serving gate",
	}
	var fl admissionFlags
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve a ValidatingAdmissionWebhook for Pods and KServe InferenceServices",
		Long: `Serve a Kubernetes ValidatingAdmissionWebhook (admission.k8s.io/v1) over HTTPS at
/validate. KServe InferenceServices (storageUri, storageUris) and Pods (the
mlsec.dev/model annotation, KServe's storage-initializer arguments) are admitted
only when every model reference resolves, in the mlsec server, to a released
artifact whose latest serving gate decision passed as a signed VSA.

Accepted references: oci://HOST/REPO@sha256:… (digest required),
hf://ORG/NAME@COMMIT (40-hex commit required), s3://BUCKET/KEY and
pvc://CLAIM/PATH (mutable locations: admitted with a warning, or denied with
--require-immutable). An unreachable server denies (fail closed) unless
--fail-open.

An oci reference that no artifact is registered with (mlsec push prints
oci://REG/REPO@sha256:MANIFEST, while the server knows the model by its OMS
root digest) is resolved through the registry when trust flags are given
(--key, --ca-bundle, or --identity with --issuer, as mlsec verify takes):
the manifest is fetched by digest, its OMS signature referrers verified,
and its file layers compared with the signed files, without downloading
any layer; the server is then asked about the signed root digest. Registry
connection flags are pull's (--plain-http, --ca-file, --registry-config).
See docs/integrations/kubernetes.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("registry-resolve") && fl.registryResolve && !fl.trust.given() {
				return usageError(errors.New("admission serve: --registry-resolve needs trust flags (--key, --ca-bundle, or --identity with --issuer) to verify OMS signatures"))
			}
			return runAdmission(cmd.Context(), app, fl)
		},
	}
	f := serve.Flags()
	f.StringVar(&fl.addr, "addr", ":8443", "HTTPS listen `HOST:PORT`")
	f.StringVar(&fl.cert, "tls-cert", "", "PEM certificate (chain) `FILE`, re-read when it changes (required)")
	f.StringVar(&fl.key, "tls-key", "", "PEM private key `FILE` of --tls-cert (required)")
	f.StringVar(&fl.server, "server", "", "mlsec server `URL` (required), e.g. https://mlsec.mlsec-system.svc:8443")
	f.StringVar(&fl.tokenFile, "token-file", "", "`FILE` holding an API token of the server (the read-only auditor role is enough); default $MLSEC_TOKEN")
	f.StringVar(&fl.ca, "server-ca", "", "PEM `FILE` of the CA certificates the server's certificate must chain to (default: system roots)")
	f.BoolVar(&fl.failOpen, "fail-open", false, "admit, with a warning, objects that could not be checked because the server was unavailable")
	f.BoolVar(&fl.immutable, "require-immutable", false, "deny mutable locations (s3://, pvc://)")
	f.BoolVar(&fl.allowUnsigned, "allow-unsigned-decisions", false, "accept passing serving decisions the server recorded without a signed VSA (a server without --signing-key)")
	f.StringArrayVar(&fl.vsaKeys, "vsa-key", nil, "PEM public `FILE` of the server's --signing-key: verify each serving VSA's signature and content instead of taking the server's word (repeatable)")
	f.StringVar(&fl.unknown, "unknown-kinds", "deny", "what to do with kinds other than Pod and InferenceService: deny|allow")
	f.DurationVar(&fl.timeout, "timeout", 2*time.Second, "time allowed for the server lookups of one review (below the webhook's timeoutSeconds)")
	f.StringVar(&fl.logFormat, "log-format", "json", "log format: json|text")
	f.StringVar(&fl.logLevel, "log-level", "info", "log level: debug|info|warn|error")
	f.BoolVar(&fl.registryResolve, "registry-resolve", true, "resolve oci references no artifact is registered with through the registry: verify the manifest's OMS signature referrer with the trust flags and ask the server about the signed root digest (on when trust flags are given)")
	fl.registry.register(serve)
	fl.trust.register(serve)
	cmd.AddCommand(serve)
	return cmd
}

func runAdmission(ctx context.Context, app *App, fl admissionFlags) error {
	log, err := serverLogger(app.Stderr, fl.logFormat, fl.logLevel)
	if err != nil {
		return err
	}
	if fl.cert == "" || fl.key == "" {
		return usageError(errors.New("admission serve: --tls-cert and --tls-key are required (the API server calls webhooks over HTTPS only)"))
	}
	if fl.server == "" {
		return usageError(errors.New("admission serve: --server URL is required"))
	}
	if fl.timeout <= 0 || fl.timeout > 30*time.Second {
		return usageError(fmt.Errorf("--timeout must be between 0 and 30s (the API server waits at most 30s), not %s", fl.timeout))
	}
	token := os.Getenv("MLSEC_TOKEN")
	if fl.tokenFile != "" {
		b, err := os.ReadFile(fl.tokenFile)
		if err != nil {
			return mlsec.Errorf(mlsec.EINVALID, "admission serve: --token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	var roots *x509.CertPool
	if fl.ca != "" {
		pem, err := os.ReadFile(fl.ca)
		if err != nil {
			return mlsec.Errorf(mlsec.EINVALID, "admission serve: --server-ca: %w", err)
		}
		if roots, err = x509.SystemCertPool(); err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return mlsec.Errorf(mlsec.EINVALID, "admission serve: --server-ca %s holds no PEM certificate", fl.ca)
		}
	}
	client, err := admission.NewClient(fl.server, token, roots)
	if err != nil {
		return usageError(err)
	}
	client.AllowUnsigned = fl.allowUnsigned
	if len(fl.vsaKeys) > 0 {
		var anyOf attest.AnyVerifier
		for _, f := range fl.vsaKeys {
			pub, err := readPublicKey("--vsa-key", f)
			if err != nil {
				return err
			}
			anyOf = append(anyOf, &signing.KeyVerifier{Key: pub, Log: log})
		}
		client.VSAVerifier = anyOf
	}
	resolving := fl.registryResolve && fl.trust.given()
	if resolving {
		v, err := fl.trust.verifier(app)
		if err != nil {
			return err
		}
		opts := fl.registry.options()
		// The registry options (CA file, credentials file) are checked now,
		// not at the first review.
		if _, err := oci.NewRepository(registry.Reference{Registry: "localhost", Repository: "mlsec"}, opts); err != nil {
			return usageError(fmt.Errorf("admission serve: %w", err))
		}
		client.Registry = &admission.Registry{Verifier: v, Options: opts}
	}
	wh, err := admission.New(admission.Config{Resolver: client, FailOpen: fl.failOpen, Unknown: admission.UnknownKinds(fl.unknown),
		RequireImmutable: fl.immutable, Timeout: fl.timeout, Log: log})
	if err != nil {
		return usageError(err)
	}
	certs, err := certreload.New(fl.cert, fl.key)
	if err != nil {
		return mlsec.Errorf(mlsec.EINVALID, "admission serve: %w", err)
	}
	ln, err := net.Listen("tcp", fl.addr)
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "admission serve: %w", err)
	}
	log.Info("admission webhook listening", "addr", "https://"+ln.Addr().String()+admission.Path, "server", fl.server,
		"fail_open", fl.failOpen, "unknown_kinds", fl.unknown, "registry_resolve", resolving)
	if !resolving {
		log.Info("oci references resolve only by registered source (no trust flags, or --registry-resolve=false)")
	}
	if fl.failOpen {
		log.Warn("fail-open: objects are admitted unchecked while the mlsec server is unavailable")
	}
	fmt.Fprintf(app.Stdout, "mlsec admission webhook on https://%s%s\n", ln.Addr(), admission.Path)
	return admission.Serve(ctx, ln, wh, certs, log)
}
