package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

func TestLimiterBucket(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 21, 37, 0, 0, time.UTC)
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("2001:db8::1")
	steps := []struct {
		name string
		addr netip.Addr
		at   time.Duration // after t0
		want bool
	}{
		{"burst 1", a, 0, true},
		{"burst 2", a, 0, true},
		{"burst 3", a, 0, true},
		{"beyond burst", a, 0, false},
		{"other source unaffected", b, 0, true},
		{"half a token back", a, 250 * time.Millisecond, false},
		{"a whole token back", a, 500 * time.Millisecond, true},
		{"spent again", a, 500 * time.Millisecond, false},
		{"v4-mapped is the same source", netip.AddrFrom16(a.As16()), 500 * time.Millisecond, false},
		{"refill stops at burst", a, time.Hour, true},
		{"burst 2 after idle", a, time.Hour, true},
		{"burst 3 after idle", a, time.Hour, true},
		{"beyond burst after idle", a, time.Hour, false},
		{"clock stepped back: no refill, no lockout", a, time.Hour - time.Minute, false},
		{"a token after the step back", a, time.Hour - time.Minute + 500*time.Millisecond, true},
	}
	l := New(2, 3, 100) // 2 per second, burst 3
	for _, st := range steps {
		if got := l.Allow(st.addr, t0.Add(st.at)); got != st.want {
			t.Fatalf("%s: allow(%v, t0+%v) = %v, want %v", st.name, st.addr, st.at, got, st.want)
		}
	}
}

func TestLimiterEvictsLeastRecentlySeen(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 21, 37, 0, 0, time.UTC)
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}) }
	l := New(1, 1, 3) // no refill at a fixed time; one request per source

	for i := 1; i <= 3; i++ {
		if !l.Allow(addr(i), t0) {
			t.Fatalf("first request from %v refused", addr(i))
		}
	}
	l.Allow(addr(1), t0) // refused, but makes 1 the most recently seen; 2 is now the oldest
	if !l.Allow(addr(4), t0) {
		t.Fatal("new source refused with a full table")
	}
	if n := l.Sources(); n != 3 {
		t.Fatalf("table holds %d sources, want at most 3", n)
	}
	for _, tc := range []struct {
		i    int
		want bool
	}{
		{1, false}, // remembered: still empty
		{3, false}, // remembered
		{4, false}, // remembered
		{2, true},  // evicted, so it comes back with a full bucket (and evicts 1)
		{1, true},
	} {
		if got := l.Allow(addr(tc.i), t0); got != tc.want {
			t.Errorf("allow(%v) = %v, want %v", addr(tc.i), got, tc.want)
		}
	}
}

// TestLimiterFloodNoAlloc sends from many more sources than the table holds:
// the table stays bounded and, once grown, eviction allocates nothing.
func TestLimiterFloodNoAlloc(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 21, 37, 0, 0, time.UTC)
	l := New(500, 50, 1000)
	var n uint32
	next := func() netip.Addr {
		n++
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	}
	for range 5000 {
		l.Allow(next(), t0)
	}
	if got := l.Sources(); got != 1000 {
		t.Fatalf("table holds %d sources, want 1000", got)
	}
	allocs := testing.AllocsPerRun(1000, func() { l.Allow(next(), t0) })
	if allocs > 0 {
		t.Errorf("allow with eviction allocates %.1f times", allocs)
	}
}

func BenchmarkLimiter(b *testing.B) {
	t0 := time.Date(2026, 12, 4, 21, 37, 0, 0, time.UTC)
	b.Run("one source", func(b *testing.B) {
		l := New(1e12, 1<<30, 100000)
		a := netip.MustParseAddr("192.0.2.1")
		for b.Loop() {
			l.Allow(a, t0)
		}
	})
	b.Run("new source each time", func(b *testing.B) {
		l := New(500, 50, 100000)
		var n uint32
		for b.Loop() {
			n++
			l.Allow(netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), t0)
		}
	})
}
