package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Heartbeat defaults: a working process records itself every
// DefaultHeartbeatInterval; a running job whose worker has not done so for
// DefaultHeartbeatTimeout is returned to the queue. River's own rescuer
// (RescueAfter) stays as a backstop.
const (
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultHeartbeatTimeout  = 30 * time.Second
)

// heartbeatTable records the processes working jobs: their River client
// id, host and pid, when they started and when they last beat. Times are
// the database's, so workers on machines with skewed clocks agree.
const heartbeatTable = "mlsec_worker"

// beats is the dialect-specific SQL of heartbeats and rescue.
type beats struct {
	sqlite *sql.DB        // single-node queue file
	pg     *pgxpool.Pool  // shared queue
	id     string         // this process's River client id
	host   string         // this host
	start  sql.NullString // this incarnation's start, database time (set by the first beat)
}

func (b *beats) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if b.pg != nil {
		tag, err := b.pg.Exec(ctx, q, args...)
		return tag.RowsAffected(), err
	}
	res, err := b.sqlite.ExecContext(ctx, sqlitePlaceholders(q), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// sqlitePlaceholders rewrites PostgreSQL's $N placeholders to SQLite's ?N.
func sqlitePlaceholders(q string) string { return placeholder().ReplaceAllString(q, "?$1") }

func placeholder() *regexp.Regexp { return regexp.MustCompile(`\$([0-9]+)`) }

// query runs q and calls scan for each row.
func (b *beats) query(ctx context.Context, q string, scan func(func(...any) error) error, args ...any) error {
	if b.pg != nil {
		rows, err := b.pg.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows.Scan); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	rows, err := b.sqlite.QueryContext(ctx, sqlitePlaceholders(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// now is the database's current time as stored in heartbeat rows, and
// age(col) the seconds since a stored time.
func (b *beats) now() string {
	if b.pg != nil {
		return "now()"
	}
	return "strftime('%Y-%m-%d %H:%M:%f', 'now')"
}

func (b *beats) age(col string) string {
	if b.pg != nil {
		return "EXTRACT(EPOCH FROM now() - " + col + ")::float8"
	}
	return "((julianday('now') - julianday(" + col + ")) * 86400.0)"
}

func (b *beats) init(ctx context.Context) error {
	ts := "TEXT"
	if b.pg != nil {
		ts = "TIMESTAMPTZ"
	}
	_, err := b.exec(ctx, `CREATE TABLE IF NOT EXISTS `+heartbeatTable+` (
	id TEXT PRIMARY KEY,
	host TEXT NOT NULL,
	pid BIGINT NOT NULL,
	started_at `+ts+` NOT NULL,
	seen_at `+ts+` NOT NULL
)`)
	if err != nil {
		return fmt.Errorf("queue: heartbeat table: %w", err)
	}
	return nil
}

// beat records that this process is alive; the first beat of an
// incarnation also records its start.
func (b *beats) beat(ctx context.Context) error {
	if !b.start.Valid {
		var start string
		q := `INSERT INTO ` + heartbeatTable + ` (id, host, pid, started_at, seen_at) VALUES ($1, $2, $3, ` + b.now() + `, ` + b.now() + `)
ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at, seen_at = excluded.seen_at
RETURNING CAST(started_at AS TEXT)`
		err := b.query(ctx, q, func(scan func(...any) error) error { return scan(&start) }, b.id, b.host, os.Getpid())
		if err != nil {
			return fmt.Errorf("queue: heartbeat: %w", err)
		}
		b.start = sql.NullString{String: start, Valid: true}
		return nil
	}
	if _, err := b.exec(ctx, `UPDATE `+heartbeatTable+` SET seen_at = `+b.now()+`, pid = $2 WHERE id = $1`, b.id, os.Getpid()); err != nil {
		return fmt.Errorf("queue: heartbeat: %w", err)
	}
	return nil
}

// forget removes this process's heartbeat (a clean stop).
func (b *beats) forget(ctx context.Context) {
	_, _ = b.exec(ctx, `DELETE FROM `+heartbeatTable+` WHERE id = $1`, b.id)
}

type workerBeat struct {
	host string
	pid  int
	age  float64 // seconds since the last beat
}

// rescue returns to the queue every running job whose worker is gone: a
// process on this host that no longer exists, a worker that has not beaten
// for timeout, or an earlier incarnation of this process's id. It returns
// the ids of the jobs it re-queued.
func (b *beats) rescue(ctx context.Context, timeout time.Duration) ([]int64, error) {
	workers := map[string]workerBeat{}
	err := b.query(ctx, `SELECT id, host, pid, `+b.age("seen_at")+` FROM `+heartbeatTable, func(scan func(...any) error) error {
		var id string
		var w workerBeat
		var pid int64
		if err := scan(&id, &w.host, &pid, &w.age); err != nil {
			return err
		}
		w.pid = int(pid)
		workers[id] = w
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue: heartbeats: %w", err)
	}
	last := "attempted_by[array_length(attempted_by, 1)]"
	mine := "attempted_at < ($1::text)::timestamptz"
	if b.pg == nil {
		last = "json_extract(attempted_by, '$[#-1]')"
		mine = "julianday(attempted_at) < julianday($1)"
	}
	type running struct {
		id     int64
		worker string
		age    float64
		before bool // attempted before this incarnation started
	}
	var jobs []running
	start := b.start.String
	if !b.start.Valid {
		start = "9999-12-31 00:00:00"
	}
	err = b.query(ctx, `SELECT id, COALESCE(`+last+`, ''), COALESCE(`+b.age("attempted_at")+`, 0), CASE WHEN `+mine+` THEN 1 ELSE 0 END
FROM river_job WHERE state = 'running'`, func(scan func(...any) error) error {
		var j running
		var before int64
		if err := scan(&j.id, &j.worker, &j.age, &before); err != nil {
			return err
		}
		j.before = before == 1
		jobs = append(jobs, j)
		return nil
	}, start)
	if err != nil {
		return nil, fmt.Errorf("queue: running jobs: %w", err)
	}
	var dead []int64
	for _, j := range jobs {
		w, known := workers[j.worker]
		switch {
		case j.worker == b.id:
			if !j.before {
				continue // ours, running now
			}
		case known && w.host == b.host && w.pid > 0 && !alive(w.pid):
			// A process on this host that is gone: at once.
		case known && w.age <= timeout.Seconds():
			continue
		case !known && j.age <= timeout.Seconds():
			continue // a worker that has not beaten yet
		}
		dead = append(dead, j.id)
	}
	var requeued []int64
	for _, id := range dead {
		n, err := b.exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = `+b.jobNow()+`, finalized_at = NULL,
	max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END
WHERE id = $1 AND state = 'running'`, id)
		if err != nil {
			return requeued, fmt.Errorf("queue: re-queue job %d: %w", id, err)
		}
		if n == 1 {
			requeued = append(requeued, id)
		}
	}
	// Forget processes silent for a day.
	_, _ = b.exec(ctx, `DELETE FROM `+heartbeatTable+` WHERE `+b.age("seen_at")+` > 86400 AND id <> $1`, b.id)
	return requeued, nil
}

// jobNow is the current time as River stores it in river_job.
func (b *beats) jobNow() string {
	if b.pg != nil {
		return "now()"
	}
	return "datetime('now', 'subsec')"
}

// alive reports whether process pid exists on this host.
func alive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// heartbeat beats and rescues every interval until ctx ends.
func (q *Queue) heartbeat(ctx context.Context, b *beats) {
	t := time.NewTicker(q.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := b.beat(ctx); err != nil && ctx.Err() == nil {
			q.log.Warn("job queue heartbeat", "err", err)
			continue
		}
		q.rescueDead(ctx, b)
	}
}

func (q *Queue) rescueDead(ctx context.Context, b *beats) {
	ids, err := b.rescue(ctx, q.cfg.HeartbeatTimeout)
	if err != nil && ctx.Err() == nil {
		q.log.Warn("rescuing jobs of dead workers", "err", err)
	}
	if len(ids) > 0 {
		q.log.Warn("re-queued jobs whose worker died", "jobs", len(ids), "ids", fmtIDs(ids))
	}
}

func fmtIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}
