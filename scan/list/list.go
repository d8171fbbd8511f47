// Package list is the explicit registry of scan detectors: a name to
// constructor table, with no init() side effects. Adding a detector is one
// line here.
package list

import (
	"fmt"
	"sort"

	"github.com/mlsecops/mlsec/scan"
	agentdet "github.com/mlsecops/mlsec/scan/detector/agent"
	archivedet "github.com/mlsecops/mlsec/scan/detector/archive"
	ggufdet "github.com/mlsecops/mlsec/scan/detector/gguf"
	hfrepodet "github.com/mlsecops/mlsec/scan/detector/hfrepo"
	jobdet "github.com/mlsecops/mlsec/scan/detector/joblib"
	kerasdet "github.com/mlsecops/mlsec/scan/detector/keras"
	llmconfigdet "github.com/mlsecops/mlsec/scan/detector/llmconfig"
	npydet "github.com/mlsecops/mlsec/scan/detector/numpy"
	onnxdet "github.com/mlsecops/mlsec/scan/detector/onnx"
	pickledet "github.com/mlsecops/mlsec/scan/detector/pickle"
	ragdet "github.com/mlsecops/mlsec/scan/detector/rag"
	safetensorsdet "github.com/mlsecops/mlsec/scan/detector/safetensors"
	savedmodeldet "github.com/mlsecops/mlsec/scan/detector/savedmodel"
	templatedet "github.com/mlsecops/mlsec/scan/detector/template"
	tflitedet "github.com/mlsecops/mlsec/scan/detector/tflite"
	torchdet "github.com/mlsecops/mlsec/scan/detector/torch"
	zipdet "github.com/mlsecops/mlsec/scan/detector/zip"
)

// Constructor builds a detector from the user's configuration.
type Constructor func(cfg scan.Config) (scan.Detector, error)

// constructors returns the table of every detector mlsec ships, by name.
func constructors() map[string]Constructor {
	return map[string]Constructor{
		onnxdet.Name:        onnxdet.New,
		savedmodeldet.Name:  savedmodeldet.New,
		tflitedet.Name:      tflitedet.New,
		ggufdet.Name:        ggufdet.New,
		safetensorsdet.Name: safetensorsdet.New,
		templatedet.Name:    templatedet.New,
		npydet.Name:         npydet.New,
		zipdet.Name:         zipdet.New,
		jobdet.Name:         jobdet.New,
		torchdet.Name:       torchdet.New,
		pickledet.Name:      pickledet.New,
		kerasdet.Name:       kerasdet.New,
		archivedet.Name:     archivedet.New,
		hfrepodet.Name:      hfrepodet.New,
		ragdet.Name:         ragdet.New,
		llmconfigdet.Name:   llmconfigdet.New,
		agentdet.Name:       agentdet.New,
	}
}

// Names returns the names of all detectors, sorted.
func Names() []string {
	var names []string
	for n := range constructors() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// All builds every detector with cfg, in name order.
func All(cfg scan.Config) ([]scan.Detector, error) {
	table := constructors()
	var ds []scan.Detector
	for _, n := range Names() {
		d, err := table[n](cfg)
		if err != nil {
			return nil, fmt.Errorf("detector %s: %w", n, err)
		}
		ds = append(ds, d)
	}
	return ds, nil
}
