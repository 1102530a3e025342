package dhcpdconf

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"ip6m/dhcp"
)

// TestSeedServedAsDhcpdWould imports the seed's dhcpd.conf and runs ip6m's
// DHCPv4 server on it over real loopback sockets, with a test relay in
// the CMTS's place, and checks that each device gets what the seed's
// dhcpd gave it. The seed file's documentation addresses are moved into
// 127.0.0.0/8 here so that the relay can listen at its giaddr:
// 192.0.2.x → 127.0.2.x (server), 198.51.100.x → 127.51.100.x (modems),
// 203.0.113.x → 127.113.0.x (CPEs).
func TestSeedServedAsDhcpdWould(t *testing.T) {
	ctx := context.Background()
	src, err := os.ReadFile("testdata/seed_dhcpd.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("192.0.2.", "127.0.2.", "198.51.100.", "127.51.100.", "203.0.113.", "127.113.0.").Replace(string(src))
	path := filepath.Join(t.TempDir(), "dhcpd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	if rep, err := Import(ctx, st, path, Options{}); err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}

	giCM, giCPE := netip.MustParseAddr("127.51.100.1"), netip.MustParseAddr("127.113.0.1")
	cmRelay, err := net.ListenUDP("udp4", &net.UDPAddr{IP: giCM.AsSlice()})
	if err != nil {
		t.Skipf("loopback relay address: %v", err)
	}
	port := cmRelay.LocalAddr().(*net.UDPAddr).Port
	cpeRelay, err := net.ListenUDP("udp4", &net.UDPAddr{IP: giCPE.AsSlice(), Port: port})
	if err != nil {
		cmRelay.Close()
		t.Skipf("second relay on port %d: %v", port, err)
	}
	srv, err := dhcp.New(ctx, dhcp.Config{Addr: "127.0.0.1:0", Inventory: st, Leases: st, RelayPort: port,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	to := srv.Addr().(*net.UDPAddr)
	cm, cpe := newTestRelay(t, cmRelay, to), newTestRelay(t, cpeRelay, to)

	silent := 0
	type want struct {
		yiaddr, file, siaddr string
		router               string
	}
	for _, tc := range []struct {
		name         string
		relay        *testRelay
		gi           netip.Addr
		mac, remote  string
		vendor       string
		want         *want // nil: no answer
		inRange      bool  // yiaddr from the CPE range
		timeServers  bool
		option122Off bool
	}{
		{name: "modem-2 gets its fixed address and config", relay: cm, gi: giCM, mac: "44:32:c8:21:09:e7", remote: "44:32:c8:21:09:e7", vendor: "docsis3.0",
			want: &want{"127.51.100.2", "cm/4432c82109e7.cfg", "127.0.2.10", "127.51.100.1"}, timeServers: true},
		{name: "modem-4", relay: cm, gi: giCM, mac: "00:1e:6b:e6:b4:a5", remote: "00:1e:6b:e6:b4:a5", vendor: "docsis3.0",
			want: &want{"127.51.100.4", "cm/001e6be6b4a5.cfg", "127.0.2.10", "127.51.100.1"}, timeServers: true},
		{name: "CPE behind modem-2: class CMTS-1, the CPE pool", relay: cpe, gi: giCPE, mac: "02:00:00:00:00:01", remote: "44:32:c8:21:09:e7",
			want: &want{"", "", "", "127.113.0.1"}, inRange: true},
		{name: "CPE behind a modem known only from the class rule", relay: cpe, gi: giCPE, mac: "02:00:00:00:00:02", remote: "90:6e:bb:54:f0:d0",
			want: &want{"", "", "", "127.113.0.1"}, inRange: true},
		{name: "modem-2's MTA is excluded from the CPE class", relay: cpe, gi: giCPE, mac: "44:32:c8:21:09:e8", remote: "44:32:c8:21:09:e7"},
		{name: "the MTA of 0c:ee:e6:e5:35:2c, named only by the rule's client ids", relay: cpe, gi: giCPE, mac: "0c:ee:e6:e5:35:2d", remote: "0c:ee:e6:e5:35:2c"},
		{name: "CPE behind an unknown modem", relay: cpe, gi: giCPE, mac: "02:00:00:00:00:03", remote: "00:00:ca:99:99:99"},
		{name: "unknown modem: no pool admits it", relay: cm, gi: giCM, mac: "00:00:ca:99:99:99", remote: "00:00:ca:99:99:99", vendor: "docsis3.0"},
		{name: "class-only modem without fixed address: no range, as in dhcpd", relay: cm, gi: giCM, mac: "90:6e:bb:54:f0:d0", remote: "90:6e:bb:54:f0:d0", vendor: "docsis3.0"},
	} {
		if tc.want == nil {
			silent++
		}
		t.Run(tc.name, func(t *testing.T) {
			mac, _ := net.ParseMAC(tc.mac)
			remote, _ := net.ParseMAC(tc.remote)
			mods := []dhcpv4.Modifier{dhcpv4.WithRelay(tc.gi.AsSlice()), dhcpv4.WithOption(dhcpv4.OptRelayAgentInfo(
				dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(1), []byte("cable1/0/0:7")),
				dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(2), remote)))}
			if tc.vendor != "" {
				mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClassIdentifier(tc.vendor)))
			}
			d, err := dhcpv4.NewDiscovery(mac, mods...)
			if err != nil {
				t.Fatal(err)
			}
			wait := 3 * time.Second
			if tc.want == nil {
				wait = 700 * time.Millisecond
			}
			offer := tc.relay.exchange(t, d, wait)
			if tc.want == nil {
				if offer != nil {
					t.Fatalf("dhcpd gave it nothing, ip6m offers %s", offer.YourIPAddr)
				}
				return
			}
			if offer == nil || offer.MessageType() != dhcpv4.MessageTypeOffer {
				t.Fatalf("no OFFER: %v", offer)
			}
			y := offer.YourIPAddr.String()
			if tc.inRange {
				a := netip.MustParseAddr(y)
				if a.Less(netip.MustParseAddr("127.113.0.10")) || netip.MustParseAddr("127.113.0.250").Less(a) {
					t.Errorf("yiaddr %s is not in the pool's range", y)
				}
			} else if y != tc.want.yiaddr {
				t.Errorf("yiaddr %s, want %s", y, tc.want.yiaddr)
			}
			if offer.BootFileName != tc.want.file {
				t.Errorf("file %q, want %q", offer.BootFileName, tc.want.file)
			}
			if tc.want.siaddr != "" && offer.ServerIPAddr.String() != tc.want.siaddr {
				t.Errorf("siaddr %s, want %s", offer.ServerIPAddr, tc.want.siaddr)
			}
			if r := offer.Router(); len(r) != 1 || r[0].String() != tc.want.router {
				t.Errorf("routers %v, want %s", r, tc.want.router)
			}
			if sid := offer.ServerIdentifier(); sid.String() != "127.0.2.10" {
				t.Errorf("server identifier %v, want the seed's server", sid)
			}
			dns := offer.DNS()
			if len(dns) != 2 || dns[0].String() != "127.0.2.53" || dns[1].String() != "127.0.2.54" {
				t.Errorf("DNS %v", dns)
			}
			if tc.timeServers {
				if b := offer.Options.Get(dhcpv4.OptionTimeServer); net.IP(b).String() != "127.0.2.10" {
					t.Errorf("time servers %v", b)
				}
				if b := offer.Options.Get(dhcpv4.OptionLogServer); net.IP(b).String() != "127.0.2.10" {
					t.Errorf("log servers %v", b)
				}
				if b := offer.Options.Get(dhcpv4.OptionTimeOffset); len(b) != 4 || int32(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])) != 7200 {
					t.Errorf("time offset %v, want 7200", b)
				}
			}
		})
	}
	// The silences are decisions (refusals), not lost packets.
	if st := srv.Stats(); st.Refused < int64(silent) {
		t.Errorf("%d refusals counted, want %d: %+v", st.Refused, silent, st)
	}
}

// testRelay plays the CMTS: it sends relayed requests to the server and
// receives the replies at its giaddr.
type testRelay struct {
	conn *net.UDPConn
	srv  *net.UDPAddr
	mu   sync.Mutex
	wait map[dhcpv4.TransactionID]chan *dhcpv4.DHCPv4
}

func newTestRelay(t *testing.T, c *net.UDPConn, srv *net.UDPAddr) *testRelay {
	r := &testRelay{conn: c, srv: srv, wait: map[dhcpv4.TransactionID]chan *dhcpv4.DHCPv4{}}
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

// exchange sends req and returns the reply, or nil after timeout.
func (r *testRelay) exchange(t *testing.T, req *dhcpv4.DHCPv4, timeout time.Duration) *dhcpv4.DHCPv4 {
	t.Helper()
	ch := make(chan *dhcpv4.DHCPv4, 1)
	r.mu.Lock()
	r.wait[req.TransactionID] = ch
	r.mu.Unlock()
	defer func() { r.mu.Lock(); delete(r.wait, req.TransactionID); r.mu.Unlock() }()
	if _, err := r.conn.WriteToUDP(req.ToBytes(), r.srv); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-ch:
		return m
	case <-time.After(timeout):
		return nil
	}
}
