package store

import (
	"context"
	"time"
)

// ServingSettings are the settings of the running servers that the signing
// keys' schedule depends on (keys.Schedule). Every server records its own;
// a process that adds or lists keys without serving (the CLI) schedules
// with the stored ones, so that a key it adds is published as long as the
// servers' JWKS caches last and lingers as long as their tokens live.
type ServingSettings struct {
	JWKSMaxAge time.Duration // --jwks-max-age: the JWKS's Cache-Control max-age
	TokenTTL   time.Duration // --token-ttl: the longest lifetime of a token
}

// SettingsStore persists ServingSettings.
type SettingsStore interface {
	// ReportServing records the settings of one running server at now.
	// Each stored value is replaced by the reported one when that is at
	// least as large, or when the stored one was last reported before
	// staleBefore (no server with it reports any more); otherwise it is
	// kept. While servers report more often than staleBefore lags behind
	// now, the stored values are the largest of the running servers, each
	// setting on its own.
	ReportServing(ctx context.Context, s ServingSettings, now, staleBefore time.Time) error
	// GetServing returns the stored settings, or ErrNotFound when no server
	// has reported them.
	GetServing(ctx context.Context) (ServingSettings, error)
}

// Names of the serving settings in storage.
const (
	SettingJWKSMaxAge = "jwks_max_age"
	SettingTokenTTL   = "token_ttl"
)
