package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Group commit (Dialect.SerializeWrites): one goroutine runs every
// write transaction of this process. Requests that queue while one batch
// commits run together in the next: each in its own SAVEPOINT, so a
// request that fails rolls back alone, and one COMMIT — one fsync of the
// WAL, one hold of the audit chain's head row — makes the whole batch
// durable before any of its callers is answered. Under concurrent writers this turns N fsyncs into one without
// weakening durability (synchronous=FULL stays), and waiting in-process
// is immediate where SQLite's busy handler sleeps in steps of up to
// 100 ms.

// maxBatch bounds the write transactions committed together.
const maxBatch = 64

type writeReq struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan error
}

func (s *DB) startWriter() {
	s.writes = make(chan *writeReq)
	quit, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			var first *writeReq
			select {
			case first = <-s.writes:
			case <-quit:
				return
			}
			batch := []*writeReq{first}
		more:
			for len(batch) < maxBatch {
				select {
				case r := <-s.writes:
					batch = append(batch, r)
				default:
					break more
				}
			}
			s.runBatch(batch)
		}
	}()
	s.stopWriter = func() { close(quit); <-stopped }
}

// groupTx queues fn for the writer and waits for its result.
func (s *DB) groupTx(ctx context.Context, fn func(*sql.Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- r:
	case <-ctx.Done():
		return fmt.Errorf("store: begin: %w", ctx.Err())
	}
	// Once queued the request runs (or is skipped when its ctx has ended
	// by then): wait for the verdict, so a caller never returns while its
	// write may still commit.
	return <-r.done
}

func (s *DB) runBatch(batch []*writeReq) {
	if len(batch) == 1 {
		r := batch[0]
		r.done <- s.singleTx(r.ctx, r.fn)
		return
	}
	errs := make([]error, len(batch))
	ok := make([]bool, len(batch))
	abort := func(err error, tx *sql.Tx) {
		if tx != nil {
			_ = tx.Rollback()
		}
		// Nothing of the batch committed: run what had not failed on its
		// own, each in its own transaction.
		s.log.Warn("store: group commit aborted; retrying its writes one by one", "writes", len(batch), "err", err)
		for i, r := range batch {
			if errs[i] == nil {
				errs[i] = s.singleTx(r.ctx, r.fn)
			}
			r.done <- errs[i]
		}
	}
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		for _, r := range batch {
			r.done <- fmt.Errorf("store: begin: %w", err)
		}
		return
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("store: begin: %w", err)
			continue
		}
		if _, err := tx.Exec(`SAVEPOINT w`); err != nil {
			abort(err, tx)
			return
		}
		if err := r.fn(tx); err != nil {
			errs[i] = err
			if _, rerr := tx.Exec(`ROLLBACK TO SAVEPOINT w`); rerr != nil {
				abort(errors.Join(err, rerr), tx)
				return
			}
		}
		if _, err := tx.Exec(`RELEASE SAVEPOINT w`); err != nil {
			abort(err, tx)
			return
		}
		ok[i] = errs[i] == nil
	}
	if err := tx.Commit(); err != nil {
		for i := range batch {
			if ok[i] {
				errs[i] = fmt.Errorf("store: commit: %w", err)
			}
		}
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}
