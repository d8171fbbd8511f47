package attest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	tr "github.com/in-toto/attestation/go/predicates/test_result/v0"
	ita1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// Test-result outcomes.
const (
	ResultPassed = "PASSED"
	ResultWarned = "WARNED"
	ResultFailed = "FAILED"
)

// Limits on an evaluation metrics file.
const (
	MaxMetricsSize = 4 << 20
	MaxMetrics     = 10_000
)

// Threshold is a check of one metric, written "name>=0.9" (operators >=,
// <=, >, <, ==).
type Threshold struct {
	Metric string
	Op     string
	Value  float64
}

// String renders the threshold as it is parsed; it names the test in the
// predicate.
func (t Threshold) String() string {
	return t.Metric + t.Op + strconv.FormatFloat(t.Value, 'g', -1, 64)
}

// ParseThreshold parses "metric>=value".
func ParseThreshold(s string) (Threshold, error) {
	for _, op := range []string{">=", "<=", "==", ">", "<"} {
		if i := strings.Index(s, op); i > 0 {
			v, err := strconv.ParseFloat(strings.TrimSpace(s[i+len(op):]), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return Threshold{}, fmt.Errorf("%w: threshold %q: value is not a finite number", ErrMalformed, s)
			}
			return Threshold{Metric: strings.TrimSpace(s[:i]), Op: op, Value: v}, nil
		}
	}
	return Threshold{}, fmt.Errorf("%w: threshold %q: want METRIC>=VALUE (or <=, >, <, ==)", ErrMalformed, s)
}

func (t Threshold) holds(v float64) bool {
	switch t.Op {
	case ">=":
		return v >= t.Value
	case "<=":
		return v <= t.Value
	case ">":
		return v > t.Value
	case "<":
		return v < t.Value
	}
	return v == t.Value
}

// ParseMetrics reads a metrics file: a JSON object whose leaves are
// numbers, nested objects flattened with dots ({"eval":{"acc":0.9}} gives
// "eval.acc"). Other leaf types are kept out of thresholds but recorded.
func ParseMetrics(data []byte) (map[string]any, error) {
	if len(data) > MaxMetricsSize {
		return nil, fmt.Errorf("%w: metrics file of %d bytes exceeds %d", ErrMalformed, len(data), MaxMetricsSize)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%w: metrics file is not a JSON object: %v", ErrMalformed, err)
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any, depth int) error
	walk = func(prefix string, m map[string]any, depth int) error {
		if depth > 8 {
			return fmt.Errorf("%w: metrics nested deeper than 8 levels", ErrMalformed)
		}
		for k, x := range m {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			switch x := x.(type) {
			case map[string]any:
				if err := walk(name, x, depth+1); err != nil {
					return err
				}
				continue
			default:
				out[name] = x
			}
			if len(out) > MaxMetrics {
				return fmt.Errorf("%w: more than %d metrics", ErrMalformed, MaxMetrics)
			}
		}
		return nil
	}
	if err := walk("", v, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// Eval describes an evaluation of a model.
type Eval struct {
	Subject Subject
	// MetricsName names the metrics file (its base name).
	MetricsName string
	// MetricsFile is the metrics file's content (its digest is recorded).
	MetricsFile []byte
	// Fail and Warn thresholds: a failed Fail threshold fails the result,
	// a failed Warn threshold warns.
	Fail, Warn []Threshold
	// URL points at the evaluation run, optional.
	URL string
}

// Statement judges the metrics against the thresholds and renders the
// in-toto test-result statement. Each threshold is a test named by its
// text; a threshold on a metric absent from the file fails. The metrics
// themselves are recorded in the configuration descriptor's "metrics"
// annotation, beside the file's sha256.
func (e *Eval) Statement() ([]byte, error) {
	metrics, err := ParseMetrics(e.MetricsFile)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(e.MetricsFile)
	ann, err := structpb.NewStruct(map[string]any{"metrics": metrics})
	if err != nil {
		return nil, fmt.Errorf("%w: metrics: %v", ErrMalformed, err)
	}
	name := e.MetricsName
	if name == "" {
		name = "metrics.json"
	}
	pred := &tr.TestResult{
		Url: e.URL,
		Configuration: []*ita1.ResourceDescriptor{{
			Name: name, MediaType: "application/json",
			Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}, Annotations: ann,
		}},
	}
	check := func(t Threshold) bool {
		v, ok := metrics[t.Metric].(float64)
		return ok && t.holds(v)
	}
	for _, t := range e.Fail {
		if check(t) {
			pred.PassedTests = append(pred.PassedTests, t.String())
		} else {
			pred.FailedTests = append(pred.FailedTests, t.String())
		}
	}
	for _, t := range e.Warn {
		if check(t) {
			pred.PassedTests = append(pred.PassedTests, t.String())
		} else {
			pred.WarnedTests = append(pred.WarnedTests, t.String())
		}
	}
	switch {
	case len(pred.FailedTests) > 0:
		pred.Result = ResultFailed
	case len(pred.WarnedTests) > 0:
		pred.Result = ResultWarned
	default:
		pred.Result = ResultPassed
	}
	return NewStatement(e.Subject, TestResultType, pred)
}

// TestResult is a parsed test-result predicate.
type TestResult struct {
	Result                 string
	Passed, Warned, Failed []string
	URL                    string
	// Metrics are the first configuration descriptor's "metrics"
	// annotation, if any.
	Metrics map[string]any
}

// TestResultOf reads and checks a test-result predicate: result is PASSED,
// WARNED or FAILED and agrees with the test lists, and every configuration
// descriptor is a valid resource descriptor.
func TestResultOf(st Statement) (*TestResult, error) {
	if st.GetPredicateType() != TestResultType {
		return nil, fmt.Errorf("%w: predicate type %q is not %s", ErrMalformed, st.GetPredicateType(), TestResultType)
	}
	b, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("%w: test result: %v", ErrMalformed, err)
	}
	var p tr.TestResult
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: test result: %v", ErrMalformed, err)
	}
	if !slices.Contains([]string{ResultPassed, ResultWarned, ResultFailed}, p.GetResult()) {
		return nil, fmt.Errorf("%w: test result %q, want PASSED, WARNED or FAILED", ErrMalformed, p.GetResult())
	}
	if p.GetResult() == ResultPassed && len(p.GetFailedTests())+len(p.GetWarnedTests()) > 0 {
		return nil, fmt.Errorf("%w: test result PASSED but lists failed or warned tests", ErrMalformed)
	}
	if p.GetResult() != ResultFailed && len(p.GetFailedTests()) > 0 {
		return nil, fmt.Errorf("%w: test result %s but lists failed tests", ErrMalformed, p.GetResult())
	}
	out := &TestResult{Result: p.GetResult(), Passed: p.GetPassedTests(), Warned: p.GetWarnedTests(), Failed: p.GetFailedTests(), URL: p.GetUrl()}
	for i, rd := range p.GetConfiguration() {
		if err := rd.Validate(); err != nil {
			return nil, fmt.Errorf("%w: test result configuration %d: %v", ErrMalformed, i, err)
		}
		if i == 0 {
			if m, ok := rd.GetAnnotations().AsMap()["metrics"].(map[string]any); ok {
				out.Metrics = m
			}
		}
	}
	return out, nil
}
