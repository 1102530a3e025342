package dhcp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"ip6m/store"
)

// relay is a simulated CMTS relay agent on a loopback address: it sends
// relayed requests to the server and receives the replies at giaddr.
type relay struct {
	conn *net.UDPConn
	srv  *net.UDPAddr
	mu   sync.Mutex
	wait map[dhcpv4.TransactionID]chan *dhcpv4.DHCPv4
}

// exchange sends req and waits for the reply with its xid.
func (r *relay) exchange(req *dhcpv4.DHCPv4, timeout time.Duration) (*dhcpv4.DHCPv4, error) {
	ch := make(chan *dhcpv4.DHCPv4, 1)
	r.mu.Lock()
	r.wait[req.TransactionID] = ch
	r.mu.Unlock()
	defer func() { r.mu.Lock(); delete(r.wait, req.TransactionID); r.mu.Unlock() }()
	if _, err := r.conn.WriteToUDP(req.ToBytes(), r.srv); err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		return m, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("no reply to %v in %s", req.MessageType(), timeout)
	}
}

// startRelayed runs a server for f whose replies go to a relay on giCM.
func startRelayed(t *testing.T, f *fixture) (*Server, *relay) {
	t.Helper()
	// Replies go to giaddr at the relay's port, so the server must know it:
	// find a free port on the relay's address first.
	f.srv.raw.Close()
	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: giCM.AsSlice()})
	if err != nil {
		t.Fatal(err)
	}
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	srv, err := New(context.Background(), Config{Addr: "127.0.0.1:0", Inventory: f.st, Leases: f.st, Now: f.clock.now, RelayPort: port,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return srv, newRelay(t, &net.UDPAddr{IP: giCM.AsSlice(), Port: port}, srv.Addr())
}

// TestRelayedDORAOverSockets drives the running server through real UDP
// sockets, as a CMTS would: a known modem, then 40 modems at once.
func TestRelayedDORAOverSockets(t *testing.T) {
	f := newFixture(t, false)
	srv, r := startRelayed(t, f)

	disc := discover(t, macModem, giCM, macModem, "docsis3.0")
	offer, err := r.exchange(disc, 3*time.Second)
	if err != nil || offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("DISCOVER: %v %v", offer, err)
	}
	req, _ := dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithRelay(giCM.AsSlice()), dhcpv4.WithOptionCopied(disc, dhcpv4.OptionRelayAgentInformation))
	ack, err := r.exchange(req, 3*time.Second)
	if err != nil || ack.MessageType() != dhcpv4.MessageTypeAck || ack.BootFileName != "cm/4432c82109e7.cfg" {
		t.Fatalf("REQUEST: %v %v", ack, err)
	}
	// The ACK left after the lease was durable: the store has it.
	if _, err := f.st.Lease4ByIP(context.Background(), ack.YourIPAddr.String()); err != nil {
		t.Errorf("lease %s after its ACK: %v", ack.YourIPAddr, err)
	}

	// A small storm: 40 modems at once, all answered, all durable, no
	// address handed out twice.
	ctx2 := context.Background()
	var macs [][6]byte
	for i := range 40 {
		mac := [6]byte{0x00, 0x00, 0xca, 0x10, 0x00, byte(i)}
		m := store.Modem{MAC: macText(mac), PlanID: f.plan.ID, CMTSID: f.cmts.ID, Enabled: true}
		if err := f.st.CreateModem(ctx2, "t", &m); err != nil {
			t.Fatal(err)
		}
		macs = append(macs, mac)
	}
	if err := srv.Reload(ctx2); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(macs))
	for _, mac := range macs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := discover(t, mac, giCM, mac, "docsis3.0")
			o, err := r.exchange(d, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			q, _ := dhcpv4.NewRequestFromOffer(o, dhcpv4.WithRelay(giCM.AsSlice()), dhcpv4.WithOptionCopied(d, dhcpv4.OptionRelayAgentInformation))
			a, err := r.exchange(q, 5*time.Second)
			if err != nil || a.MessageType() != dhcpv4.MessageTypeAck {
				errs <- fmt.Errorf("%s: %v %v", macText(mac), a, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	leases, err := f.st.Leases4(ctx2, time.Unix(0, 0))
	if err != nil || len(leases) != 1+len(macs) {
		t.Fatalf("%d leases stored (%v), want %d", len(leases), err, 1+len(macs))
	}
	seen := map[string]bool{}
	for _, l := range leases {
		if seen[l.IP] {
			t.Fatalf("address %s leased twice", l.IP)
		}
		seen[l.IP] = true
	}
}

// TestNoACKUnlessDurable: an ACK is sent only once its lease is durable;
// when the store cannot take it, the client hears nothing (and asks again)
// while an OFFER, which commits nothing, is still sent.
func TestNoACKUnlessDurable(t *testing.T) {
	f := newFixture(t, false)
	srv, r := startRelayed(t, f)
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	disc := discover(t, macModem, giCM, macModem, "docsis3.0")
	offer, err := r.exchange(disc, 3*time.Second)
	if err != nil || offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("DISCOVER: %v %v", offer, err)
	}
	req, _ := dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithRelay(giCM.AsSlice()), dhcpv4.WithOptionCopied(disc, dhcpv4.OptionRelayAgentInformation))
	if ack, err := r.exchange(req, 500*time.Millisecond); err == nil {
		t.Fatalf("an ACK for a lease the store did not take: %v", ack)
	}
	if got := srv.Stats().Drops["error"]; got != 1 {
		t.Errorf("%d errors counted, want 1", got)
	}
}

func newRelay(t *testing.T, addr *net.UDPAddr, srv net.Addr) *relay {
	t.Helper()
	c, err := net.ListenUDP("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{conn: c, srv: srv.(*net.UDPAddr), wait: map[dhcpv4.TransactionID]chan *dhcpv4.DHCPv4{}}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			m, err := dhcpv4.FromBytes(buf[:n])
			if err != nil {
				continue
			}
			r.mu.Lock()
			ch := r.wait[m.TransactionID]
			r.mu.Unlock()
			if ch != nil {
				select {
				case ch <- m:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return r
}

// FuzzHandle4 feeds arbitrary bytes to the request path: no panic, and a
// reply, when there is one, is a well-formed BOOTREPLY.
func FuzzHandle4(f *testing.F) {
	seed := func(mac [6]byte, gi netip.Addr, remote [6]byte, vendor string) []byte {
		d, _ := dhcpv4.NewDiscovery(net.HardwareAddr(mac[:]), dhcpv4.WithRelay(gi.AsSlice()), dhcpv4.WithOption(rai("c", remote)),
			dhcpv4.WithOption(dhcpv4.OptClassIdentifier(vendor)))
		return d.ToBytes()
	}
	f.Add(seed(macModem, giCM, macModem, "docsis3.0"))
	f.Add(seed(macMTA, giMTA, macModem, "pktc1.5"))
	f.Add(seed([6]byte{2, 0, 0, 0, 0, 1}, giCPE, macModem, ""))
	f.Add([]byte{})
	fx := newFixture(f, true)
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := dhcpv4.FromBytes(b)
		if err != nil {
			return
		}
		resp, err := fx.srv.handle4(context.Background(), inbound4{msg: msg})
		if err != nil || resp == nil {
			return
		}
		if resp.OpCode != dhcpv4.OpcodeBootReply {
			t.Fatalf("reply opcode %v", resp.OpCode)
		}
		if _, err := dhcpv4.FromBytes(resp.ToBytes()); err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
	})
}
