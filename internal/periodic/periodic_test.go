package periodic

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&log, nil))
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		done := make(chan struct{})
		go func() {
			Run(ctx, time.Second, logger, "job failed", func(context.Context) error {
				calls++
				if calls == 2 {
					return errors.New("boom")
				}
				return nil
			})
			close(done)
		}()
		time.Sleep(3500 * time.Millisecond) // fake time inside the bubble
		synctest.Wait()
		if calls != 3 {
			t.Errorf("after 3.5 intervals the job ran %d times, want 3", calls)
		}
		cancel()
		<-done
		if n := strings.Count(log.String(), `msg="job failed" err=boom`); n != 1 {
			t.Errorf("log has %d error lines, want 1:\n%s", n, log.String())
		}
	})
}
