package keras

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/format/internal/fuzzseed"
)

type brief struct {
	Kind    IssueKind
	Subject string
}

func briefs(is []Issue) []brief {
	var out []brief
	for _, i := range is {
		out = append(out, brief{i.Kind, i.Subject})
	}
	return out
}

func TestAnalyzeFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []brief
	}{
		{"keras3_sequential.json", nil},
		{"keras3_functional.json", nil},
		{"keras3_lambda.json", []brief{{Lambda, "__lambda__"}}},
		{"keras3_cve_2025_1550.json", []brief{
			{DangerousReference, "builtins.exec"},
			{DangerousReference, "subprocess.Popen"},
			{ExternalPath, "/tmp/pwned"},
			{TFSMLayer, "TFSMLayer"},
			{ExternalPath, "/srv/models/evil_savedmodel"},
			{ForeignReference, "my_layers.Custom"},
			{ExternalPath, "https://example.com/vocab.txt"},
		}},
		// Keras's own file and model loaders are not safe because they live
		// in keras.* (CVE-2025-8747: keras.utils.get_file under safe_mode).
		{"keras3_get_file.json", []brief{
			{DangerousReference, "keras.src.utils.file_utils.get_file"},
			{DangerousReference, "keras.utils.get_file"},
			{DangerousReference, "keras.src.ops.load_model"},
			{DangerousReference, "keras.models.load_model"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Analyze(b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, briefs(got)); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnalyzeCases(t *testing.T) {
	tests := []struct {
		name string
		json string
		opt  Options
		want []brief
	}{
		{"keras2 lambda", `{"class_name":"Lambda","config":{"function":["4wEAAA==",null,null],"function_type":"lambda","module":"__main__"}}`, Options{},
			[]brief{{Lambda, "Lambda"}}},
		{"keras2 lambda string", `{"class_name":"Lambda","config":{"function":"4wEAAA==","function_type":"lambda"}}`, Options{},
			[]brief{{Lambda, "Lambda"}}},
		{"keras2 lambda output_shape", `{"class_name":"Lambda","config":{"function":"relu","function_type":"function","module":"keras.activations","output_shape":["4wE=",null,null],"output_shape_type":"lambda"}}`, Options{},
			[]brief{{Lambda, "Lambda"}}},
		{"keras2 function reference to os", `{"class_name":"Lambda","config":{"function":"system","function_type":"function","module":"os"}}`, Options{},
			[]brief{{DangerousReference, "os.system"}}},
		{"keras2 function from __main__", `{"class_name":"Lambda","config":{"function":"double","function_type":"function","module":"__main__"}}`, Options{},
			[]brief{{ForeignReference, "__main__.double"}}},
		{"unknown class without module", `{"class_name":"Sequential","config":{"layers":[{"class_name":"EvilLayer","config":{}}]}}`, Options{},
			[]brief{{ForeignReference, "EvilLayer"}}},
		{"function in foreign module", `{"module":"mypkg.fns","class_name":"function","config":"swish2","registered_name":null}`, Options{},
			[]brief{{ForeignReference, "mypkg.fns.swish2"}}},
		{"allowlisted module", `{"module":"mypkg.fns","class_name":"function","config":"swish2","registered_name":null}`, Options{Allow: []string{"mypkg.fns"}},
			nil},
		{"allowlisted parent package", `{"module":"keras_hub.src.models.gemma.gemma_backbone","class_name":"GemmaBackbone","config":{},"registered_name":"keras_hub>GemmaBackbone"}`, Options{Allow: []string{"keras_hub:*"}},
			nil},
		{"keras_hub is not keras", `{"module":"keras_hub.src.models.gemma.gemma_backbone","class_name":"GemmaBackbone","config":{},"registered_name":"keras_hub>GemmaBackbone"}`, Options{},
			[]brief{{ForeignReference, "keras_hub.src.models.gemma.gemma_backbone.GemmaBackbone"}}},
		{"registered custom object under keras module", `{"module":"keras.layers","class_name":"Dense","config":{},"registered_name":"acme>Dense"}`, Options{},
			[]brief{{ForeignReference, "acme>Dense"}}},
		{"allowlisted name", `{"module":"mypkg","class_name":"Block","config":{},"registered_name":"mypkg>Block"}`, Options{Allow: []string{"mypkg:Block"}},
			nil},
		{"denylisted keras module", `{"module":"keras.src.utils","class_name":"function","config":"get_file"}`, Options{Deny: []string{"keras.src.utils:get_file"}},
			[]brief{{DangerousReference, "keras.src.utils.get_file"}}},
		{"importlib", `{"module":"importlib","class_name":"import_module","config":{}}`, Options{},
			[]brief{{DangerousReference, "importlib.import_module"}}},
		{"windows path", `{"class_name":"Dense","config":{"name":"C:\\Users\\x\\evil.dll"}}`, Options{},
			[]brief{{ExternalPath, `C:\Users\x\evil.dll`}}},
		{"inline vocabulary", `{"class_name":"StringLookup","config":{"vocabulary":["/","../","http://x","a"]}}`, Options{}, nil},
		{"vocabulary file", `{"class_name":"StringLookup","config":{"vocabulary":"/data/vocab.txt"}}`, Options{},
			[]brief{{ExternalPath, "/data/vocab.txt"}}},
		{"relative name is fine", `{"class_name":"Dense","config":{"name":"block/dense"}}`, Options{}, nil},
		{"tf.keras 2.11 optimizer", `{"optimizer_config":{"class_name":"Custom>Adam","config":{"name":"Adam","learning_rate":0.001}}}`, Options{}, nil},
		{"custom package with unknown name", `{"optimizer_config":{"class_name":"Custom>Evil","config":{}}}`, Options{},
			[]brief{{ForeignReference, "Custom>Evil"}}},
		{"special classes", `{"class_name":"__tensor__","config":{"value":[1,2],"dtype":"float32"}}`, Options{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Analyze([]byte(tt.json), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, briefs(got)); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnalyzeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opt  Options
		want error
	}{
		{"not json", "{nope", Options{}, ErrFormat},
		{"trailing", `{} {}`, Options{}, ErrFormat},
		{"too deep", strings.Repeat("[", 300) + strings.Repeat("]", 300), Options{}, ErrLimit},
		{"too big", `{"a":"` + strings.Repeat("x", 100) + `"}`, Options{MaxBytes: 50}, ErrLimit},
		{"too many nodes", `[` + strings.Repeat("1,", 100) + `1]`, Options{MaxNodes: 10}, ErrLimit},
		{"brackets inside strings do not count", `{"a":"` + strings.Repeat("[", 300) + `"}`, Options{}, nil},
	}
	for _, tt := range tests {
		_, err := Analyze([]byte(tt.in), tt.opt)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func FuzzKerasConfig(f *testing.F) {
	fuzzseed.Files(f, "testdata/*.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		is, err := Analyze(b, Options{MaxNodes: 100_000})
		if err != nil && len(is) > 0 && !errors.Is(err, ErrLimit) {
			t.Fatalf("issues with a non-limit error: %v", err)
		}
	})
}
