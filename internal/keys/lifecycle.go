package keys

import (
	"slices"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// State is where a key is in its life:
// next → active → retiring → retired, or revoked at any point.
type State string

// The states of a key.
const (
	StateNext     State = "next"     // published in the JWKS, not yet signing
	StateActive   State = "active"   // signs; exactly one key is active
	StateRetiring State = "retiring" // published, verifies the tokens it signed
	StateRetired  State = "retired"  // gone from the JWKS: every token it signed has expired
	StateRevoked  State = "revoked"  // compromised: gone at once, its tokens refused
)

// Published reports whether keys in this state are in the JWKS and verify.
func (s State) Published() bool {
	return s == StateNext || s == StateActive || s == StateRetiring
}

// Schedule holds the durations the lifecycle's timing rules depend on.
type Schedule struct {
	// MaxAge is the JWKS cache lifetime (Cache-Control max-age): a key is
	// published at least this long before it signs, so that every cache
	// has it, and stays this long after its last token expired.
	MaxAge time.Duration
	// TokenTTL is the longest lifetime of a token a key signs.
	TokenTTL time.Duration
	// Leeway is the clock skew verifiers tolerate on exp.
	Leeway time.Duration
	// PublishDelay is how long a server may take to notice a new key (its
	// reload interval): pre-publication and lingering are lengthened by it.
	PublishDelay time.Duration
}

// prePublish is how long a new key is published before it signs.
func (s Schedule) prePublish() time.Duration { return s.MaxAge + s.PublishDelay }

// Status is a key and its lifecycle at one instant.
type Status struct {
	store.SigningKey
	State State
	// ActiveFrom is when the key signs (ActivatedAt).
	ActiveFrom time.Time
	// RetiringFrom is when a successor replaced it; zero while none has.
	RetiringFrom time.Time
	// RetiredAt is when it leaves the JWKS; zero while it has no successor.
	RetiredAt time.Time
	// SignsNext marks the next key that signs when the active one is
	// replaced: at its ActiveFrom, or at once if the active key is revoked.
	// At most one key has it; later next keys sign after it in turn.
	SignsNext bool
}

// NextTransition is the next time after now at which the key changes
// state, or zero.
func (s Status) NextTransition(now time.Time) time.Time {
	for _, t := range []time.Time{s.ActiveFrom, s.RetiringFrom, s.RetiredAt} {
		if !t.IsZero() && t.After(now) && s.State != StateRevoked {
			return t
		}
	}
	return time.Time{}
}

// Lifecycle computes every key's state at now. States follow from stored
// times alone, so every replica computes the same ones and a rotation is one
// insert: the active key is the unrevoked key activated last at or before
// now (or, if none is yet, the first to come, so that signing never stops);
// a key retires when its successor activates and leaves the JWKS
// TokenTTL + Leeway + MaxAge later: every token it signed has expired by
// then, and caches that fetched the JWKS while it was there have expired too.
func Lifecycle(rows []store.SigningKey, now time.Time, sch Schedule) []Status {
	live := make([]store.SigningKey, 0, len(rows))
	var out []Status
	for _, r := range rows {
		if !r.RevokedAt.IsZero() {
			out = append(out, Status{SigningKey: r, State: StateRevoked, ActiveFrom: r.ActivatedAt})
			continue
		}
		live = append(live, r)
	}
	slices.SortFunc(live, func(a, b store.SigningKey) int {
		if c := a.ActivatedAt.Compare(b.ActivatedAt); c != 0 {
			return c
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	active := 0
	for i, k := range live {
		if !k.ActivatedAt.After(now) {
			active = i
		}
	}
	linger := sch.TokenTTL + sch.Leeway + sch.MaxAge + sch.PublishDelay
	for i, k := range live {
		st := Status{SigningKey: k, ActiveFrom: k.ActivatedAt}
		if i+1 < len(live) {
			st.RetiringFrom = live[i+1].ActivatedAt
			st.RetiredAt = st.RetiringFrom.Add(linger)
		}
		switch {
		case i == active:
			st.State = StateActive
		case i > active:
			st.State = StateNext
			st.SignsNext = i == active+1
		case now.Before(st.RetiredAt):
			st.State = StateRetiring
		default:
			st.State = StateRetired
		}
		out = append(out, st)
	}
	// Most recently activated first, as ListKeys orders them.
	slices.SortStableFunc(out, func(a, b Status) int { return b.ActivatedAt.Compare(a.ActivatedAt) })
	return out
}
