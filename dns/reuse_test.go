package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// portUpstream answers every query with its own question, except while
// silent, and records the source port of each query.
type portUpstream struct {
	pc     net.PacketConn
	mu     sync.Mutex
	ports  []int
	silent bool
}

func startPortUpstream(t *testing.T) *portUpstream {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	u := &portUpstream{pc: pc}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			u.mu.Lock()
			u.ports = append(u.ports, from.(*net.UDPAddr).Port)
			silent := u.silent
			u.mu.Unlock()
			if n < 12 || silent {
				continue
			}
			buf[2] |= 0x80
			pc.WriteTo(buf[:n], from)
		}
	}()
	return u
}

func (u *portUpstream) take() []int {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.ports
	u.ports = nil
	return p
}

func (u *portUpstream) setSilent(v bool) {
	u.mu.Lock()
	u.silent = v
	u.mu.Unlock()
}

// TestUpstreamSocketReuse: one query at a time reuses one socket for
// maxSocketUses queries, then moves to a fresh source port; a socket whose
// query went unanswered is never used again, so a late answer cannot reach
// the next query.
func TestUpstreamSocketReuse(t *testing.T) {
	up := startPortUpstream(t)
	s := testServer(t, Config{Upstreams: []string{up.pc.LocalAddr().String()}, UpstreamTimeout: 100 * time.Millisecond})
	defer s.fwd.closeIdle()
	key := cacheKey{name: "reuse.test.", qtype: mdns.TypeA, qclass: mdns.ClassINET}
	ctx := context.Background()

	for range 2*maxSocketUses + 1 {
		if _, err := s.fwd.exchange(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	ports := up.take()
	if len(ports) != 2*maxSocketUses+1 {
		t.Fatalf("upstream saw %d queries", len(ports))
	}
	for i, p := range ports {
		if block := i / maxSocketUses; p != ports[block*maxSocketUses] {
			t.Fatalf("query %d came from port %d, not its block's %d", i, p, ports[block*maxSocketUses])
		}
	}
	if ports[0] == ports[maxSocketUses] || ports[maxSocketUses] == ports[2*maxSocketUses] {
		t.Errorf("source port did not change after %d queries: %v %v %v", maxSocketUses,
			ports[0], ports[maxSocketUses], ports[2*maxSocketUses])
	}

	// The socket in use times out: the next query has a fresh port.
	up.setSilent(true)
	if _, err := s.fwd.exchange(ctx, key); err == nil {
		t.Fatal("a silent upstream answered")
	}
	up.setSilent(false)
	// The upstream is now in back-off; exchange still tries it as the
	// last resort.
	if _, err := s.fwd.exchange(ctx, key); err != nil {
		t.Fatal(err)
	}
	ports = up.take()
	if len(ports) != 2 || ports[0] == ports[1] {
		t.Errorf("the query after a timeout came from the timed-out socket's port: %v", ports)
	}

	// A cancelled query's socket is closed too.
	cctx, cancel := context.WithCancel(ctx)
	up.setSilent(true)
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := s.fwd.exchange(cctx, key); err == nil {
		t.Fatal("a silent upstream answered")
	}
	up.setSilent(false)
	if _, err := s.fwd.exchange(ctx, key); err != nil {
		t.Fatal(err)
	}
	ports = up.take()
	if len(ports) != 2 || ports[0] == ports[1] {
		t.Errorf("the query after a cancel came from the cancelled socket's port: %v", ports)
	}
}

// TestShutdownEndsUpstreamWaits: stopping the relay ends the misses waiting
// on a silent upstream at once, not after their timeouts, and the resolver
// goroutines with them.
func TestShutdownEndsUpstreamWaits(t *testing.T) {
	up := startPortUpstream(t)
	up.setSilent(true)
	s, err := New(Config{
		Addrs:           []string{"127.0.0.1:0"},
		AllowFrom:       []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Upstreams:       []string{up.pc.LocalAddr().String()},
		UpstreamTimeout: 20 * time.Second,
		Logger:          discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, func() bool { return s.running.Load() })
	c, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 20 {
		m := new(mdns.Msg)
		m.SetQuestion(fmt.Sprintf("wait%d.test.", i), mdns.TypeA)
		b, _ := m.Pack()
		c.Write(b)
	}
	waitFor(t, func() bool { return len(up.take()) > 0 })
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return while misses waited on a silent upstream")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v to stop", d)
	}
	s.fwd.sockMu.Lock()
	defer s.fwd.sockMu.Unlock()
	if len(s.fwd.socks) != 0 {
		t.Errorf("%d upstream sockets left open", len(s.fwd.socks))
	}
}
