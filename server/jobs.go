package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/store"
)

// JobAccepted answers a request that was queued (202): poll StatusURL.
type JobAccepted struct {
	Job       int64        `json:"job"`
	Kind      string       `json:"kind"`
	Artifact  store.Digest `json:"artifact,omitempty"`
	StatusURL string       `json:"status_url"`
}

// JobStatus is a queued job's progress.
type JobStatus = queue.JobStatus

// enqueue queues a job about an artifact and answers 202.
func (s *Server) enqueue(w http.ResponseWriter, r *http.Request, req queue.Request) error {
	req.Actor = actor(r.Context())
	id, err := s.cfg.Jobs.Enqueue(r.Context(), req)
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusAccepted, JobAccepted{Job: id, Kind: req.Kind, Artifact: req.Artifact, StatusURL: jobURL(id)})
	return nil
}

func jobURL(id int64) string { return "/api/v1/jobs/" + strconv.FormatInt(id, 10) }

// errNoQueue refuses a request that needs the job queue.
func errNoQueue(what string) error {
	return errorf(mlsec.EINVALID, "%s needs the job queue, which this server does not run", what)
}

func (s *Server) handleJob(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errorf(mlsec.EINVALID, "job id must be a positive integer")
	}
	if s.cfg.Jobs == nil {
		return errorf(mlsec.ENOTFOUND, "no job %d: this server runs no job queue", id)
	}
	st, err := s.cfg.Jobs.Status(r.Context(), id)
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) handleBOM(w http.ResponseWriter, r *http.Request) error {
	d, err := s.existing(r)
	if err != nil {
		return err
	}
	if s.cfg.Jobs == nil {
		return errNoQueue("an AI-BOM request")
	}
	return s.enqueue(w, r, queue.Request{Kind: queue.KindBOM, Artifact: d})
}

// HubScanRequest starts a hub scan of a directory on the server.
type HubScanRequest struct {
	// Root is the mirror's absolute path on the server (and on every
	// worker): Hugging Face cache snapshots, ORG/NAME directories or
	// loose model files.
	Root string `json:"root"`
}

// HubScanStarted answers a started hub scan; poll StatusURL (or the
// dashboard's /hubscans/{id}) for progress. The hub scan is under "scan",
// the key GET /api/v1/hubscans/{id} uses.
type HubScanStarted struct {
	Scan      store.HubScan `json:"scan"`
	StatusURL string        `json:"status_url"`
}

func (s *Server) handleStartHubScan(w http.ResponseWriter, r *http.Request) error {
	var req HubScanRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Root == "" || !filepath.IsAbs(req.Root) {
		return errorf(mlsec.EINVALID, "root must be an absolute path on the server")
	}
	if s.cfg.Jobs == nil {
		return errNoQueue("a hub scan")
	}
	if s.cfg.HubRoots.Empty() {
		return errorf(mlsec.EFORBIDDEN, "hub scans are not enabled on this server (the operator starts it with --hub-root DIR)")
	}
	// Symbolic links resolved, every entry a regular file or directory,
	// every link inside a hub root.
	root, st, err := s.cfg.HubRoots.Check(req.Root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errorf(mlsec.EINVALID, "hub directory %s does not exist", req.Root)
	case err != nil:
		return errorf(mlsec.EFORBIDDEN, "hub directory: %v", err)
	case !st.IsDir():
		return errorf(mlsec.EINVALID, "hub directory %s is not a directory", req.Root)
	}
	h, err := s.cfg.Jobs.EnqueueHubScan(r.Context(), root, actor(r.Context()))
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusAccepted, HubScanStarted{Scan: h, StatusURL: fmt.Sprintf("/api/v1/hubscans/%d", h.ID)})
	return nil
}
