package admission

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/signing"
)

// ErrUnavailable marks a lookup that could not be answered: the server is
// unreachable, timed out, refused the token or answered an error. The
// webhook denies on it (fail closed) unless it runs with FailOpen.
var ErrUnavailable = errors.New("admission: mlsec server unavailable")

// Stage is the lifecycle stage whose gate decision admits a model.
const Stage = "serving"

// maxAnswer bounds a server answer the client reads.
const maxAnswer = 4 << 20

// Client asks an mlsec server about artifacts over its REST API with a
// read-only (auditor) token.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client

	// verified remembers VSAs that verified, by evidence id: stored
	// evidence never changes (the server keeps bundles verbatim), so a
	// verification holds; the decisions are still read on every review.
	mu       sync.Mutex
	verified map[int64]string // evidence id -> artifact digest
	// AllowUnsigned admits on a passing serving decision the server
	// recorded without signing it (a server without --signing-key). By
	// default the decision must be a signed VSA (it has an evidence id).
	AllowUnsigned bool
	// VSAVerifier, when set, checks the signed VSA itself: the webhook
	// fetches the decision's evidence, verifies its signature (the
	// server's --signing-key, as a public key), and requires a
	// verification_summary statement about the artifact's digest, PASSED,
	// for the serving stage. Without it the webhook takes the server's
	// word for the decision.
	VSAVerifier signing.Verifier
	// Registry, when set, resolves oci references that no artifact is
	// registered with through the registry (see Registry); nil leaves
	// them unknown.
	Registry *Registry
}

// NewClient returns a client of the server at base (https://… or, on
// loopback, http://…). roots, when not nil, are the CA certificates the
// server's certificate must chain to (else the system roots).
func NewClient(base, token string, roots *x509.CertPool) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("admission: server URL %q must be http(s)://HOST[:PORT]", base)
	}
	if token == "" {
		return nil, fmt.Errorf("admission: no API token for the mlsec server")
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{base: u, token: token, http: &http.Client{Transport: tr}}, nil
}

// artifact and decision are the fields of the server's answers the
// webhook reads (server.ArtifactList, server.DecisionList).
type artifact struct {
	Digest string `json:"digest"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Source string `json:"source"`
}

type decision struct {
	Stage      string   `json:"stage"`
	Result     string   `json:"result"`
	Reasons    []string `json:"reasons"`
	EvidenceID int64    `json:"evidence_id"`
	CreatedAt  string   `json:"created_at"`
}

// checkVSA fetches evidence id and checks it is a VSA signed by a key of
// VSAVerifier about digest d that passed the serving stage.
func (c *Client) checkVSA(ctx context.Context, d string, id int64) error {
	c.mu.Lock()
	hit := c.verified[id] == d
	c.mu.Unlock()
	if hit {
		return nil
	}
	var raw json.RawMessage
	if err := c.get(ctx, "/api/v1/evidence/"+strconv.FormatInt(id, 10), nil, &raw); err != nil {
		return err
	}
	st, err := attest.Verify(ctx, c.VSAVerifier, raw)
	if err != nil {
		return err
	}
	if !st.About(attest.Digest(d)) {
		return fmt.Errorf("it is not about %s", d)
	}
	sum, gate, err := policy.ParseVSA(st)
	if err != nil {
		return err
	}
	if sum.GetVerificationResult() != "PASSED" || gate == nil || gate.Stage != Stage {
		return fmt.Errorf("it is not a PASSED %s gate (result %s)", Stage, sum.GetVerificationResult())
	}
	c.mu.Lock()
	if c.verified == nil || len(c.verified) >= maxVerified {
		c.verified = map[int64]string{}
	}
	c.verified[id] = d
	c.mu.Unlock()
	return nil
}

// errNotFound marks a 404 of the server (wrapped with ErrUnavailable by
// get; callers that expect it test for it first).
var errNotFound = errors.New("not found")

// maxVerified bounds the verified-VSA cache.
const maxVerified = 10000

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fmt.Errorf("%w: reading %s: %w", ErrUnavailable, path, err)
	}
	if len(body) > maxAnswer {
		return fmt.Errorf("%w: answer to %s exceeds %d bytes", ErrUnavailable, path, maxAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%w: %w: GET %s: %s %s", ErrUnavailable, errNotFound, path, resp.Status, e.Error.Message)
		}
		return fmt.Errorf("%w: GET %s: %s %s", ErrUnavailable, path, resp.Status, e.Error.Message)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: GET %s: %w", ErrUnavailable, path, err)
	}
	return nil
}

// Verdict is what the server's records say about one model reference.
type Verdict struct {
	Allowed bool
	// Reason explains the verdict for the person whose object was denied
	// or admitted.
	Reason string
	// Artifact is the digest the reference resolved to, if any.
	Artifact string
}

// Resolve looks a reference up: the artifacts registered with one of its
// sources (the first source that has any), then the matched artifact's
// serving decisions. An oci reference no artifact is registered with is,
// when Registry is set, resolved through the registry to the digest its
// trusted OMS signature covers, and that artifact is read. It admits when
// the reference resolves to exactly one digest, that artifact is released,
// and its latest serving decision passed. Errors wrap ErrUnavailable or
// ErrRegistryUnavailable; a definite "no" is a Verdict.
func (c *Client) Resolve(ctx context.Context, ref Ref) (Verdict, error) {
	var arts []artifact
	for _, src := range ref.Sources {
		var list struct {
			Artifacts []artifact `json:"artifacts"`
		}
		if err := c.get(ctx, "/api/v1/artifacts", url.Values{"source": {src}, "limit": {"10"}}, &list); err != nil {
			return Verdict{}, err
		}
		if len(list.Artifacts) > 0 {
			arts = list.Artifacts
			break
		}
	}
	via := ""
	switch {
	case len(arts) == 0 && ref.Scheme == "oci" && c.Registry != nil:
		res, err := c.Registry.Resolve(ctx, ref)
		if err != nil {
			if errors.Is(err, ErrRegistryUnavailable) {
				return Verdict{}, err
			}
			return Verdict{Reason: err.Error()}, nil
		}
		for _, d := range res.Digests() {
			var a artifact
			err := c.get(ctx, "/api/v1/artifacts/"+d, nil, &a)
			if errors.Is(err, errNotFound) {
				continue
			}
			if err != nil {
				return Verdict{}, err
			}
			if a.Digest != d {
				return Verdict{}, fmt.Errorf("%w: the server answered for %s with artifact %q", ErrUnavailable, d, a.Digest)
			}
			arts = []artifact{a}
			break
		}
		if len(arts) == 0 {
			return Verdict{Reason: fmt.Sprintf("%s is a model signed by a trusted signer (OMS root %s) but not a known artifact: the mlsec server has no artifact %s", ref.Raw, res.Root, strings.Join(res.Digests(), " or "))}, nil
		}
		via = fmt.Sprintf(" (resolved through the registry: signed manifest, %d files match the OMS signature)", res.Files)
	case len(arts) == 0:
		return Verdict{Reason: fmt.Sprintf("%s is not a known artifact: no artifact in the mlsec server is registered with this source", ref.Raw)}, nil
	case len(arts) > 1:
		ds := make([]string, len(arts))
		for i, a := range arts {
			ds[i] = a.Digest
		}
		return Verdict{Reason: fmt.Sprintf("%s names %d different artifacts in the mlsec server (%s): refusing an ambiguous reference", ref.Raw, len(arts), strings.Join(ds, ", "))}, nil
	}
	a := arts[0]
	v := Verdict{Artifact: a.Digest}
	if a.State != "released" {
		v.Reason = fmt.Sprintf("%s is artifact %s, which is %s, not released", ref.Raw, a.Digest+via, a.State)
		return v, nil
	}
	var dl struct {
		Decisions []decision `json:"decisions"`
	}
	if err := c.get(ctx, "/api/v1/artifacts/"+a.Digest+"/decisions", nil, &dl); err != nil {
		return Verdict{}, err
	}
	var last *decision
	for i := range dl.Decisions {
		if dl.Decisions[i].Stage == Stage {
			last = &dl.Decisions[i]
		}
	}
	switch {
	case last == nil:
		v.Reason = fmt.Sprintf("%s is artifact %s, released but never passed the %s gate", ref.Raw, a.Digest+via, Stage)
	case last.Result != "pass":
		why := ""
		for _, r := range last.Reasons {
			if strings.HasPrefix(r, "FAIL") {
				why = ": " + r
				break
			}
		}
		v.Reason = fmt.Sprintf("%s is artifact %s, whose latest %s gate decision is %s%s", ref.Raw, a.Digest+via, Stage, last.Result, why)
	case last.EvidenceID == 0 && !c.AllowUnsigned:
		v.Reason = fmt.Sprintf("%s is artifact %s, whose %s gate passed without a signed VSA (the mlsec server runs without --signing-key)", ref.Raw, a.Digest+via, Stage)
	case c.VSAVerifier != nil:
		if err := c.checkVSA(ctx, a.Digest, last.EvidenceID); err != nil {
			if errors.Is(err, ErrUnavailable) {
				return Verdict{}, err
			}
			v.Reason = fmt.Sprintf("%s is artifact %s, whose serving VSA (evidence %d) does not hold: %v", ref.Raw, a.Digest+via, last.EvidenceID, err)
			return v, nil
		}
		v.Allowed = true
		v.Reason = fmt.Sprintf("%s is artifact %s: released, %s gate passed (VSA verified)", ref.Raw, a.Digest+via, Stage)
	default:
		v.Allowed = true
		v.Reason = fmt.Sprintf("%s is artifact %s: released, %s gate passed", ref.Raw, a.Digest+via, Stage)
	}
	return v, nil
}
