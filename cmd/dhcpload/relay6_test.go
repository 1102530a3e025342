package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// fakeServer6 answers Relay-Forwards as a DHCPv6 server does: Advertise to
// a Solicit, Reply to a Request, wrapped in a Relay-Reply sent to the port
// the relay source port option (135) names. It drops the first copy of
// every dropEvery-th message and refuses the clients of refuse.
type fakeServer6 struct {
	conn      *net.UDPConn
	dropEvery int
	refuse    MAC

	mu       sync.Mutex
	n        int
	seen     map[string]bool // messages dropped once already
	problems []string
}

func newFakeServer6(t *testing.T, dropEvery int, refuse MAC) *fakeServer6 {
	t.Helper()
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no ::1: %v", err)
	}
	f := &fakeServer6{conn: c, dropEvery: dropEvery, refuse: refuse, seen: map[string]bool{}}
	t.Cleanup(func() { c.Close() })
	go f.serve()
	return f
}

func (f *fakeServer6) problem(s string) {
	f.mu.Lock()
	f.problems = append(f.problems, s)
	f.mu.Unlock()
}

func (f *fakeServer6) serve() {
	buf := make([]byte, 4096)
	duid := &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}}
	for {
		n, src, err := f.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		d, err := dhcpv6.FromBytes(buf[:n])
		if err != nil || !d.IsRelay() {
			f.problem("not a Relay-Forward")
			continue
		}
		rm := d.(*dhcpv6.RelayMessage)
		port := rm.Options.GetOne(135)
		if port == nil || len(port.ToBytes()) != 2 || binary.BigEndian.Uint16(port.ToBytes()) != src.Port() {
			f.problem("no relay source port option naming the relay's port")
		}
		if rid := rm.Options.RemoteID(); rid == nil || rid.EnterpriseNumber != 4491 || len(rid.RemoteID) != 6 {
			f.problem("no remote-id with the modem MAC")
		}
		msg, err := rm.GetInnerMessage()
		if err != nil {
			f.problem("no inner message")
			continue
		}
		f.mu.Lock()
		f.n++
		key := string(buf[:n])
		drop := f.dropEvery > 0 && f.n%f.dropEvery == 0 && !f.seen[key]
		if drop {
			f.seen[key] = true
		}
		f.mu.Unlock()
		if drop {
			continue
		}
		cid := msg.Options.ClientID().(*dhcpv6.DUIDLL)
		mac := MAC(cid.LinkLayerAddr)
		reply := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeAdvertise, TransactionID: msg.TransactionID}
		if msg.MessageType == dhcpv6.MessageTypeRequest {
			reply.MessageType = dhcpv6.MessageTypeReply
			if msg.GetOneOption(dhcpv6.OptionServerID) == nil {
				f.problem("Request without the server id")
			}
		}
		reply.AddOption(dhcpv6.OptClientID(cid))
		reply.AddOption(dhcpv6.OptServerID(duid))
		for _, ia := range msg.Options.IANA() {
			out := &dhcpv6.OptIANA{IaId: ia.IaId}
			if mac == f.refuse {
				out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail})
			} else {
				a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 10: mac[0], 11: mac[1], 12: mac[2], 13: mac[3], 14: mac[4], 15: mac[5]})
				out.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: a.AsSlice(), PreferredLifetime: time.Hour, ValidLifetime: time.Hour})
			}
			reply.AddOption(out)
		}
		for _, ia := range msg.Options.IAPD() {
			out := &dhcpv6.OptIAPD{IaId: ia.IaId}
			out.Options.Add(&dhcpv6.OptIAPrefix{PreferredLifetime: time.Hour, ValidLifetime: time.Hour,
				Prefix: &net.IPNet{IP: net.IP{0x20, 0x01, 0x0d, 0xb8, 0, 5, mac[4], mac[5], 0, 0, 0, 0, 0, 0, 0, 0}, Mask: net.CIDRMask(64, 128)}})
			reply.AddOption(out)
		}
		out, err := dhcpv6.NewRelayReplFromRelayForw(rm, reply)
		if err != nil {
			f.problem(err.Error())
			continue
		}
		f.conn.WriteToUDPAddrPort(out.ToBytes(), src)
	}
}

func TestRelay6(t *testing.T) {
	modems, err := randomMACs(50, [3]byte{0, 0, 0xca}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		dropEvery int
		refuse    bool
		cpe       int
	}{
		{name: "modems"}, {name: "eRouters too", cpe: 40}, {name: "drops are retransmitted", dropEvery: 7}, {name: "a refused modem", refuse: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var refuse MAC
			if tc.refuse {
				refuse = modems[3]
			}
			f := newFakeServer6(t, tc.dropEvery, refuse)
			r, err := NewRelay6(Config6{Server: f.conn.LocalAddr().(*net.UDPAddr).AddrPort(), Bind: netip.MustParseAddrPort("[::1]:0"),
				Link: netip.MustParseAddr("2001:db8:4:11::1"), Modems: modems, Count: 200, Duration: 10 * time.Second, Window: 16,
				Timeout: 100 * time.Millisecond, Retries: 3, CPEPercent: tc.cpe, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := 200
			if tc.refuse {
				want -= 4 // modem 3 comes round every 50
			}
			if res.Completed != want || res.Started != 200 || res.NoConfig != res.CompletedBy["cm"] || res.Timeouts != 0 || res.Unfinished != 0 || res.BadRelay != 0 || res.Unexpected != 0 {
				t.Fatalf("%+v", res.Counters6)
			}
			if tc.refuse && res.Refused != 4 {
				t.Errorf("refused %d, want 4", res.Refused)
			}
			if tc.dropEvery > 0 && res.Retransmits == 0 {
				t.Error("no retransmissions though the server dropped packets")
			}
			if tc.cpe > 0 && (res.CompletedBy["cpe"] == 0 || res.CompletedBy["cm"] == 0) {
				t.Errorf("mix %v", res.CompletedBy)
			}
			var out bytes.Buffer
			if err := res.writeText(&out); err != nil || !bytes.Contains(out.Bytes(), []byte("exchanges/s")) {
				t.Errorf("report %q %v", out.String(), err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.problems) > 0 {
				t.Fatalf("server saw: %v", f.problems[:min(len(f.problems), 5)])
			}
		})
	}
}

func TestKea6Config(t *testing.T) {
	m := MAC{0x44, 0x32, 0xc8, 0x21, 0x09, 0xe7}
	f, err := kea6Config([]MAC{m}, Kea6Options{Subnet: netip.MustParsePrefix("2001:db8:4:11::/64"), Server: netip.MustParseAddr("2001:db8::10"),
		LeaseFile: "/tmp/x/kea-leases6.csv", Interface: "lo/::1", Lifetime: 3600})
	if err != nil {
		t.Fatal(err)
	}
	s := f.Dhcp6.Subnet6[0]
	r := s.Reservations[0]
	// The seed's derived address, as ip6m's.
	if r.DUID != "00:03:00:01:44:32:c8:21:09:e7" || r.IPAddresses[0] != "2001:db8:4:11:0:4432:c821:9e7" || r.OptionData[0].Data != "cm/4432c82109e7.cfg" {
		t.Errorf("reservation %+v", r)
	}
	if s.Pools[0].Pool != "2001:db8:4:11::1:0/112" || s.PDPools[0] != (kea6PDPool{Prefix: "2001:db8:5::", PrefixLen: 48, DelegatedLen: 64}) {
		t.Errorf("pools %+v %+v", s.Pools, s.PDPools)
	}
	if f.Dhcp6.DataDirectory != "/tmp/x" || !f.Dhcp6.LeaseDatabase.Persist {
		t.Errorf("data %q, persist %v", f.Dhcp6.DataDirectory, f.Dhcp6.LeaseDatabase.Persist)
	}
	if _, err := kea6Config(nil, Kea6Options{Subnet: netip.MustParsePrefix("10.0.0.0/8"), Server: netip.MustParseAddr("2001:db8::10")}); err == nil {
		t.Error("an IPv4 subnet accepted")
	}
}

// FuzzHandleReply6 feeds arbitrary bytes as a Relay-Reply to an exchange in
// flight: no panic, every packet counted once, and a Request comes out only
// for an Advertise that the exchange could take.
func FuzzHandleReply6(f *testing.F) {
	modem := MAC{0, 0, 0xca, 0, 0, 4}
	newRelay := func() *Relay6 {
		r, err := NewRelay6(Config6{Server: netip.MustParseAddrPort("[::1]:10547"), Bind: netip.MustParseAddrPort("[::1]:0"),
			Link: netip.MustParseAddr("2001:db8:4:11::1"), Modems: []MAC{modem}, Count: 1, Duration: time.Second, Window: 1, Timeout: time.Second})
		if err != nil {
			f.Fatal(err)
		}
		r.firstID = 0x1f2e3d
		ex := &exchange6{xid: r.firstID, kind: KindCM, mac: modem, modem: modem, state: selecting, tries: 1}
		ex.solOpts = solicitOptions6(ex)
		r.inflight[ex.xid] = ex
		r.c.Started = 1
		r.slots <- struct{}{}
		return r
	}
	r := newRelay()
	sol := solicit6(r.inflight[r.firstID])
	fwd, _ := dhcpv6.FromBytes(r.relayForward(r.inflight[r.firstID], sol))
	for _, mt := range []dhcpv6.MessageType{dhcpv6.MessageTypeAdvertise, dhcpv6.MessageTypeReply} {
		m := &dhcpv6.Message{MessageType: mt, TransactionID: sol.TransactionID}
		ia := &dhcpv6.OptIANA{IaId: [4]byte{0, 0, 0, 1}}
		ia.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP("2001:db8:4:11::9")})
		m.AddOption(ia)
		if rr, err := dhcpv6.NewRelayReplFromRelayForw(fwd.(*dhcpv6.RelayMessage), m); err == nil {
			f.Add(rr.ToBytes())
		}
	}
	f.Add(fwd.ToBytes())
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{13}, 60))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newRelay()
		out := r.handleReply(b, time.Now())
		c := r.c
		if c.Received != 1 {
			t.Fatalf("received %d, want 1", c.Received)
		}
		if out != nil && (c.Advertises != 1 || c.Requests != 1) {
			t.Fatalf("a Request without an Advertise: %+v", c)
		}
		if n := c.Malformed + c.Unexpected + c.Late + c.Advertises + c.Replies; n != 1 {
			t.Fatalf("one packet counted %d times: %+v", n, c)
		}
	})
}
