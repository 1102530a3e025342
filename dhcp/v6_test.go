package dhcp

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"ip6m/store"
)

// fixture6 adds the seed's v6 networks to the v4 fixture: the CM prefix
// 2001:db8:4:11::/64 with the prefix pool 2001:db8:4:100:: – ::200:: /64
// (here a small one), and a CPE prefix.
type fixture6 struct {
	*fixture
	srv6 *Server6
}

var linkCM = netip.MustParseAddr("2001:db8:4:11::1")

func newFixture6(t testing.TB, poolLast string) *fixture6 {
	t.Helper()
	f := &fixture6{fixture: newFixture(t, false)}
	ctx := context.Background()
	for _, n := range []store.Network{
		{CMTSID: f.cmts.ID, Prefix: "2001:db8:4:11::/64", Purpose: store.PurposeCM, LeaseTime: 86400, TimeServers: "2001:db8::10",
			LogServers: "2001:db8::11", DNSServers: "2001:db8::53", TimeOffset: 3600, Ranges: []store.Range{{First: "2001:db8:4:11::2", Last: "2001:db8:4:11::100"}},
			PDPools: []store.PDPool{{First: "2001:db8:4:100::", Last: poolLast, Len: 64}}},
		{CMTSID: f.cmts.ID, Prefix: "2001:db8:4:12::/64", Purpose: store.PurposeCPE, LeaseTime: 7200, DNSServers: "2001:db8::53",
			Ranges: []store.Range{{First: "2001:db8:4:12::1000", Last: "2001:db8:4:12::ffff"}}},
	} {
		if err := f.st.CreateNetwork(ctx, "t", &n); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.st.SetSetting(ctx, "t", SettingServerIPv6, "2001:db8::10"); err != nil {
		t.Fatal(err)
	}
	f.srv6 = f.newServer6(t)
	return f
}

func (f *fixture6) newServer6(t testing.TB) *Server6 {
	t.Helper()
	s, err := New6(context.Background(), Config6{Addr: "[::1]:0", Inventory: f.st, Leases: f.st, Settings: f.st, Now: f.clock.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.conn.Close() })
	return s
}

// cmSolicit builds a DOCSIS 3.0 CM Solicit: DUID-LL, vendor class
// docsis3.0, vendor option 17 with the CableLabs ORO and device-id.
func cmSolicit(t testing.TB, mac [6]byte, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	t.Helper()
	m, err := dhcpv6.NewSolicit(net.HardwareAddr(mac[:]), append([]dhcpv6.Modifier{
		dhcpv6.WithClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr(mac[:])}),
	}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.AddOption(&dhcpv6.OptVendorClass{EnterpriseNumber: clEnterprise, Data: [][]byte{[]byte("docsis3.0")}})
	oro := []byte{0, clTFTPServers, 0, clConfigFile, 0, clSyslogServers, 0, clTimeServers, 0, clTimeOffset}
	m.AddOption(&dhcpv6.OptVendorOpts{EnterpriseNumber: clEnterprise, VendorOpts: dhcpv6.Options{
		&dhcpv6.OptionGeneric{OptionCode: clORO, OptionData: oro},
		&dhcpv6.OptionGeneric{OptionCode: clDeviceType, OptionData: []byte("ECM")},
		&dhcpv6.OptionGeneric{OptionCode: clDeviceID, OptionData: mac[:]},
	}})
	return m
}

// relay wraps msg in Relay-Forward levels (innermost first), each with an
// interface-id, the innermost with the modem's MAC as remote-id.
func relayed(t testing.TB, msg dhcpv6.DHCPv6, link netip.Addr, remote []byte, levels int) []byte {
	t.Helper()
	var d dhcpv6.DHCPv6 = msg
	for i := 0; i < levels; i++ {
		r, err := dhcpv6.EncapsulateRelay(d, dhcpv6.MessageTypeRelayForward, link.AsSlice(), net.ParseIP("fe80::1"))
		if err != nil {
			t.Fatal(err)
		}
		r.AddOption(dhcpv6.OptInterfaceID([]byte{'c', 'a', 'b', 'l', 'e', byte('0' + i)}))
		if i == 0 && remote != nil {
			r.AddOption(&dhcpv6.OptRemoteID{EnterpriseNumber: clEnterprise, RemoteID: remote})
		}
		d = r
		link = netip.MustParseAddr("2001:db8::1") // outer relays sit on the headend LAN
	}
	return d.ToBytes()
}

// exchange6 runs one packet through the server and unwraps the reply.
func (f *fixture6) exchange6(t testing.TB, pkt []byte) (*dhcpv6.Message, dhcpv6.DHCPv6) {
	t.Helper()
	out, err := f.srv6.handle6(context.Background(), pkt)
	if err != nil {
		if _, ok := err.(errDrop); ok {
			return nil, nil
		}
		t.Fatalf("handle6: %v", err)
	}
	d, err := dhcpv6.FromBytes(out)
	if err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	if !d.IsRelay() {
		return d.(*dhcpv6.Message), d
	}
	inner, err := d.(*dhcpv6.RelayMessage).GetInnerMessage()
	if err != nil {
		t.Fatal(err)
	}
	return inner, d
}

// requestFrom turns an Advertise into the client's Request.
func requestFrom(t testing.TB, sol, adv *dhcpv6.Message) *dhcpv6.Message {
	t.Helper()
	req := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeRequest, TransactionID: sol.TransactionID}
	for _, o := range sol.Options.Options {
		if o.Code() != dhcpv6.OptionIANA && o.Code() != dhcpv6.OptionIAPD {
			req.AddOption(o)
		}
	}
	req.AddOption(adv.GetOneOption(dhcpv6.OptionServerID))
	for _, ia := range adv.Options.IANA() {
		req.AddOption(ia)
	}
	for _, ia := range adv.Options.IAPD() {
		req.AddOption(ia)
	}
	return req
}

func TestV6CableModemSARR(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	sol := cmSolicit(t, macModem)
	adv, wrapped := f.exchange6(t, relayed(t, sol, linkCM, macModem[:], 1))
	if adv == nil || adv.MessageType != dhcpv6.MessageTypeAdvertise {
		t.Fatalf("Solicit: %v", adv)
	}
	if wrapped.Type() != dhcpv6.MessageTypeRelayReply || !bytes.Equal(wrapped.(*dhcpv6.RelayMessage).Options.InterfaceID(), []byte("cable0")) {
		t.Fatalf("reply not wrapped in a Relay-Reply with the interface-id echoed: %v", wrapped)
	}
	reply, _ := f.exchange6(t, relayed(t, requestFrom(t, sol, adv), linkCM, macModem[:], 1))
	if reply == nil || reply.MessageType != dhcpv6.MessageTypeReply {
		t.Fatalf("Request: %v", reply)
	}
	ia := reply.Options.OneIANA()
	if ia == nil || ia.Options.OneAddress() == nil {
		t.Fatalf("no IA_NA address in %v", reply)
	}
	got, _ := netip.AddrFromSlice(ia.Options.OneAddress().IPv6Addr)
	if want := netip.MustParseAddr("2001:db8:4:11::4432:c821:09e7"); got != want {
		t.Fatalf("CM address %s, want the seed's %s", got, want)
	}
	vo := reply.Options.VendorOpt(clEnterprise)
	want := map[uint16][]byte{
		clTFTPServers:   netip.MustParseAddr("2001:db8::10").AsSlice(),
		clConfigFile:    []byte("cm/4432c82109e7.cfg"),
		clSyslogServers: netip.MustParseAddr("2001:db8::11").AsSlice(),
		clTimeServers:   netip.MustParseAddr("2001:db8::10").AsSlice(),
		clTimeOffset:    {0, 0, 0x0e, 0x10},
	}
	for _, o := range vo {
		if w, ok := want[uint16(o.Code())]; ok {
			if !bytes.Equal(o.ToBytes(), w) {
				t.Errorf("sub-option %d = % x, want % x", o.Code(), o.ToBytes(), w)
			}
			delete(want, uint16(o.Code()))
		}
	}
	if len(want) > 0 {
		t.Errorf("sub-options missing from 17/4491: %v", want)
	}
	if dns := reply.Options.DNS(); len(dns) != 1 || !dns[0].Equal(net.ParseIP("2001:db8::53")) {
		t.Errorf("DNS (asked in ORO) = %v", dns)
	}
	l6, err := f.st.Leases6(context.Background(), time.Unix(0, 0))
	if err != nil || len(l6) != 1 || l6[0].MAC != f.modem.MAC || l6[0].State != store.StateActive || l6[0].ModemID != f.modem.ID {
		t.Fatalf("stored bindings %+v, %v", l6, err)
	}
}

func TestV6RapidCommitAndNestedRelays(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	sol := cmSolicit(t, macModem, dhcpv6.WithRapidCommit)
	reply, wrapped := f.exchange6(t, relayed(t, sol, linkCM, macModem[:], 2))
	if reply == nil || reply.MessageType != dhcpv6.MessageTypeReply || reply.GetOneOption(dhcpv6.OptionRapidCommit) == nil {
		t.Fatalf("rapid commit: %v", reply)
	}
	outer := wrapped.(*dhcpv6.RelayMessage)
	inner, err := dhcpv6.DecapsulateRelay(outer)
	if err != nil || !inner.IsRelay() {
		t.Fatalf("reply not wrapped twice: %v %v", inner, err)
	}
	if !bytes.Equal(outer.Options.InterfaceID(), []byte("cable1")) || !bytes.Equal(inner.(*dhcpv6.RelayMessage).Options.InterfaceID(), []byte("cable0")) {
		t.Fatal("interface-ids not echoed at each level")
	}
	if l6, _ := f.st.Leases6(context.Background(), time.Unix(0, 0)); len(l6) != 1 {
		t.Fatalf("rapid commit stored %d bindings, want 1", len(l6))
	}
}

// eRouter is a CPE router behind the CM: DUID-LL with its own MAC, IA_NA
// and IA_PD, relayed with the CM's MAC as remote-id.
func eRouterSolicit(t testing.TB, mac [6]byte) *dhcpv6.Message {
	t.Helper()
	m, err := dhcpv6.NewSolicit(net.HardwareAddr(mac[:]),
		dhcpv6.WithClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr(mac[:])}),
		dhcpv6.WithIAPD([4]byte{0, 0, 0, 9}))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestV6ERouterNAandPD(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	router := [6]byte{0x44, 0x32, 0xc8, 0x21, 0x09, 0xe9}
	sol := eRouterSolicit(t, router)
	adv, _ := f.exchange6(t, relayed(t, sol, linkCM, macModem[:], 1))
	if adv == nil {
		t.Fatal("no Advertise for an eRouter behind a known modem")
	}
	reply, _ := f.exchange6(t, relayed(t, requestFrom(t, sol, adv), linkCM, macModem[:], 1))
	na := reply.Options.OneIANA()
	pd := reply.Options.OneIAPD()
	if na == nil || na.Options.OneAddress() == nil || pd == nil || len(pd.Options.Prefixes()) != 1 {
		t.Fatalf("eRouter reply lacks IA_NA or IA_PD: %v", reply)
	}
	a, _ := netip.AddrFromSlice(na.Options.OneAddress().IPv6Addr)
	if !netip.MustParsePrefix("2001:db8:4:12::/64").Contains(a) {
		t.Fatalf("eRouter address %s, want the CPE prefix", a)
	}
	got := pd.Options.Prefixes()[0].Prefix.String()
	if got != "2001:db8:4:100::/64" {
		t.Fatalf("delegated %s, want 2001:db8:4:100::/64", got)
	}
	// A restarted server gives the same router the same prefix.
	f.srv6.conn.Close()
	f.srv6 = f.newServer6(t)
	sol2 := eRouterSolicit(t, router)
	adv2, _ := f.exchange6(t, relayed(t, sol2, linkCM, macModem[:], 1))
	if adv2 == nil || adv2.Options.OneIAPD() == nil || len(adv2.Options.OneIAPD().Options.Prefixes()) != 1 ||
		adv2.Options.OneIAPD().Options.Prefixes()[0].Prefix.String() != got {
		t.Fatalf("after restart the router is offered %v, want %s again", adv2, got)
	}
	// A second router gets the next prefix; a third finds the pool empty.
	f.srv6.conn.Close()
	g := newFixture6(t, "2001:db8:4:101::")
	g.plan.MaxCPE = 10 // the pool, not the plan's CPE limit, runs out here
	if err := g.st.UpdatePlan(context.Background(), "t", &g.plan); err != nil {
		t.Fatal(err)
	}
	if err := g.srv6.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"2001:db8:4:100::/64", "2001:db8:4:101::/64", ""} {
		r := [6]byte{0x02, 0, 0, 0, 0, byte(i)}
		s := eRouterSolicit(t, r)
		adv, _ := g.exchange6(t, relayed(t, s, linkCM, macModem[:], 1))
		rep, _ := g.exchange6(t, relayed(t, requestFrom(t, s, adv), linkCM, macModem[:], 1))
		pd := rep.Options.OneIAPD()
		if want == "" {
			if pd == nil || pd.Options.Status() == nil || pd.Options.Status().StatusCode != iana.StatusNoPrefixAvail {
				t.Fatalf("router %d with the pool used up: %v, want NoPrefixAvail", i, pd)
			}
			continue
		}
		if pd == nil || len(pd.Options.Prefixes()) != 1 || pd.Options.Prefixes()[0].Prefix.String() != want {
			t.Fatalf("router %d got %v, want %s", i, pd, want)
		}
	}
}

func TestV6RenewRebindReleaseDeclineConfirm(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	sol := cmSolicit(t, macModem, dhcpv6.WithRapidCommit)
	reply, _ := f.exchange6(t, relayed(t, sol, linkCM, macModem[:], 1))
	ia := reply.Options.OneIANA()
	send := func(mt dhcpv6.MessageType, withServer bool, ia *dhcpv6.OptIANA) *dhcpv6.Message {
		m := &dhcpv6.Message{MessageType: mt, TransactionID: dhcpv6.TransactionID{1, 2, 3}}
		m.AddOption(sol.GetOneOption(dhcpv6.OptionClientID))
		if withServer {
			m.AddOption(reply.GetOneOption(dhcpv6.OptionServerID))
		}
		m.AddOption(ia)
		out, _ := f.exchange6(t, relayed(t, m, linkCM, macModem[:], 1))
		return out
	}
	f.clock.add(time.Hour)
	if r := send(dhcpv6.MessageTypeRenew, true, ia); r == nil || r.Options.OneIANA() == nil || r.Options.OneIANA().Options.OneAddress() == nil {
		t.Fatalf("renew: %v", r)
	}
	if r := send(dhcpv6.MessageTypeRebind, false, ia); r == nil || r.Options.OneIANA().Options.OneAddress() == nil {
		t.Fatalf("rebind: %v", r)
	}
	// Renew of an IA the server does not know: NoBinding.
	other := &dhcpv6.OptIANA{IaId: [4]byte{9, 9, 9, 9}}
	if r := send(dhcpv6.MessageTypeRenew, true, other); r == nil || r.Options.OneIANA().Options.Status() == nil ||
		r.Options.OneIANA().Options.Status().StatusCode != iana.StatusNoBinding {
		t.Fatalf("renew of an unknown IA: %v, want NoBinding", r)
	}
	// Confirm: on link → Success; off link → NotOnLink.
	if r := send(dhcpv6.MessageTypeConfirm, false, ia); r == nil || r.Options.Status() == nil || r.Options.Status().StatusCode != iana.StatusSuccess {
		t.Fatalf("confirm on link: %v", r)
	}
	off := &dhcpv6.OptIANA{IaId: ia.IaId}
	off.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP("2001:db8:99::1")})
	if r := send(dhcpv6.MessageTypeConfirm, false, off); r == nil || r.Options.Status() == nil || r.Options.Status().StatusCode != iana.StatusNotOnLink {
		t.Fatalf("confirm off link: %v", r)
	}
	// Release: the history says so.
	if r := send(dhcpv6.MessageTypeRelease, true, ia); r == nil || r.Options.Status() == nil || r.Options.Status().StatusCode != iana.StatusSuccess {
		t.Fatalf("release: %v", r)
	}
	addr := netip.MustParseAddr("2001:db8:4:11::4432:c821:9e7").String()
	h, _ := f.st.AddressHistory(context.Background(), addr, 10)
	if len(h) != 1 || h[0].Event != store.EventGrant || h[0].Family != 6 || h[0].Renewals != 2 || h[0].Ended != store.EventRelease {
		t.Fatalf("history of %s: %+v, want the grant's row, renewed twice, ended by the release", addr, h)
	}
	// A Solicit carrying a server id is dropped (RFC 8415 16.2).
	bad := cmSolicit(t, macModem)
	bad.AddOption(reply.GetOneOption(dhcpv6.OptionServerID))
	if r, _ := f.exchange6(t, relayed(t, bad, linkCM, macModem[:], 1)); r != nil {
		t.Fatalf("a Solicit with a server id got %v", r)
	}
}

func TestV6UnknownAndLoops(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	stranger := [6]byte{0x00, 0x00, 0xca, 0xde, 0xad, 0x01}
	if r, _ := f.exchange6(t, relayed(t, cmSolicit(t, stranger), linkCM, stranger[:], 1)); r != nil {
		t.Fatalf("an unknown modem got %v", r)
	}
	if r, _ := f.exchange6(t, relayed(t, cmSolicit(t, macModem), linkCM, macModem[:], 40)); r != nil {
		t.Fatalf("a 40-level relay chain got %v", r)
	}
	for _, junk := range [][]byte{nil, {12}, {12, 0}, bytes.Repeat([]byte{12}, 40)} {
		if _, err := f.srv6.handle6(context.Background(), junk); err == nil {
			t.Errorf("junk % x accepted", junk)
		}
	}
}

func TestServerDUIDStable(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	d1 := f.srv6.duid.ToBytes()
	f.srv6.conn.Close()
	d2 := f.newServer6(t).duid.ToBytes()
	if !bytes.Equal(d1, d2) || len(d1) < 4 || binary.BigEndian.Uint16(d1) != 2 {
		t.Fatalf("server DUID %x then %x: want one stable DUID-EN", d1, d2)
	}
}

func FuzzHandle6(f *testing.F) {
	fx := newFixture6(f, "2001:db8:4:200::")
	// An MTA network, so eMTA messages reach the PacketCable sub-options.
	mtaNet := store.Network{CMTSID: fx.cmts.ID, Prefix: "2001:db8:4:13::/64", Purpose: store.PurposeMTA, LeaseTime: 86400,
		Ranges: []store.Range{{First: "2001:db8:4:13::10", Last: "2001:db8:4:13::20"}}}
	if err := fx.st.CreateNetwork(context.Background(), "t", &mtaNet); err != nil {
		f.Fatal(err)
	}
	if err := fx.srv6.Reload(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Add(relayed(f, cmSolicit(f, macModem), linkCM, macModem[:], 1))
	f.Add(relayed(f, mtaSolicit(f, macMTA, clTFTPServers, clCCC, clCCCv6), netip.MustParseAddr("2001:db8:4:13::1"), macModem[:], 1))
	f.Add(relayed(f, eRouterSolicit(f, [6]byte{2, 0, 0, 0, 0, 1}), linkCM, macModem[:], 2))
	f.Add(cmSolicit(f, macModem).ToBytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := fx.srv6.handle6(context.Background(), b)
		if err != nil {
			return
		}
		if _, err := dhcpv6.FromBytes(out); err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
	})
}

// TestV6OverSockets drives the running server over real UDP on ::1, as a
// CMTS relay: the Relay-Reply comes back to the relay's address and port.
// runOverSockets runs f's server until the test ends and returns a relay's
// socket on ::1.
func (f *fixture6) runOverSockets(t *testing.T) *net.UDPConn {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv6.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestV6OverSockets(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	c := f.runOverSockets(t)
	sol := cmSolicit(t, macModem, dhcpv6.WithRapidCommit)
	if _, err := c.WriteToUDP(relayed(t, sol, linkCM, macModem[:], 1), f.srv6.Addr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no Relay-Reply: %v", err)
	}
	d, err := dhcpv6.FromBytes(buf[:n])
	if err != nil || d.Type() != dhcpv6.MessageTypeRelayReply {
		t.Fatalf("got %v, %v", d, err)
	}
	inner, _ := d.(*dhcpv6.RelayMessage).GetInnerMessage()
	if inner.MessageType != dhcpv6.MessageTypeReply || inner.Options.OneIANA() == nil {
		t.Fatalf("inner reply %v", inner)
	}
	// The Reply left after the binding was durable: the store has it.
	addr := inner.Options.OneIANA().Options.OneAddress().IPv6Addr.String()
	if _, err := f.st.Lease6ByAddress(context.Background(), addr); err != nil {
		t.Errorf("binding %s after its Reply: %v", addr, err)
	}
}

// TestV6NoReplyUnlessDurable: a Reply that grants a binding is sent only
// once the binding is durable; when the store cannot take it, the client
// hears nothing (and asks again) while a Solicit, which commits nothing, is
// still answered.
func TestV6NoReplyUnlessDurable(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	c := f.runOverSockets(t)
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	ask := func(msg *dhcpv6.Message) bool {
		t.Helper()
		if _, err := c.WriteToUDP(relayed(t, msg, linkCM, macModem[:], 1), f.srv6.Addr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, err := c.Read(buf)
		return err == nil
	}
	if !ask(cmSolicit(t, macModem)) {
		t.Fatal("no Advertise")
	}
	if ask(cmSolicit(t, macModem, dhcpv6.WithRapidCommit)) {
		t.Fatal("a Reply granting a binding the store did not take")
	}
	if got := f.srv6.Stats().Drops["error"]; got != 1 {
		t.Errorf("%d errors counted, want 1", got)
	}
}

func TestV6Preview(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	p, err := f.srv6.Preview(f.modem.MAC)
	if err != nil || p.Kind != store.KindCM || p.Fixed != "2001:db8:4:11:0:4432:c821:9e7" || p.File != "cm/4432c82109e7.cfg" || p.Leased != "" {
		t.Fatalf("preview: %+v, %v", p, err)
	}
	f.exchange6(t, relayed(t, cmSolicit(t, macModem, dhcpv6.WithRapidCommit), linkCM, macModem[:], 1))
	if p, _ := f.srv6.Preview(f.modem.MAC); p.Leased != p.Fixed {
		t.Fatalf("preview after binding: %+v", p)
	}
}

// TestV6ReservedPrefix: the router behind a modem with a reserved prefix
// gets that prefix, even outside the pools; the pools never hand it to
// another router; a prefix reserved later for another modem is not renewed
// to its old holder.
func TestV6ReservedPrefix(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:101::")
	ctx := context.Background()
	f.plan.MaxCPE = 10
	if err := f.st.UpdatePlan(ctx, "t", &f.plan); err != nil {
		t.Fatal(err)
	}
	// The pool's first prefix is reserved for the modem: others skip it.
	f.modem.Prefix6 = "2001:db8:4:100::/64"
	if err := f.st.UpdateModem(ctx, "t", &f.modem); err != nil {
		t.Fatal(err)
	}
	if err := f.srv6.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	get := func(router [6]byte) string {
		t.Helper()
		s := eRouterSolicit(t, router)
		adv, _ := f.exchange6(t, relayed(t, s, linkCM, macModem[:], 1))
		rep, _ := f.exchange6(t, relayed(t, requestFrom(t, s, adv), linkCM, macModem[:], 1))
		pd := rep.Options.OneIAPD()
		if pd == nil || len(pd.Options.Prefixes()) != 1 {
			return "none"
		}
		return pd.Options.Prefixes()[0].Prefix.String()
	}
	if got := get([6]byte{0x02, 0, 0, 0, 0, 1}); got != "2001:db8:4:100::/64" {
		t.Fatalf("the first router behind the modem got %s, want its reserved prefix", got)
	}
	if got := get([6]byte{0x02, 0, 0, 0, 0, 2}); got != "2001:db8:4:101::/64" {
		t.Fatalf("a second router got %s, want the pool's next prefix", got)
	}
	// A reservation outside the pools.
	f.modem.Prefix6 = "2001:db8:9:ab00::/56"
	if err := f.st.UpdateModem(ctx, "t", &f.modem); err != nil {
		t.Fatal(err)
	}
	if err := f.srv6.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := get([6]byte{0x02, 0, 0, 0, 0, 3}); got != "2001:db8:9:ab00::/56" {
		t.Fatalf("a router behind the modem got %s, want the reserved prefix outside the pools", got)
	}
	// Validation: not a prefix start, too long, taken.
	other := store.Modem{MAC: "00:00:ca:00:00:77", PlanID: f.plan.ID, CMTSID: f.cmts.ID, Enabled: true}
	for _, bad := range []string{"2001:db8:9:ab80::/56", "2001:db8:9::/72", "2001:db8:9:ab00::/56", "10.0.0.0/8"} {
		other.Prefix6 = bad
		if err := f.st.CreateModem(ctx, "t", &other); err == nil {
			t.Errorf("a modem with prefix %s was accepted", bad)
			other.ID = 0
		}
	}
}

// TestV6UnknownModem: a cable modem the inventory does not know is refused
// as an unknown modem (listed for the unknown modems page), or, where its
// CM network says so, gets an address from the ranges and the walled-garden
// config — the registration config where unknown modems may register.
func TestV6UnknownModem(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	ctx := context.Background()
	stranger := mustMAC("00:00:ca:de:ad:06")
	file := func() (string, netip.Addr) {
		t.Helper()
		reply, _ := f.exchange6(t, relayed(t, cmSolicit(t, stranger, dhcpv6.WithRapidCommit), linkCM, stranger[:], 1))
		if reply == nil || reply.MessageType != dhcpv6.MessageTypeReply {
			return "", netip.Addr{}
		}
		var name string
		for _, o := range reply.Options.VendorOpt(clEnterprise) {
			if uint16(o.Code()) == clConfigFile {
				name = string(o.ToBytes())
			}
		}
		var a netip.Addr
		if ia := reply.Options.OneIANA(); ia != nil && ia.Options.OneAddress() != nil {
			a, _ = netip.AddrFromSlice(ia.Options.OneAddress().IPv6Addr)
		}
		return name, a
	}
	if name, _ := file(); name != "" {
		t.Fatalf("an unknown modem on an ignoring network got %q", name)
	}
	refused := false
	for _, r := range f.srv6.Refusals() {
		if r.MAC == macText(stranger) && r.Class == ClassUnknownModem {
			refused = true
		}
	}
	if !refused {
		t.Errorf("the unknown modem is not listed as one: %+v", f.srv6.Refusals())
	}
	nets, _ := f.st.ListNetworks(ctx, f.cmts.ID)
	var cm store.Network
	for _, n := range nets {
		if n.Family == 6 && n.Purpose == store.PurposeCM {
			cm = n
		}
	}
	for _, tc := range []struct {
		register bool
		want     string
	}{{false, DefaultWalledFile}, {true, DefaultRegisterFile}} {
		cm.UnknownPolicy, cm.SelfRegister = store.PolicyWalled, tc.register
		if err := f.st.UpdateNetwork(ctx, "t", &cm); err != nil {
			t.Fatal(err)
		}
		if err := f.srv6.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		name, a := file()
		if name != tc.want || !netip.MustParsePrefix("2001:db8:4:11::/120").Contains(a) {
			t.Errorf("self-register %v: file %q address %s, want %s and an address from the range", tc.register, name, a, tc.want)
		}
	}
}

// TestV6FirstStartSnapshotCurrent: the first start stores a new server
// DUID (a settings change) before it loads the inventory, so the snapshot
// it answers with is current and no reload of the whole inventory follows.
func TestV6FirstStartSnapshotCurrent(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:1ff::")
	if got, want := f.srv6.snap.Load().version, f.st.InventoryVersion(); got != want {
		t.Fatalf("snapshot version %d after the first start, inventory at %d: a reload would follow", got, want)
	}
}

// slowCommits holds back every commit's outcome for delay (a slow disk).
type slowCommits struct {
	*store.Store
	delay time.Duration
}

func (s slowCommits) CommitLeasesThen(ctx context.Context, ops []store.LeaseOp, then func(error)) error {
	return s.Store.CommitLeasesThen(ctx, ops, func(err error) {
		time.Sleep(s.delay)
		then(err)
	})
}

// TestV6StopSendsCommittedReplies: a server told to stop while a Reply
// waits for its binding's commit sends that Reply before its socket
// closes, and Run returns after it.
func TestV6StopSendsCommittedReplies(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	srv, err := New6(context.Background(), Config6{Addr: "[::1]:0", Inventory: f.st, Leases: slowCommits{f.st, 300 * time.Millisecond},
		Settings: f.st, Now: f.clock.now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sol := cmSolicit(t, macModem, dhcpv6.WithRapidCommit)
	if _, err := c.WriteToUDP(relayed(t, sol, linkCM, macModem[:], 1), srv.Addr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Second); srv.Stats().Received == 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
	}
	cancel()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no Reply from the stopping server: %v", err)
	}
	d, err := dhcpv6.FromBytes(buf[:n])
	if err != nil || d.Type() != dhcpv6.MessageTypeRelayReply {
		t.Fatalf("got %v, %v", d, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return")
	}
}
