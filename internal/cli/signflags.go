package cli

import (
	"crypto/x509"
	"os"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/signing"
)

// signerFlags are the signing-method flags of commands that sign evidence
// (mlsec attest ...), parsed the way mlsec sign parses them.
type signerFlags struct {
	key, cert                 string
	chain                     []string
	useSigstore               bool
	oidcIssuer, identityToken string
	fulcioURL, rekorURL       string
	trustedRoot               string
}

func (f *signerFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "PEM private key (key method, or the certificate's key)")
	fl.StringVar(&f.cert, "certificate", "", "PEM signing certificate (certificate method); certificates after the first are recorded as its chain")
	fl.StringSliceVar(&f.chain, "certificate-chain", nil, "PEM intermediate/root certificates recorded after the leaf (repeatable)")
	fl.BoolVar(&f.useSigstore, "sigstore", false, "sign keyless with Sigstore")
	fl.StringVar(&f.oidcIssuer, "oidc-issuer", "https://oauth2.sigstore.dev/auth", "OIDC issuer for --sigstore")
	fl.StringVar(&f.identityToken, "identity-token", "", "OIDC identity token for --sigstore (default $SIGSTORE_ID_TOKEN)")
	fl.StringVar(&f.fulcioURL, "fulcio-url", signing.PublicFulcioURL, "Fulcio URL for --sigstore")
	fl.StringVar(&f.rekorURL, "rekor-url", signing.PublicRekorURL, "Rekor URL for --sigstore")
	fl.StringVar(&f.trustedRoot, "trusted-root", "", trustedRootUsage)
}

// trustedRootUsage documents --trusted-root of the signing commands.
const trustedRootUsage = "Sigstore trusted root JSON that --sigstore checks the new bundle against (default: the public-good root through TUF when signing with the public-good Fulcio and Rekor)"

// newSigstoreSigner builds the keyless signer of sign and attest: the
// bundle sigstore-go produces is checked against trustedRoot, or against
// the public-good root fetched through TUF when both services are the
// public-good ones (a private instance without --trusted-root is not
// checked).
func newSigstoreSigner(fulcioURL, rekorURL, token, trustedRoot string) (*signing.SigstoreSigner, error) {
	s := &signing.SigstoreSigner{FulcioURL: fulcioURL, RekorURL: rekorURL, IDToken: token}
	if trustedRoot != "" || (fulcioURL == signing.PublicFulcioURL && rekorURL == signing.PublicRekorURL) {
		tm, err := signing.LoadTrustedRoot(trustedRoot)
		if err != nil {
			return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
		}
		s.TrustedMaterial = tm
	}
	return s, nil
}

// signer builds the signer and names its method.
func (f *signerFlags) signer() (signing.Signer, string, error) {
	switch {
	case f.useSigstore:
		if f.key != "" || f.cert != "" {
			return nil, "", mlsec.Errorf(mlsec.EINVALID, "--sigstore excludes --key and --certificate")
		}
		token := f.identityToken
		if token == "" {
			token = os.Getenv("SIGSTORE_ID_TOKEN")
		}
		if token == "" {
			return nil, "", mlsec.Errorf(mlsec.EINVALID, "--sigstore needs an OIDC identity token from %s: pass --identity-token or set SIGSTORE_ID_TOKEN", f.oidcIssuer)
		}
		s, err := newSigstoreSigner(f.fulcioURL, f.rekorURL, token, f.trustedRoot)
		if err != nil {
			return nil, "", err
		}
		return s, "sigstore", nil
	case f.cert != "":
		if f.key == "" {
			return nil, "", mlsec.Errorf(mlsec.EINVALID, "--certificate needs --key (the certificate's private key)")
		}
		s, err := loadCertSigner(f.key, f.cert, f.chain)
		if err != nil {
			return nil, "", err
		}
		return s, "certificate", nil
	case f.key != "":
		if len(f.chain) > 0 {
			return nil, "", mlsec.Errorf(mlsec.EINVALID, "--certificate-chain needs --certificate")
		}
		k, err := loadPrivateKey(f.key)
		if err != nil {
			return nil, "", err
		}
		return &signing.KeySigner{Key: k}, "key", nil
	}
	return nil, "", mlsec.Errorf(mlsec.EINVALID, "choose a signing method: --key, --certificate with --key, or --sigstore")
}

// trustFlags are the verification flags of commands that check evidence
// (attest verify, verify-chain). Several --key and --ca-bundle values may
// be combined: a bundle is accepted when any of them accepts it.
type trustFlags struct {
	keys, caBundles               []string
	identity, issuer, trustedRoot string
	noSCT                         bool
}

func (f *trustFlags) register(cmd *cobra.Command) { f.registerAs(cmd, "identity") }

// registerAs registers the flags with the keyless signer identity named
// identityFlag (unseal keeps --identity for its age identity files).
func (f *trustFlags) registerAs(cmd *cobra.Command, identityFlag string) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.keys, "key", nil, "PEM public key of a trusted signer (repeatable)")
	fl.StringSliceVar(&f.caBundles, "ca-bundle", nil, "PEM root certificates for certificate-signed bundles (repeatable)")
	fl.StringVar(&f.identity, identityFlag, "", "expected signer identity, e.g. an e-mail (keyless)")
	fl.StringVar(&f.issuer, "issuer", "", "expected OIDC issuer URL (keyless)")
	fl.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted root JSON for offline keyless verification (default: fetch through TUF)")
	fl.BoolVar(&f.noSCT, "no-sct", false, "keyless: do not require a certificate transparency SCT (private Sigstore without CT)")
}

// given reports whether any way to trust a signer was named.
func (f *trustFlags) given() bool {
	return len(f.keys) > 0 || len(f.caBundles) > 0 || f.identity != "" || f.issuer != ""
}

// verifier builds the verifier the flags describe.
func (f *trustFlags) verifier(app *App) (signing.Verifier, error) {
	var vs attest.AnyVerifier
	for _, p := range f.keys {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
		}
		pub, err := signing.ParsePublicKey(data)
		if err != nil {
			return nil, mlsec.Errorf(mlsec.EINVALID, "%s: %w", p, err)
		}
		vs = append(vs, &signing.KeyVerifier{Key: pub, Log: app.Log})
	}
	if len(f.caBundles) > 0 {
		pool := x509.NewCertPool()
		for _, p := range f.caBundles {
			roots, err := loadCerts(p)
			if err != nil {
				return nil, err
			}
			for _, c := range roots {
				pool.AddCert(c)
			}
		}
		vs = append(vs, &signing.CertVerifier{Roots: pool})
	}
	if f.identity != "" || f.issuer != "" {
		if f.identity == "" || f.issuer == "" {
			return nil, mlsec.Errorf(mlsec.EINVALID, "keyless verification needs both --identity and --issuer")
		}
		tm, err := signing.LoadTrustedRoot(f.trustedRoot)
		if err != nil {
			return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
		}
		vs = append(vs, &signing.SigstoreVerifier{TrustedMaterial: tm, Identity: f.identity, Issuer: f.issuer, RequireSCT: !f.noSCT})
	}
	switch len(vs) {
	case 0:
		return nil, mlsec.Errorf(mlsec.EINVALID, "choose how to trust signers: --key, --ca-bundle, or --identity with --issuer")
	case 1:
		return vs[0], nil
	}
	return vs, nil
}

// defaultIgnores are the evidence files inside a directory model that
// mlsec sign and verify leave out besides the signature named by
// --signature: the layout's signature and claims files
// (docs/evidence-layout.md), so that appending a claim never invalidates
// the model's signature.
func defaultIgnores(modelPath string) []string { return evidence.Inside(modelPath) }
