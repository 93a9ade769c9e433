package password

import (
	"context"
	"testing"
	"time"
)

func TestHasher_Dummy(t *testing.T) {
	h := New(cheap, 1)
	// Hold the only slot: Dummy must not need one, because it computes no hash.
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, err := h.Dummy()
	if err != nil {
		t.Fatalf("Dummy() error = %v", err)
	}
	b, _ := h.Dummy()
	h.done(0)
	if a == b {
		t.Errorf("Dummy() returned %q twice, want a fresh salt and output each time", a)
	}
	got, err := parse(a)
	if err != nil {
		t.Fatalf("parse(Dummy()) error = %v", err)
	}
	if got.argon2id.params != cheap {
		t.Errorf("Dummy() params = %+v, want the hasher's %+v", got.argon2id.params, cheap)
	}
	ok, rehash, err := h.Verify(context.Background(), a, "")
	if ok || rehash || err != nil {
		t.Errorf("Verify(Dummy(), \"\") = %v, %v, %v, want false, false, nil", ok, rehash, err)
	}
}

func TestHasher_Dummy_InvalidParams(t *testing.T) {
	if _, err := New(Params{}, 1).Dummy(); err == nil {
		t.Error("Dummy() with zero Params: error = nil, want an error")
	}
}

func TestHasher_SetIdleRelease(t *testing.T) {
	h := New(cheap, 2)
	released := make(chan struct{}, 10)
	h.free = func() { released <- struct{}{} }
	var limits []int64
	defer func(c func(), s func(int64)) { collect, setMemoryLimit = c, s }(collect, setMemoryLimit)
	collections := 0
	collect = func() { collections++ }
	setMemoryLimit = func(n int64) { limits = append(limits, n) }
	h.SetIdleRelease(time.Millisecond)

	// While a computation holds a slot, nothing is released.
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Hash(context.Background(), "pw"); err != nil { // takes and frees the second slot
		t.Fatal(err)
	}
	if h.idleTimer != nil {
		t.Fatal("idle release armed while a hash was still running")
	}
	if collections != 1 || len(limits) != 1 {
		t.Fatalf("after one hash: %d collections, %d limits set; want 1, 1", collections, len(limits))
	}
	if min := int64(2 * cheap.Memory << 10); limits[0] < min+memoryMargin {
		t.Errorf("memory limit %d leaves no room for two slots' hashes (%d) and the margin", limits[0], min)
	}
	h.done(0) // the last slot frees: the release is armed
	select {
	case <-released:
	case <-time.After(10 * time.Second): // a deadline, not a synchronisation
		t.Fatal("memory not released after the hasher went idle")
	}
	if got := limits[len(limits)-1]; got != h.startLimit {
		t.Errorf("after the idle release the memory limit is %d, want the start's %d", got, h.startLimit)
	}
}

func TestHasher_IdleReleaseOff(t *testing.T) {
	h := New(cheap, 1)
	h.free = func() { t.Error("released with idle release off") }
	defer func(c func()) { collect = c }(collect)
	collect = func() { t.Error("collected with idle release off") }
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
	if h.idleTimer != nil {
		t.Error("an idle timer was armed with idle release off")
	}
}
