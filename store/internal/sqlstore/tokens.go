package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mlsecops/mlsec/store"
)

// TokenPrefix starts every API token secret.
const TokenPrefix = "mlsec_"

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken implements store.Store.
func (s *DB) CreateToken(ctx context.Context, nt store.NewToken) (string, store.Token, error) {
	if !store.ValidTokenName(nt.Name) {
		return "", store.Token{}, invalid("token name %q: use 1-100 letters, digits and . _ - @ : (starting with a letter or digit)", nt.Name)
	}
	if err := checkText("actor", nt.Actor, true); err != nil {
		return "", store.Token{}, err
	}
	if !nt.Role.Valid() {
		return "", store.Token{}, invalid("unknown role %q", nt.Role)
	}
	if nt.TTL < 0 {
		return "", store.Token{}, invalid("negative token lifetime")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", store.Token{}, fmt.Errorf("store: token: %w", err)
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	tok := store.Token{Name: nt.Name, Role: nt.Role}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t, now := s.stamp()
		tok.CreatedAt = t
		var one int
		err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM tokens WHERE name = ?`), nt.Name).Scan(&one)
		if err == nil {
			return fmt.Errorf("%w: a token named %q exists (names are never reused, even after revocation)", store.ErrConflict, nt.Name)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: token: %w", err)
		}
		var expires *int64
		if nt.TTL > 0 {
			e := t.Add(nt.TTL)
			tok.ExpiresAt = &e
			v := e.UnixMicro()
			expires = &v
		}
		if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO tokens (name, role, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			nt.Name, nt.Role, hashSecret(secret), now, expires).Scan(&tok.ID); err != nil {
			return fmt.Errorf("store: token: %w", err)
		}
		detail := map[string]string{"name": nt.Name, "role": string(nt.Role)}
		if tok.ExpiresAt != nil {
			detail["expires_at"] = tok.ExpiresAt.Format(time.RFC3339)
		}
		return s.audit(ctx, tx, t, nt.Actor, "token.create", "token:"+strconv.FormatInt(tok.ID, 10), detail)
	})
	if err != nil {
		return "", store.Token{}, err
	}
	return secret, tok, nil
}

func scanToken(r scanner) (store.Token, error) {
	var t store.Token
	var created int64
	var expires, revoked sql.NullInt64
	if err := r.Scan(&t.ID, &t.Name, &t.Role, &created, &expires, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt = fromMicro(created)
	if expires.Valid {
		v := fromMicro(expires.Int64)
		t.ExpiresAt = &v
	}
	if revoked.Valid {
		v := fromMicro(revoked.Int64)
		t.RevokedAt = &v
	}
	return t, nil
}

// Authenticate implements store.Store.
func (s *DB) Authenticate(ctx context.Context, secret string) (store.Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return store.Token{}, fmt.Errorf("%w: malformed token", store.ErrUnauthorized)
	}
	t, err := scanToken(s.rd.QueryRowContext(ctx, s.q(`SELECT id, name, role, created_at, expires_at, revoked_at FROM tokens WHERE hash = ?`), hashSecret(secret)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("%w: unknown token", store.ErrUnauthorized)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("store: authenticate: %w", err)
	}
	if t.RevokedAt != nil {
		return store.Token{}, fmt.Errorf("%w: token %d revoked", store.ErrUnauthorized, t.ID)
	}
	if t.ExpiresAt != nil && !s.now().Before(*t.ExpiresAt) {
		return store.Token{}, fmt.Errorf("%w: token %d expired", store.ErrUnauthorized, t.ID)
	}
	return t, nil
}

// RevokeToken implements store.Store.
func (s *DB) RevokeToken(ctx context.Context, id int64, actor string) error {
	if err := checkText("actor", actor, true); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, s.q(`SELECT revoked_at FROM tokens WHERE id = ?`+s.d.ForUpdate), id).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: token %d", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("store: revoke token: %w", err)
		}
		if revoked.Valid {
			return nil
		}
		t, now := s.stamp()
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tokens SET revoked_at = ? WHERE id = ?`), now, id); err != nil {
			return fmt.Errorf("store: revoke token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM ui_sessions WHERE token_id = ?`), id); err != nil {
			return fmt.Errorf("store: revoke token: %w", err)
		}
		return s.audit(ctx, tx, t, actor, "token.revoke", "token:"+strconv.FormatInt(id, 10), nil)
	})
}

// Tokens implements store.Store.
func (s *DB) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT id, name, role, created_at, expires_at, revoked_at FROM tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SessionPrefix starts every dashboard session id (never a TokenPrefix:
// a session id is not an API token).
const SessionPrefix = "mlsess_"

// CreateSession implements store.Store.
func (s *DB) CreateSession(ctx context.Context, tokenID int64, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", invalid("session lifetime must be positive")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("store: session: %w", err)
	}
	id := SessionPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	t, now := s.stamp()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM ui_sessions WHERE expires_at <= ?`), now); err != nil {
			return fmt.Errorf("store: session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO ui_sessions (hash, token_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
			hashSecret(id), tokenID, now, t.Add(ttl).UnixMicro()); err != nil {
			return fmt.Errorf("store: session: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// Session implements store.Store.
func (s *DB) Session(ctx context.Context, id string) (store.Token, error) {
	if !strings.HasPrefix(id, SessionPrefix) || len(id) > 200 {
		return store.Token{}, fmt.Errorf("%w: malformed session", store.ErrUnauthorized)
	}
	var expires int64
	row := s.rd.QueryRowContext(ctx, s.q(`SELECT t.id, t.name, t.role, t.created_at, t.expires_at, t.revoked_at, u.expires_at
FROM ui_sessions u JOIN tokens t ON t.id = u.token_id WHERE u.hash = ?`), hashSecret(id))
	var t store.Token
	var created int64
	var texp, revoked sql.NullInt64
	err := row.Scan(&t.ID, &t.Name, &t.Role, &created, &texp, &revoked, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("%w: unknown or ended session", store.ErrUnauthorized)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("store: session: %w", err)
	}
	t.CreatedAt = fromMicro(created)
	if texp.Valid {
		v := fromMicro(texp.Int64)
		t.ExpiresAt = &v
	}
	now := s.now()
	switch {
	case revoked.Valid:
		return store.Token{}, fmt.Errorf("%w: token %d revoked", store.ErrUnauthorized, t.ID)
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return store.Token{}, fmt.Errorf("%w: token %d expired", store.ErrUnauthorized, t.ID)
	case !now.Before(fromMicro(expires)):
		return store.Token{}, fmt.Errorf("%w: session expired", store.ErrUnauthorized)
	}
	return t, nil
}

// EndSession implements store.Store.
func (s *DB) EndSession(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM ui_sessions WHERE hash = ?`), hashSecret(id)); err != nil {
			return fmt.Errorf("store: end session: %w", err)
		}
		return nil
	})
}
