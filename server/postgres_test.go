package server

import (
	"context"
	"testing"

	"github.com/mlsecops/mlsec/store/postgres"
	"github.com/mlsecops/mlsec/store/postgres/pgtest"
)

// TestPostgres runs the API flows on PostgreSQL (`mlsec serve --database
// postgres://…`). It skips with a message when no PostgreSQL is reachable.
func TestPostgres(t *testing.T) {
	url := pgtest.URL(t)
	for name, fn := range map[string]func(*testing.T, *env){
		"Authorization":             testAuthorization,
		"AttestationsLineageImpact": testAttestationsLineageImpact,
	} {
		t.Run(name, func(t *testing.T) {
			st, err := postgres.Open(context.Background(), url, postgres.Options{Schema: pgtest.Schema(t, url)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			fn(t, newEnvStore(t, st, nil))
		})
	}
	t.Run("QueuedChecks", func(t *testing.T) {
		schema := pgtest.Schema(t, url)
		st, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		testQueuedChecks(t, st, withQueueOn(t, url, schema, 2))
	})
	t.Run("UploadScanGate", func(t *testing.T) {
		st, err := postgres.Open(context.Background(), url, postgres.Options{Schema: pgtest.Schema(t, url)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		k := newTestKey(t)
		testUploadScanGate(t, newEnvStore(t, st, withKey(k)), k)
	})
}
