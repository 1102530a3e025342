package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// BenchmarkCacheHitUDP measures cache-hit queries per second over loopback
// UDP, with as many client sockets as parallel goroutines.
func BenchmarkCacheHitUDP(b *testing.B) {
	up := startUpstream(b, "127.0.0.1")
	s := testServer(b, Config{Upstreams: []string{up.addr}, RatePerSecond: -1})
	ask(b, s, "udp", "a.test.", mdns.TypeA)
	m := new(mdns.Msg)
	m.SetQuestion("a.test.", mdns.TypeA)
	m.SetEdns0(1232, false)
	query, _ := m.Pack()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("udp", s.Addr().String())
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		buf := make([]byte, 2048)
		for pb.Next() {
			if _, err := c.Write(query); err != nil {
				b.Error(err)
				return
			}
			if _, err := c.Read(buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
	if st := s.Stats(); st.CacheMisses != 1 {
		b.Errorf("misses %d", st.CacheMisses)
	}
}

// BenchmarkCacheHitHandler measures the handler alone on a cache hit, with
// no sockets: what each query costs the relay.
func BenchmarkCacheHitHandler(b *testing.B) {
	up := startUpstream(b, "127.0.0.1")
	s, err := New(Config{Addrs: []string{"127.0.0.1:0"}, Upstreams: []string{up.addr}, RatePerSecond: -1, Logger: discard()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.closeSockets()
	m := new(mdns.Msg)
	m.SetQuestion("a.test.", mdns.TypeA)
	m.SetEdns0(1232, false)
	query, _ := m.Pack()
	src := netip.MustParseAddr("127.0.0.1")
	if r := s.handle(context.Background(), src, query, false); r == nil {
		b.Fatal("no answer")
	}
	out := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, _ = s.prepare(src, query, false, out)
	}
}

// BenchmarkCacheMemory reports the heap a full default cache takes:
// DefaultMaxEntries A answers of one record each (the common case), plus a
// tenth of them negative answers with an SOA.
func BenchmarkCacheMemory(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := newCache(DefaultMaxEntries)
		now := time.Now()
		p := ttlPolicy{max: DefaultMaxTTL, maxNegative: DefaultMaxNegativeTTL, stale: DefaultStaleTTL}
		for i := range DefaultMaxEntries {
			name := fmt.Sprintf("host%d.example%d.com.", i, i%977)
			key := cacheKey{name: name, qtype: mdns.TypeA, qclass: mdns.ClassINET}
			m := new(mdns.Msg)
			if i%10 == 0 {
				m.Rcode = mdns.RcodeNameError
				m.Ns = []mdns.RR{&mdns.SOA{Hdr: mdns.RR_Header{Name: "example.com.", Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: 600},
					Ns: "ns1.example.com.", Mbox: "hostmaster.example.com.", Serial: 1, Refresh: 1, Retry: 1, Expire: 1, Minttl: 60}}
			} else {
				m.Answer = []mdns.RR{&mdns.A{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 300},
					A: net.IPv4(192, 0, 2, byte(i))}}
			}
			e, ok, err := newEntry(key, m, now, p)
			if err != nil || !ok {
				b.Fatal(err)
			}
			c.put(e, now)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if c.len() != DefaultMaxEntries {
			b.Fatalf("cache holds %d", c.len())
		}
		heap := float64(after.HeapAlloc - before.HeapAlloc)
		b.ReportMetric(heap/(1<<20), "MB")
		b.ReportMetric(heap/float64(c.len()), "B/entry")
		runtime.KeepAlive(c)
	}
}

// startEcho starts a minimal upstream that answers every query with its own
// question and no records (the QR bit set), so a benchmark of the
// forwarder measures the forwarder, not the stub.
func startEcho(b *testing.B) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { pc.Close() })
	for range 2 {
		go func() {
			buf := make([]byte, 4096)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				if n < 12 {
					continue
				}
				buf[2] |= 0x80 // QR
				buf[3] |= 0x80 // RA
				pc.WriteTo(buf[:n], from)
			}
		}()
	}
	return pc.LocalAddr().String()
}

// BenchmarkForwardUDP measures one cache miss's trip to an upstream and
// back: the forwarder alone, with as many queries in flight as parallel
// goroutines.
func BenchmarkForwardUDP(b *testing.B) {
	addr := startEcho(b)
	s, err := New(Config{Addrs: []string{"127.0.0.1:0"}, Upstreams: []string{addr}, RatePerSecond: -1, Logger: discard()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.closeSockets()
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := cacheKey{name: "a.bench.example.", qtype: mdns.TypeA, qclass: mdns.ClassINET}
		for pb.Next() {
			if _, err := s.fwd.exchange(context.Background(), key); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}
