package dns

import (
	"context"
	"net"
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
