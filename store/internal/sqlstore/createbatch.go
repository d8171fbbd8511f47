package sqlstore

import (
	"context"
	"fmt"

	"github.com/mlsecops/mlsec/store"
)

// Batched registration (Dialect.RegisterBatch, PostgreSQL). Every write
// appends to the audit chain, whose head row serialises writers until they
// have committed, so one writer at a time waits for its commit's WAL
// flush, its round trips and the wake-up of the next: that, not the
// database's CPU, bounds writes per second, and writers queued on the row
// lock each hold a pooled connection that reads then wait for. New
// artifacts, the bulk of a busy server's writes, are therefore collected
// while a batch runs and registered together by one goroutine in one
// autocommitted statement: one round trip and one flush per batch, one
// connection, the head locked for the statement only. Callers are
// answered once the statement has committed, so an acknowledged
// registration is as durable as before; a digest that exists already is
// merged as before, outside the batch; a batch that fails before its
// commit is retried one registration at a time.

// maxCreateBatch bounds the registrations committed together.
const maxCreateBatch = 128

type createReq struct {
	a     store.Artifact
	actor string
	e     store.AuditEntry // stamped when queued
	done  chan createResult
}

type createResult struct {
	created bool // false: the digest exists (nothing written)
	err     error
}

func (s *DB) startCreateBatcher() {
	s.creates = make(chan *createReq)
	quit, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			var first *createReq
			select {
			case first = <-s.creates:
			case <-quit:
				return
			}
			batch := []*createReq{first}
		more:
			for len(batch) < maxCreateBatch {
				select {
				case r := <-s.creates:
					batch = append(batch, r)
				default:
					break more
				}
			}
			s.runCreateBatch(batch)
		}
	}()
	s.stopCreates = func() { close(quit); <-stopped }
}

// createBatched registers a through the batcher. created is false, with
// nothing written, when the digest exists.
func (s *DB) createBatched(ctx context.Context, a store.Artifact, actor string) (store.Artifact, bool, error) {
	t, _ := s.stamp()
	r := &createReq{a: a, actor: actor, done: make(chan createResult, 1),
		e: store.AuditEntry{Time: t, Actor: actor, Action: "artifact.create", Subject: string(a.Digest), Detail: createDetail(a)}}
	select {
	case s.creates <- r:
	case <-ctx.Done():
		return a, false, fmt.Errorf("store: begin: %w", ctx.Err())
	}
	// Once queued it runs: wait for the verdict, so a caller never returns
	// while its write may still commit.
	res := <-r.done
	if res.err != nil || !res.created {
		return a, false, res.err
	}
	out := a
	out.State, out.CreatedAt, out.UpdatedAt = store.StateQuarantined, t, t
	return out, true, nil
}

func (s *DB) runCreateBatch(batch []*createReq) {
	// One registration per digest per batch; repeats go the ordinary way.
	seen := make(map[store.Digest]bool, len(batch))
	var todo []*createReq
	for _, r := range batch {
		if seen[r.a.Digest] {
			r.done <- createResult{}
			continue
		}
		seen[r.a.Digest] = true
		todo = append(todo, r)
	}
	created, committed, err := s.createBatchTx(todo)
	if err != nil && committed {
		for _, r := range todo {
			r.done <- createResult{err: err}
		}
		return
	}
	if err != nil {
		s.log.Warn("store: registration batch failed; registering one by one", "artifacts", len(todo), "err", err)
		for _, r := range todo {
			_, c, err := s.putArtifactSingle(context.Background(), r.a, r.actor)
			r.done <- createResult{created: c, err: err}
		}
		return
	}
	for _, r := range todo {
		r.done <- createResult{created: created[r.a.Digest]}
	}
}

// createBatchTx registers todo with Dialect.RegisterBatch and returns
// which digests it created; committed reports whether an error came after
// the commit.
func (s *DB) createBatchTx(todo []*createReq) (_ map[store.Digest]bool, committed bool, _ error) {
	ctx := context.Background()
	n := len(todo)
	digests, names, versions, kinds, sources, actors, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	dirs, sizes, blobs, times := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	rests := make([][]byte, n)
	byDigest := make(map[string]*createReq, n)
	for i, r := range todo {
		rest, detail, err := s.auditRest(&r.e)
		if err != nil {
			return nil, false, err
		}
		digests[i], names[i], versions[i], kinds[i], sources[i], actors[i], details[i] = string(r.a.Digest), r.a.Name, r.a.Version, r.a.Kind, r.a.Source, r.actor, detail
		dirs[i], sizes[i], blobs[i], times[i], rests[i] = b2i(r.a.Directory), r.a.Size, b2i(r.a.Blob), r.e.Time.UnixMicro(), rest
		byDigest[digests[i]] = r
	}
	rows, err := s.db.QueryContext(ctx, s.d.RegisterBatch, digests, names, versions, kinds, dirs, sizes, sources, blobs, times, actors, store.StateQuarantined, rests, details)
	if err != nil {
		return nil, false, fmt.Errorf("store: register: %w", err)
	}
	defer rows.Close()
	created := make(map[store.Digest]bool, n)
	var bad error
	for rows.Next() {
		var d, hash string
		var seq int64
		var prev string
		if err := rows.Scan(&d, &seq, &prev, &hash); err != nil {
			return nil, false, fmt.Errorf("store: register: %w", err)
		}
		r := byDigest[d]
		if r == nil {
			return nil, false, fmt.Errorf("store: register: the database returned digest %q, not asked for", d)
		}
		r.e.Seq, r.e.PrevHash = seq, prev
		if err := checkAuditHash(&r.e, hash); err != nil {
			bad = err
		}
		created[r.a.Digest] = true
	}
	// The statement commits when its result has been read in full (the
	// server's ReadyForQuery); Close reports a failed commit.
	if err := rows.Close(); err != nil {
		return nil, false, fmt.Errorf("store: register: %w", err)
	}
	if bad != nil {
		// Committed already: say so loudly; audit verify names the entry.
		s.log.Error("store: audit entry committed with a hash that does not verify", "err", bad)
		return nil, true, bad
	}
	return created, true, nil
}
