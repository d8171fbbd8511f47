package server

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/store"
)

// Bounds of the corpus pages.
const (
	maxCorpora      = 100 // RAG corpora listed
	maxCorpusRuns   = 20  // ingestion runs listed per corpus
	maxCorpusListed = 500 // flagged or not-analysed documents shown on a run page
)

// corpusRun is one corpus ingestion run: a scan of a RAG corpus reported
// to the server (a scan attestation about an artifact of kind rag-corpus).
type corpusRun struct {
	Artifact   store.Artifact
	EvidenceID int64
	Time       time.Time
	Signer     string
	// Documents, Flagged (with at least one finding), NotAnalysed and
	// Findings count the run's documents; Err says why the scan evidence
	// could not be read.
	Documents, Flagged, NotAnalysed, Findings int
	Err                                       string
}

// corpusDoc is one document of a run with its findings.
type corpusDoc struct {
	Path     string          `json:"path"`
	Format   string          `json:"format"`
	Verdict  string          `json:"verdict"`
	Reason   string          `json:"reason"`
	Findings []mlsec.Finding `json:"findings"`
}

type corporaData struct {
	Runs []corpusRun
}

type corpusRunData struct {
	Run         corpusRun
	Flagged     []corpusDoc
	NotAnalysed []corpusDoc
	// Shown is false when more documents were flagged than listed.
	Truncated bool
}

// corporaPage lists the ingestion runs of the RAG corpora, newest first.
func (s *Server) corporaPage(r *http.Request) (string, any, error) {
	ctx := r.Context()
	arts, err := s.store.ListArtifacts(ctx, store.ArtifactQuery{Kind: string(lifecycle.KindRAGCorpus), Limit: maxCorpora})
	if err != nil {
		return "", nil, fromStore(err)
	}
	var d corporaData
	for _, a := range arts {
		facts, err := s.store.Facts(ctx, store.FactQuery{Subject: a.Digest, PredicateType: attest.ScanType, Limit: maxCorpusRuns})
		if err != nil {
			return "", nil, fromStore(err)
		}
		for _, f := range facts {
			run, _, err := s.corpusRun(ctx, a, f)
			if err != nil {
				return "", nil, err
			}
			d.Runs = append(d.Runs, run)
		}
	}
	sort.SliceStable(d.Runs, func(i, j int) bool { return d.Runs[i].Time.After(d.Runs[j].Time) })
	return "Corpus ingestion runs", d, nil
}

// corpusRunPage shows one ingestion run: the flagged documents with their
// findings, then the documents that could not be analysed.
func (s *Server) corpusRunPage(r *http.Request) (string, any, error) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return "", nil, mlsec.Errorf(mlsec.EINVALID, "server: corpus run id %q is not a positive integer", r.PathValue("id"))
	}
	ev, err := s.store.Evidence(ctx, id)
	if err != nil {
		return "", nil, fromStore(err)
	}
	var fact *store.Fact
	for i, f := range ev.Facts {
		if f.PredicateType == attest.ScanType {
			fact = &ev.Facts[i]
			break
		}
	}
	if fact == nil {
		return "", nil, mlsec.Errorf(mlsec.ENOTFOUND, "server: evidence %d is not a scan", id)
	}
	fact.EvidenceID = ev.ID
	a, err := s.store.Artifact(ctx, fact.Subject)
	if err != nil {
		return "", nil, fromStore(err)
	}
	run, docs, err := s.corpusRun(ctx, a, *fact)
	if err != nil {
		return "", nil, err
	}
	d := corpusRunData{Run: run}
	for _, doc := range docs {
		switch {
		case len(doc.Findings) > 0 && doc.Verdict != "not-analysed":
			if len(d.Flagged) < maxCorpusListed {
				d.Flagged = append(d.Flagged, doc)
			} else {
				d.Truncated = true
			}
		case doc.Verdict == "not-analysed":
			if len(d.NotAnalysed) < maxCorpusListed {
				d.NotAnalysed = append(d.NotAnalysed, doc)
			} else {
				d.Truncated = true
			}
		}
	}
	return "Ingestion run " + strconv.FormatInt(id, 10) + " of " + label(a), d, nil
}

// corpusRun reads the scan evidence behind fact and counts its documents.
// Unreadable evidence is reported in the run, not as an error.
func (s *Server) corpusRun(ctx context.Context, a store.Artifact, f store.Fact) (corpusRun, []corpusDoc, error) {
	run := corpusRun{Artifact: a, EvidenceID: f.EvidenceID, Time: f.Time, Signer: f.Signer}
	ev, err := s.store.Evidence(ctx, f.EvidenceID)
	if err != nil {
		return run, nil, fromStore(err)
	}
	st, err := gating.StatementOf(ev)
	if err != nil {
		run.Err = err.Error()
		return run, nil, nil
	}
	sum, err := attest.ScanOf(st)
	if err != nil {
		run.Err = err.Error()
		return run, nil, nil
	}
	docs := make([]corpusDoc, 0, len(sum.Artifacts))
	for _, raw := range sum.Artifacts {
		var doc corpusDoc
		if err := json.Unmarshal(raw, &doc); err != nil {
			run.Err = "a document entry of the scan cannot be read: " + err.Error()
			continue
		}
		run.Documents++
		run.Findings += len(doc.Findings)
		switch {
		case doc.Verdict == "not-analysed":
			run.NotAnalysed++
		case len(doc.Findings) > 0:
			run.Flagged++
		}
		docs = append(docs, doc)
	}
	return run, docs, nil
}
