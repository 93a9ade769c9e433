package keys

import (
	"context"
	"errors"
	"time"

	"github.com/inkan-dev/inkan/internal/periodic"
	"github.com/inkan-dev/inkan/internal/store"
)

// ReportInterval is how often a server records its schedule (RunReport).
// A recorded value counts for three intervals after its last report, so a
// server that stopped stops counting within three minutes.
const ReportInterval = time.Minute

const reportStale = 3 * ReportInterval

// ReportServing records the manager's MaxAge and TokenTTL as those of a
// running server (store.SettingsStore), so that processes that add keys
// without serving, the CLI, schedule them by the servers' settings rather
// than their own. It returns what is stored after the report: the largest
// of each among the servers that still report, which differs from the
// manager's own when another replica runs with larger values.
func (m *Manager) ReportServing(ctx context.Context) (store.ServingSettings, error) {
	now := m.now()
	own := store.ServingSettings{JWKSMaxAge: m.Schedule.MaxAge, TokenTTL: m.Schedule.TokenTTL}
	if err := m.Store.ReportServing(ctx, own, now, now.Add(-reportStale)); err != nil {
		return store.ServingSettings{}, err
	}
	return m.Store.GetServing(ctx)
}

// RunReport calls ReportServing every ReportInterval until ctx ends.
func (m *Manager) RunReport(ctx context.Context) {
	periodic.Run(ctx, ReportInterval, m.Logger, "report serving settings", func(ctx context.Context) error {
		_, err := m.ReportServing(ctx)
		return err
	})
}

// UseServing replaces the manager's MaxAge and TokenTTL by those the
// servers recorded (see ReportServing) and returns them. When no server has
// recorded any (none of this release has run on the store yet), it leaves
// the schedule as it is and reports false. The CLI calls it before adding or
// listing keys.
func (m *Manager) UseServing(ctx context.Context) (store.ServingSettings, bool, error) {
	s, err := m.Store.GetServing(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return store.ServingSettings{}, false, nil
	}
	if err != nil {
		return store.ServingSettings{}, false, err
	}
	m.Schedule.MaxAge, m.Schedule.TokenTTL = s.JWKSMaxAge, s.TokenTTL
	return s, true, nil
}
