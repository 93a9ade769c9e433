package janitor_test

import (
	"os"
	"testing"

	"github.com/inkan-dev/inkan/internal/testskip"
)

// TestMain names, after the tests, those that skipped for want of
// PostgreSQL, which go test ./... would not show.
func TestMain(m *testing.M) { os.Exit(testskip.Main(m)) }
