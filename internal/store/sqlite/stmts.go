package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxPrepared bounds the statements a pool keeps prepared. The store's
// queries are a fixed set of texts, a few dozen; the bound only keeps a
// mistake (a text built from data) from growing the cache without end.
const maxPrepared = 256

// pool is a database/sql pool that prepares each query text once and runs
// it as a prepared statement from then on. SQLite otherwise parses and
// plans every query on every call, which costs more than running most of
// them, and the periodic polls of every server (change counters,
// back-channel logouts, rotation) would run its parser and planner several
// times a second.
type pool struct {
	*sql.DB

	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newPool(db *sql.DB) *pool {
	return &pool{DB: db, stmts: map[string]*sql.Stmt{}}
}

// stmt returns query prepared, or nil when it cannot be (the cache is full,
// or preparing failed: the caller then runs the text, and the error, if
// any, comes from there).
func (p *pool) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.RLock()
	st := p.stmts[query]
	p.mu.RUnlock()
	if st != nil {
		return st
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.stmts[query]; st != nil {
		return st
	}
	if len(p.stmts) >= maxPrepared {
		return nil
	}
	st, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.stmts[query] = st
	return st
}

// QueryRowContext is sql.DB's, through a prepared statement.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// QueryContext is sql.DB's, through a prepared statement.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// Close closes the statements, then the pool.
func (p *pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, st := range p.stmts {
		st.Close()
		delete(p.stmts, q)
	}
	return p.DB.Close()
}
