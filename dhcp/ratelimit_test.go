package dhcp

import (
	"testing"
	"time"
)

func TestMACLimiter(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	l := newMACLimiter(5, 20, 3)
	a, b := [6]byte{1}, [6]byte{2}
	allowed := 0
	for range 100 {
		if l.allow(a, now) {
			allowed++
		}
	}
	if allowed != 20 {
		t.Fatalf("a flood from one MAC: %d allowed at once, want the burst of 20", allowed)
	}
	if !l.allow(b, now) {
		t.Fatal("another MAC is limited by the first one's flood")
	}
	if l.allow(a, now.Add(100*time.Millisecond)) {
		t.Fatal("a token came back too soon")
	}
	if !l.allow(a, now.Add(time.Second)) {
		t.Fatal("no token after a second at 5/s")
	}
	// The table is bounded: a full table with nothing idle lets new MACs
	// through rather than refusing them.
	l.allow([6]byte{3}, now)
	if !l.allow([6]byte{4}, now) {
		t.Fatal("a new MAC was refused because the table is full")
	}
	if len(l.buckets) > 3 {
		t.Fatalf("table grew to %d, bound is 3", len(l.buckets))
	}
	// After a minute idle, entries are evicted to make room.
	later := now.Add(2 * time.Minute)
	l.allow([6]byte{5}, later)
	if _, ok := l.buckets[[6]byte{5}]; !ok {
		t.Fatal("idle buckets were not evicted for a new MAC")
	}
}
