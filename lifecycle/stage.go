// Package lifecycle models the ML lifecycle of the OpenSSF MLSecOps reference
// architecture: its ten stages and the artifact kinds each receives and
// produces, the trust states an artifact moves through (quarantined →
// verified → released → revoked), the pipeline file that names an
// organisation's artifacts, sources, identities, roles and gates, the RACI of
// the personas per gate, the catalogue of OpenSSF supply-chain tools, and the
// maturity assessment (CoSAI AIMM, SLSA build level, coverage).
//
// The package is pure data and judgement over data: it reads no artifact and
// evaluates no policy (package policy does).
package lifecycle

import "slices"

// Kind is the kind of an artifact handed between stages.
type Kind string

// Artifact kinds.
const (
	KindThreatModel   Kind = "threat-model"   // threat model, approved-source list
	KindDataset       Kind = "dataset"        // collected, prepared or validated data
	KindFeedbackData  Kind = "feedback-data"  // production feedback for continuous training (untrusted)
	KindExternalModel Kind = "external-model" // pre-trained / foundation model from outside the organisation
	KindModel         Kind = "model"          // a model the organisation trained or fine-tuned
	KindAdapter       Kind = "adapter"        // LoRA and other adapters
	KindCode          Kind = "code"           // training and pipeline code
	KindEvaluation    Kind = "evaluation"     // evaluation and test results
	KindPackage       Kind = "package"        // deployment package (model + serving config)
	KindPrompt        Kind = "prompt"         // prompt templates
	KindRAGCorpus     Kind = "rag-corpus"     // retrieval corpora
	KindToolManifest  Kind = "tool-manifest"  // LLM tool/agent manifests
)

// Kinds returns every artifact kind.
func Kinds() []Kind {
	return []Kind{KindThreatModel, KindDataset, KindFeedbackData, KindExternalModel, KindModel,
		KindAdapter, KindCode, KindEvaluation, KindPackage, KindPrompt, KindRAGCorpus, KindToolManifest}
}

// ValidKind reports whether k is a known kind.
func ValidKind(k Kind) bool { return slices.Contains(Kinds(), k) }

// Class groups kinds into the artifact classes the maturity assessment
// scores: "model", "dataset", "code", "package", "llm-asset" or "document".
func (k Kind) Class() string {
	switch k {
	case KindModel, KindExternalModel, KindAdapter:
		return "model"
	case KindDataset, KindFeedbackData:
		return "dataset"
	case KindCode:
		return "code"
	case KindPackage:
		return "package"
	case KindPrompt, KindRAGCorpus, KindToolManifest:
		return "llm-asset"
	default:
		return "document"
	}
}

// Stage is one stage of the ML lifecycle.
type Stage struct {
	// Name is the command-line name, e.g. "experimentation".
	Name string `json:"name" yaml:"name"`
	// Title is the reference architecture's name for the stage.
	Title string `json:"title" yaml:"title"`
	// Description says what happens in the stage and what its gate checks.
	Description string `json:"description" yaml:"description"`
	// Receives and Produces are the artifact kinds handed in and out.
	Receives []Kind `json:"receives" yaml:"receives"`
	Produces []Kind `json:"produces" yaml:"produces"`
}

// Stage names.
const (
	StagePlanning        = "planning"
	StageData            = "data"
	StageExperimentation = "experimentation"
	StagePipeline        = "pipeline"
	StageCI              = "ci"
	StageCD              = "cd"
	StageTraining        = "training"
	StageServing         = "serving"
	StageMonitoring      = "monitoring"
	StageKnowledge       = "knowledge"
)

// Stages returns the ten lifecycle stages in lifecycle order. Each call
// returns a fresh slice.
func Stages() []Stage {
	return []Stage{
		{StagePlanning, "Planning and design", "Threat model, security requirements and the list of approved sources and identities.",
			nil, []Kind{KindThreatModel}},
		{StageData, "Data engineering", "Collection, preparation and validation of data; datasets from allowed sources, signed manifests, provenance.",
			[]Kind{KindDataset, KindFeedbackData}, []Kind{KindDataset}},
		{StageExperimentation, "Model development and experimentation", "Transfer learning from external and foundation models: intake, scanning, signature check or re-signing.",
			[]Kind{KindExternalModel, KindDataset, KindCode}, []Kind{KindModel, KindAdapter, KindCode}},
		{StagePipeline, "ML pipeline development and test", "Pipeline code and its tests; training runs produce provenance.",
			[]Kind{KindCode, KindDataset, KindModel}, []Kind{KindCode, KindModel}},
		{StageCI, "Continuous integration", "Build, scan and evaluate the trained model; record provenance and evaluation results.",
			[]Kind{KindModel, KindAdapter, KindCode, KindEvaluation}, []Kind{KindModel, KindEvaluation}},
		{StageCD, "Continuous deployment", "Package, sign and release: only verified, signed models with provenance and a passing CI decision.",
			[]Kind{KindModel, KindAdapter, KindEvaluation}, []Kind{KindPackage}},
		{StageTraining, "Continuous training", "Retraining on production feedback, which is untrusted until checked.",
			[]Kind{KindFeedbackData, KindModel}, []Kind{KindModel}},
		{StageServing, "Model serving", "Verify at load: released state, valid signature, no revocation.",
			[]Kind{KindPackage, KindModel}, nil},
		{StageMonitoring, "Continuous monitoring", "Re-scan and re-verify deployed artifacts; revoke on failure.",
			[]Kind{KindPackage, KindModel}, []Kind{KindFeedbackData}},
		{StageKnowledge, "Knowledge ingestion (LLM systems)", "RAG corpora, prompt templates and tool manifests from allowed sources, scanned and signed.",
			[]Kind{KindRAGCorpus, KindPrompt, KindToolManifest}, []Kind{KindRAGCorpus, KindPrompt, KindToolManifest}},
	}
}

// StageNames returns the stage names in lifecycle order.
func StageNames() []string {
	var out []string
	for _, s := range Stages() {
		out = append(out, s.Name)
	}
	return out
}

// LookupStage returns the stage with the given name.
func LookupStage(name string) (Stage, bool) {
	for _, s := range Stages() {
		if s.Name == name {
			return s, true
		}
	}
	return Stage{}, false
}

// Handles reports whether the stage receives or produces artifacts of kind k.
func (s Stage) Handles(k Kind) bool {
	return slices.Contains(s.Receives, k) || slices.Contains(s.Produces, k)
}
