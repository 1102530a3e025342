package tftp

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// benchBuilder is a builder over the demo store with modem 1's lease held
// by 127.0.0.1 until 2100.
func benchBuilder(b *testing.B, now func() time.Time, bucket time.Duration) *builder {
	st := openStore(b, 10)
	grant(b, st, "127.0.0.1", mac1, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	return newBuilder(st, builderOptions{now: now, antiTheft: true, stamp: true, bucket: bucket, cacheBytes: DefaultCacheBytes})
}

// BenchmarkConfigCacheHit is a repeated request for one modem's config:
// the anti-theft lease lookup (one SQLite query) and a cache lookup.
func BenchmarkConfigCacheHit(b *testing.B) {
	bl := benchBuilder(b, time.Now, time.Hour)
	ctx, from, name := context.Background(), netip.MustParseAddr("127.0.0.1"), cmName(mac1)
	if _, err := bl.build(ctx, name, from); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bl.build(ctx, name, from); err != nil {
			b.Fatal(err)
		}
	}
	if bl.compiles.Load() != 1 {
		b.Fatalf("%d compiles", bl.compiles.Load())
	}
}

// BenchmarkConfigCompileMiss is a request whose bytes are not cached (each
// iteration is a new TLV 19 time bucket): lease lookup, template render,
// encode with both MICs and TLV 19/20. The modem's inventory data stays
// resolved (same inventory version).
func BenchmarkConfigCompileMiss(b *testing.B) {
	var tick atomic.Int64
	t0 := time.Now()
	now := func() time.Time { return t0.Add(time.Duration(tick.Add(1)) * time.Second) }
	bl := benchBuilder(b, now, time.Second)
	ctx, from, name := context.Background(), netip.MustParseAddr("127.0.0.1"), cmName(mac1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bl.build(ctx, name, from); err != nil {
			b.Fatal(err)
		}
	}
	if h := bl.hits.Load(); h != 0 {
		b.Fatalf("%d cache hits", h)
	}
}

// BenchmarkConfigResolveMiss is the first request after an inventory
// change: the modem, plan, CMTS, customer and CPEs are read again, then
// compiled.
func BenchmarkConfigResolveMiss(b *testing.B) {
	var tick atomic.Int64
	t0 := time.Now()
	now := func() time.Time { return t0.Add(time.Duration(tick.Add(1)) * time.Second) }
	bl := benchBuilder(b, now, time.Second)
	ctx, from, name := context.Background(), netip.MustParseAddr("127.0.0.1"), cmName(mac1)
	b.ReportAllocs()
	for b.Loop() {
		bl.mu.Lock()
		bl.view = nil
		bl.mu.Unlock()
		if _, err := bl.build(ctx, name, from); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchConfig is a whole TFTP transfer of a cached config over
// loopback with pin/tftp's client (RRQ, DATA, ACK).
func BenchmarkFetchConfig(b *testing.B) {
	st := openStore(b, 10)
	grant(b, st, "127.0.0.1", mac1, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	s := startServer(b, Config{Source: st})
	name := cmName(mac1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fetch(b, s.Addr(), name, 0, false); err != nil {
			b.Fatal(err)
		}
	}
}
