package dhcp

import (
	"bytes"
	"context"
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

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a small DOCSIS network on loopback addresses: CMTS-1 relays
// from 127.10.0.1 (CM), 127.11.0.1 (MTA) and 127.64.0.1 (CPE).
type fixture struct {
	st       *store.Store
	srv      *Server
	clock    *testClock
	plan     store.Plan
	modem    store.Modem // enabled, with an MTA
	fixed    store.Modem // enabled, fixed address 127.10.0.50
	disabled store.Modem
	mta      store.MTA
	cmts     store.CMTS
}

var (
	macModem    = mustMAC("44:32:c8:21:09:e7")
	macMTA      = mustMAC("44:32:c8:21:09:e8")
	macFixed    = mustMAC("00:1e:6b:e6:b4:a5")
	macDisabled = mustMAC("0c:ee:e6:e5:35:2c")
	giCM        = netip.MustParseAddr("127.10.0.1")
	giMTA       = netip.MustParseAddr("127.11.0.1")
	giCPE       = netip.MustParseAddr("127.64.0.1")
)

func mustMAC(s string) [6]byte {
	b, err := store.MACBytes(s)
	if err != nil {
		panic(err)
	}
	return b
}

func newFixture(t testing.TB, walled bool) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{clock: &testClock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}}
	st, err := store.Open(ctx, t.TempDir(), store.Options{Now: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f.cmts = store.CMTS{Name: "CMTS-1", SharedSecret: "s3cret"}
	must(st.CreateCMTS(ctx, "t", &f.cmts))
	policy := store.PolicyIgnore
	if walled {
		policy = store.PolicyWalled
	}
	for _, n := range []store.Network{
		{CMTSID: f.cmts.ID, Prefix: "127.10.0.0/16", Purpose: store.PurposeCM, Gateway: "127.10.0.1", LeaseTime: 3600,
			TimeServers: "10.0.0.10", LogServers: "10.0.0.11", DNSServers: "10.0.0.53", TimeOffset: 7200, UnknownPolicy: policy,
			Ranges: []store.Range{{First: "127.10.1.1", Last: "127.10.1.50"}}},
		{CMTSID: f.cmts.ID, Prefix: "127.11.0.0/16", Purpose: store.PurposeMTA, Gateway: "127.11.0.1", LeaseTime: 3600,
			DNSServers: "10.0.0.53", Domain: "voice.example.net", Ranges: []store.Range{{First: "127.11.1.1", Last: "127.11.1.50"}}},
		{CMTSID: f.cmts.ID, Prefix: "127.64.0.0/16", Purpose: store.PurposeCPE, Gateway: "127.64.0.1", LeaseTime: 7200,
			DNSServers: "10.0.0.53", Ranges: []store.Range{{First: "127.64.0.10", Last: "127.64.0.20"}}},
	} {
		must(st.CreateNetwork(ctx, "t", &n))
	}
	f.plan = store.Plan{Name: "Residential", Config: "Main { NetworkAccess 1; }", MaxCPE: 2}
	must(st.CreatePlan(ctx, "t", &f.plan))
	f.modem = store.Modem{MAC: macText(macModem), PlanID: f.plan.ID, CMTSID: f.cmts.ID, Enabled: true}
	must(st.CreateModem(ctx, "t", &f.modem))
	f.fixed = store.Modem{MAC: macText(macFixed), PlanID: f.plan.ID, CMTSID: f.cmts.ID, Enabled: true, FixedIPv4: "127.10.0.50"}
	must(st.CreateModem(ctx, "t", &f.fixed))
	f.disabled = store.Modem{MAC: macText(macDisabled), PlanID: f.plan.ID, CMTSID: f.cmts.ID, Enabled: false}
	must(st.CreateModem(ctx, "t", &f.disabled))
	f.mta = store.MTA{MAC: macText(macMTA), ModemID: f.modem.ID}
	must(st.CreateMTA(ctx, "t", &f.mta))
	must(st.SetSetting(ctx, "t", SettingServerIPv4, "10.0.0.10"))
	f.srv = f.newServer(t)
	return f
}

func (f *fixture) newServer(t testing.TB) *Server {
	t.Helper()
	srv, err := New(context.Background(), Config{Addr: "127.0.0.1:0", Inventory: f.st, Leases: f.st, Now: f.clock.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.raw.Close() })
	return srv
}

// rai builds option 82: circuit-id and the modem's MAC as remote-id.
func rai(circuit string, remote [6]byte) dhcpv4.Option {
	return dhcpv4.OptRelayAgentInfo(
		dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(1), []byte(circuit)),
		dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(2), remote[:]),
	)
}

// discover builds a relayed DISCOVER.
func discover(t *testing.T, mac [6]byte, gi netip.Addr, remote [6]byte, vendor string) *dhcpv4.DHCPv4 {
	t.Helper()
	mods := []dhcpv4.Modifier{dhcpv4.WithRelay(gi.AsSlice()), dhcpv4.WithOption(rai("cable1/0/0:7", remote))}
	if vendor != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClassIdentifier(vendor)))
	}
	d, err := dhcpv4.NewDiscovery(net.HardwareAddr(mac[:]), mods...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fixture) handle(t *testing.T, req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	t.Helper()
	// Through the wire format, as the socket would.
	msg, err := dhcpv4.FromBytes(req.ToBytes())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.srv.handle4(context.Background(), inbound4{msg: msg})
	if err != nil {
		if _, ok := err.(errDrop); !ok {
			t.Fatalf("handle4: %v", err)
		}
		return nil
	}
	out, err := dhcpv4.FromBytes(resp.ToBytes())
	if err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	return out
}

// dora runs DISCOVER/OFFER/REQUEST/ACK and returns the ACK (nil if the
// device got no offer).
func (f *fixture) dora(t *testing.T, disc *dhcpv4.DHCPv4) (offer, ack *dhcpv4.DHCPv4) {
	t.Helper()
	offer = f.handle(t, disc)
	if offer == nil {
		return nil, nil
	}
	if offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("reply to DISCOVER is %v", offer.MessageType())
	}
	req, err := dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithRelay(disc.GatewayIPAddr),
		dhcpv4.WithOptionCopied(disc, dhcpv4.OptionRelayAgentInformation), dhcpv4.WithOptionCopied(disc, dhcpv4.OptionClassIdentifier),
		dhcpv4.WithOptionCopied(disc, dhcpv4.OptionClientIdentifier))
	if err != nil {
		t.Fatal(err)
	}
	return offer, f.handle(t, req)
}

func TestKnownModemDORA(t *testing.T) {
	f := newFixture(t, false)
	disc := discover(t, macModem, giCM, macModem, "docsis3.0:053901010102010203010104010105010106010107010f0801100901030a01010b01180c01010d0200400e0200100f010110040000000211010112010113010114010115013f1601011701011801041901041a01041b01081c01021d01081e01201f0110200110210102220101230100")
	offer, ack := f.dora(t, disc)
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("no ACK for a known modem (offer %v)", offer)
	}
	ip := ip4(ack.YourIPAddr)
	if !netip.MustParsePrefix("127.10.1.0/24").Contains(ip) {
		t.Fatalf("yiaddr %s, want one from the CM range", ip)
	}
	checks := []struct {
		name      string
		got, want []byte
	}{
		{"siaddr (TFTP server)", ack.ServerIPAddr.To4(), []byte{10, 0, 0, 10}},
		{"file", []byte(ack.BootFileName), []byte("cm/4432c82109e7.cfg")},
		{"option 1 subnet mask", ack.Options.Get(dhcpv4.OptionSubnetMask), []byte{255, 255, 0, 0}},
		{"option 3 router", ack.Options.Get(dhcpv4.OptionRouter), []byte{127, 10, 0, 1}},
		{"option 2 time offset", ack.Options.Get(dhcpv4.OptionTimeOffset), []byte{0, 0, 0x1c, 0x20}},
		{"option 4 time servers", ack.Options.Get(dhcpv4.OptionTimeServer), []byte{10, 0, 0, 10}},
		{"option 7 log servers", ack.Options.Get(dhcpv4.OptionLogServer), []byte{10, 0, 0, 11}},
		{"option 6 DNS", ack.Options.Get(dhcpv4.OptionDomainNameServer), []byte{10, 0, 0, 53}},
		{"option 51 lease time", ack.Options.Get(dhcpv4.OptionIPAddressLeaseTime), []byte{0, 0, 0x0e, 0x10}},
		{"option 54 server id", ack.Options.Get(dhcpv4.OptionServerIdentifier), []byte{10, 0, 0, 10}},
		{"option 82 echoed byte for byte", ack.Options.Get(dhcpv4.OptionRelayAgentInformation), disc.Options.Get(dhcpv4.OptionRelayAgentInformation)},
		{"giaddr", ack.GatewayIPAddr.To4(), giCM.AsSlice()},
	}
	for _, c := range checks {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Durable and in the history.
	leases, err := f.st.Leases4(context.Background(), time.Unix(0, 0))
	if err != nil || len(leases) != 1 || leases[0].IP != ip.String() || leases[0].State != store.StateActive || leases[0].ModemID != f.modem.ID {
		t.Fatalf("stored leases %+v, %v", leases, err)
	}
	h, _ := f.st.AddressHistory(context.Background(), ip.String(), 5)
	if len(h) != 1 || h[0].Event != store.EventGrant || h[0].ModemMAC != f.modem.MAC || h[0].Relay != "127.10.0.1" {
		t.Fatalf("history %+v", h)
	}
	// A second DISCOVER from the same modem gets the same address.
	offer2 := f.handle(t, discover(t, macModem, giCM, macModem, "docsis3.0"))
	if offer2 == nil || ip4(offer2.YourIPAddr) != ip {
		t.Fatalf("re-DISCOVER offered %v, want %s", offer2, ip)
	}
}

func TestFixedAddressModem(t *testing.T) {
	f := newFixture(t, false)
	_, ack := f.dora(t, discover(t, macFixed, giCM, macFixed, "docsis3.0"))
	if ack == nil || ip4(ack.YourIPAddr) != netip.MustParseAddr("127.10.0.50") {
		t.Fatalf("fixed modem got %v, want 127.10.0.50", ack)
	}
}

func TestUnknownAndDisabledModemPolicy(t *testing.T) {
	unknown := mustMAC("00:00:ca:11:22:33")
	for _, walled := range []bool{false, true} {
		f := newFixture(t, walled)
		for _, mac := range [][6]byte{unknown, macDisabled} {
			_, ack := f.dora(t, discover(t, mac, giCM, mac, "docsis3.0"))
			switch {
			case !walled && ack != nil:
				t.Errorf("policy ignore: %s got %v", macText(mac), ack.YourIPAddr)
			case walled && (ack == nil || ack.BootFileName != DefaultWalledFile):
				t.Errorf("policy walled: %s got %v, want an address and %s", macText(mac), ack, DefaultWalledFile)
			}
		}
	}
}

func TestMTAOption122(t *testing.T) {
	f := newFixture(t, false)
	disc := discover(t, macMTA, giMTA, macModem, "pktc1.5:051f0101010201020301010401020501010601010701010801010901010a01010b01010c01010d0101")
	disc.UpdateOption(dhcpv4.OptParameterRequestList(dhcpv4.OptionSubnetMask, dhcpv4.GenericOptionCode(122)))
	_, ack := f.dora(t, disc)
	if ack == nil {
		t.Fatal("no ACK for the MTA")
	}
	if !netip.MustParsePrefix("127.11.1.0/24").Contains(ip4(ack.YourIPAddr)) {
		t.Fatalf("MTA got %s, want the MTA range", ip4(ack.YourIPAddr))
	}
	want := []byte{
		1, 4, 10, 0, 0, 10, // primary DHCP server
		3, 5, 1, 10, 0, 0, 10, // provisioning server, IPv4 form
		6, 9, 5, 'B', 'A', 'S', 'I', 'C', 1, '1', 0, // Kerberos realm BASIC.1 as in the seed
		7, 1, 0, // no TGT, as in the seed
	}
	if got := ack.Options.Get(dhcpv4.GenericOptionCode(122)); !bytes.Equal(got, want) {
		t.Fatalf("option 122 = % x\nwant        % x", got, want)
	}
	if ack.BootFileName != "mta/4432c82109e8.bin" || !bytes.Equal(ack.Options.Get(dhcpv4.OptionDomainName), []byte("voice.example.net")) {
		t.Fatalf("MTA file %q, domain %q", ack.BootFileName, ack.Options.Get(dhcpv4.OptionDomainName))
	}
}

func TestCPEMaxAndRefusals(t *testing.T) {
	f := newFixture(t, false)
	cpe := func(n byte) [6]byte { return [6]byte{0x02, 0, 0, 0, 0, n} }
	for i := byte(1); i <= 2; i++ {
		if _, ack := f.dora(t, discover(t, cpe(i), giCPE, macModem, "")); ack == nil || !netip.MustParsePrefix("127.64.0.0/16").Contains(ip4(ack.YourIPAddr)) {
			t.Fatalf("CPE %d got %v", i, ack)
		}
	}
	if offer := f.handle(t, discover(t, cpe(3), giCPE, macModem, "")); offer != nil {
		t.Fatalf("third CPE behind a max-2 modem got %s", ip4(offer.YourIPAddr))
	}
	// A CPE that already has a lease keeps getting it.
	if offer := f.handle(t, discover(t, cpe(2), giCPE, macModem, "")); offer == nil {
		t.Fatal("second CPE lost its place on re-DISCOVER")
	}
	if offer := f.handle(t, discover(t, cpe(9), giCPE, macDisabled, "")); offer != nil {
		t.Fatal("a CPE behind a disabled modem got an offer")
	}
	if offer := f.handle(t, discover(t, cpe(9), giCPE, mustMAC("00:00:ca:99:99:99"), "")); offer != nil {
		t.Fatal("a CPE behind an unknown modem got an offer")
	}
	st := f.srv.Stats()
	if st.Refused < 3 {
		t.Fatalf("refusals counted: %d", st.Refused)
	}
	classes := map[string]string{}
	for _, r := range f.srv.Refusals() {
		classes[r.MAC] = r.Class
	}
	if classes["02:00:00:00:00:03"] != ClassOverMaxCPE {
		t.Errorf("the third CPE's refusal is classed %q, want %q", classes["02:00:00:00:00:03"], ClassOverMaxCPE)
	}
}

func TestRenewReleaseDeclineInformNAK(t *testing.T) {
	f := newFixture(t, false)
	disc := discover(t, macModem, giCM, macModem, "docsis3.0")
	_, ack := f.dora(t, disc)
	ip := ip4(ack.YourIPAddr)

	// RENEWING: ciaddr set, relayed.
	f.clock.add(30 * time.Minute)
	renew, _ := dhcpv4.NewRenewFromAck(ack, dhcpv4.WithRelay(giCM.AsSlice()), dhcpv4.WithOptionCopied(disc, dhcpv4.OptionRelayAgentInformation))
	r := f.handle(t, renew)
	if r == nil || r.MessageType() != dhcpv4.MessageTypeAck || ip4(r.YourIPAddr) != ip {
		t.Fatalf("renew: %v", r)
	}
	h, _ := f.st.AddressHistory(context.Background(), ip.String(), 5)
	if len(h) != 1 || h[0].Event != store.EventGrant || h[0].Renewals != 1 {
		t.Fatalf("history after renew: %+v, want the grant's row extended by the renewal", h)
	}

	// INIT-REBOOT asking for another address: NAK.
	reboot, _ := dhcpv4.New(dhcpv4.WithHwAddr(net.HardwareAddr(macModem[:])), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithRelay(giCM.AsSlice()), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(127, 10, 1, 49))))
	if r := f.handle(t, reboot); r == nil || r.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("init-reboot for a wrong address: %v, want NAK", r)
	}
	// INIT-REBOOT off the network: NAK.
	reboot.UpdateOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 1)))
	if r := f.handle(t, reboot); r == nil || r.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("init-reboot off the network: %v, want NAK", r)
	}
	// INIT-REBOOT with its own address: ACK.
	reboot.UpdateOption(dhcpv4.OptRequestedIPAddress(ip.AsSlice()))
	if r := f.handle(t, reboot); r == nil || r.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("init-reboot for its address: %v, want ACK", r)
	}

	// INFORM: options, no address.
	inform, _ := dhcpv4.New(dhcpv4.WithHwAddr(net.HardwareAddr(macModem[:])), dhcpv4.WithMessageType(dhcpv4.MessageTypeInform),
		dhcpv4.WithRelay(giCM.AsSlice()), dhcpv4.WithClientIP(ip.AsSlice()))
	if r := f.handle(t, inform); r == nil || r.MessageType() != dhcpv4.MessageTypeAck || ip4(r.YourIPAddr).IsValid() || r.Options.Get(dhcpv4.OptionIPAddressLeaseTime) != nil {
		t.Fatalf("inform: %v", r)
	}

	// RELEASE: the address is free again and the history says so.
	rel, _ := dhcpv4.NewReleaseFromACK(ack, dhcpv4.WithRelay(giCM.AsSlice()))
	if r := f.handle(t, rel); r != nil {
		t.Fatalf("release got a reply: %v", r)
	}
	h, _ = f.st.AddressHistory(context.Background(), ip.String(), 5)
	if len(h) != 1 || h[0].Event != store.EventGrant || h[0].Ended != store.EventRelease || h[0].Renewals != 2 {
		t.Fatalf("history after release: %+v, want the grant's row, renewed twice, ended by the release", h)
	}

	// DECLINE: the address is quarantined; the next offer is another one.
	_, ack = f.dora(t, disc)
	declined := ip4(ack.YourIPAddr)
	dec, _ := dhcpv4.New(dhcpv4.WithHwAddr(net.HardwareAddr(macModem[:])), dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline),
		dhcpv4.WithRelay(giCM.AsSlice()), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(declined.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(10, 0, 0, 10))))
	f.handle(t, dec)
	if offer := f.handle(t, disc); offer == nil || ip4(offer.YourIPAddr) == declined {
		t.Fatalf("after DECLINE of %s the offer is %v", declined, offer)
	}
}

func TestExpiryAndRestart(t *testing.T) {
	f := newFixture(t, false)
	_, ack := f.dora(t, discover(t, macModem, giCM, macModem, "docsis3.0"))
	ip := ip4(ack.YourIPAddr)

	// A restarted server knows the lease: a RENEW is ACKed.
	f.srv.raw.Close()
	f.srv = f.newServer(t)
	renew, _ := dhcpv4.NewRenewFromAck(ack, dhcpv4.WithRelay(giCM.AsSlice()))
	if r := f.handle(t, renew); r == nil || r.MessageType() != dhcpv4.MessageTypeAck || ip4(r.YourIPAddr) != ip {
		t.Fatalf("renew after restart: %v", r)
	}
	// Past its end the lease expires, is recorded, and the address returns
	// to the pool.
	f.clock.add(2 * time.Hour)
	f.srv.Sweep(context.Background())
	h, _ := f.st.AddressHistory(context.Background(), ip.String(), 5)
	if len(h) == 0 || h[0].Ended != store.EventExpire {
		t.Fatalf("history after expiry: %+v, want the session's row ended by the expiry", h)
	}
	// The same modem comes back to its old address.
	if offer := f.handle(t, discover(t, macModem, giCM, macModem, "docsis3.0")); offer == nil || ip4(offer.YourIPAddr) != ip {
		t.Fatalf("after expiry the modem was offered %v, want its old %s", offer, ip)
	}
}

func TestInventoryChangeSeen(t *testing.T) {
	f := newFixture(t, false)
	newMAC := mustMAC("00:00:ca:01:02:03")
	if offer := f.handle(t, discover(t, newMAC, giCM, newMAC, "docsis3.0")); offer != nil {
		t.Fatal("an unknown modem got an offer")
	}
	m := store.Modem{MAC: macText(newMAC), PlanID: f.plan.ID, CMTSID: f.cmts.ID, Enabled: true}
	if err := f.st.CreateModem(context.Background(), "t", &m); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if offer := f.handle(t, discover(t, newMAC, giCM, newMAC, "docsis3.0")); offer == nil {
		t.Fatal("a modem added to the inventory gets no offer after reload")
	}
}

func TestMalformed(t *testing.T) {
	f := newFixture(t, false)
	bad := []func(*dhcpv4.DHCPv4){
		func(d *dhcpv4.DHCPv4) { d.OpCode = dhcpv4.OpcodeBootReply },
		func(d *dhcpv4.DHCPv4) { d.ClientHWAddr = d.ClientHWAddr[:4] },
		func(d *dhcpv4.DHCPv4) { d.Options[82] = []byte{1, 200, 1} },
		func(d *dhcpv4.DHCPv4) { d.GatewayIPAddr = net.IPv4zero },
		func(d *dhcpv4.DHCPv4) { d.Options.Del(dhcpv4.OptionDHCPMessageType) },
	}
	for i, mutate := range bad {
		d := discover(t, macModem, giCM, macModem, "docsis3.0")
		mutate(d)
		if r := f.handle(t, d); r != nil {
			t.Errorf("malformed request %d got a reply", i)
		}
	}
}

func TestPreview(t *testing.T) {
	f := newFixture(t, false)
	p, err := f.srv.Preview(f.modem.MAC)
	if err != nil || p.Kind != store.KindCM || p.File != "cm/4432c82109e7.cfg" || p.Refuse != "" || p.Network != "127.10.0.0/16" {
		t.Fatalf("preview of a known modem: %+v, %v", p, err)
	}
	if p, _ := f.srv.Preview(f.disabled.MAC); p.Refuse == "" {
		t.Fatalf("preview of a disabled modem on an ignore network: %+v, want a refusal", p)
	}
	if p, _ := f.srv.Preview(f.fixed.MAC); p.Fixed != "127.10.0.50" {
		t.Fatalf("preview of a fixed modem: %+v", p)
	}
	_, ack := f.dora(t, discover(t, macModem, giCM, macModem, "docsis3.0"))
	if p, _ := f.srv.Preview(f.modem.MAC); p.Leased != ip4(ack.YourIPAddr).String() {
		t.Fatalf("preview after a lease: %+v", p)
	}
}

// TestFixedAddressOnAnotherSubnet: a modem whose reserved address lies in
// another CM network of its CMTS than the relay's address is served from
// that network (and its REQUEST is ACKed, not NAKed).
func TestFixedAddressOnAnotherSubnet(t *testing.T) {
	f := newFixture(t, false)
	n := store.Network{CMTSID: f.cmts.ID, Prefix: "127.20.0.0/16", Purpose: store.PurposeCM, Gateway: "127.20.0.1"}
	if err := f.st.CreateNetwork(context.Background(), "t", &n); err != nil {
		t.Fatal(err)
	}
	f.fixed.FixedIPv4 = "127.20.0.9"
	if err := f.st.UpdateModem(context.Background(), "t", &f.fixed); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, ack := f.dora(t, discover(t, macFixed, giCM, macFixed, "docsis3.0"))
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck || ip4(ack.YourIPAddr).String() != "127.20.0.9" ||
		!bytes.Equal(ack.Options.Get(dhcpv4.OptionRouter), []byte{127, 20, 0, 1}) {
		t.Fatalf("fixed address on another subnet: %v", ack)
	}
}

// TestPreviewWithClientID: a modem that sends a client-identifier (as
// DOCSIS 3.0 modems do) still shows its lease in the preview.
func TestPreviewWithClientID(t *testing.T) {
	f := newFixture(t, false)
	disc := discover(t, macModem, giCM, macModem, "docsis3.0")
	disc.UpdateOption(dhcpv4.OptClientIdentifier(append([]byte{1}, macModem[:]...)))
	_, ack := f.dora(t, disc)
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("no ACK: %v", ack)
	}
	if p, _ := f.srv.Preview(f.modem.MAC); p.Leased != ip4(ack.YourIPAddr).String() {
		t.Fatalf("preview %+v, want the lease %s", p, ip4(ack.YourIPAddr))
	}
}

// TestSelfRegistration: on a CM network that lets unknown modems register,
// an unknown modem gets the registration config and a CPE behind it a
// short lease whose DNS is ip6m (the registration portal); once the modem
// is in the inventory, the CPE's next request is an ordinary CPE grant
// behind it.
func TestSelfRegistration(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	nets, _ := f.st.ListNetworks(ctx, f.cmts.ID)
	for _, n := range nets {
		if n.Purpose == store.PurposeCM && n.Family == 4 {
			n.SelfRegister = true
			if err := f.st.UpdateNetwork(ctx, "t", &n); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	unknown := mustMAC("00:00:ca:11:22:33")
	if _, ack := f.dora(t, discover(t, unknown, giCM, unknown, "docsis3.0")); ack == nil || ack.BootFileName != DefaultRegisterFile {
		t.Fatalf("unknown modem on a self-registration network: %v, want an address and %s", ack, DefaultRegisterFile)
	}
	// A disabled modem still gets the walled garden, not registration.
	if _, ack := f.dora(t, discover(t, macDisabled, giCM, macDisabled, "docsis3.0")); ack == nil || ack.BootFileName != DefaultWalledFile {
		t.Fatalf("disabled modem: %v, want %s", ack, DefaultWalledFile)
	}
	cpe := mustMAC("02:00:00:00:00:42")
	_, ack := f.dora(t, discover(t, cpe, giCPE, unknown, ""))
	if ack == nil {
		t.Fatal("a CPE behind a modem that may register got nothing")
	}
	ip := ip4(ack.YourIPAddr)
	if dns := ack.DNS(); len(dns) != 1 || dns[0].String() != "10.0.0.10" {
		t.Errorf("portal CPE's DNS %v, want the server 10.0.0.10", dns)
	}
	if lt := ack.IPAddressLeaseTime(0); lt > portalLease || lt == 0 {
		t.Errorf("portal CPE's lease %v, want at most %v", lt, portalLease)
	}
	l, err := f.st.Lease4ByIP(ctx, ip.String())
	if err != nil || l.Kind != store.KindCPE || l.ModemID != 0 {
		t.Fatalf("portal lease %+v, %v; want a CPE lease with no modem", l, err)
	}

	// The customer registers the modem; the CPE renews.
	m := store.Modem{MAC: macText(unknown), PlanID: f.plan.ID, CMTSID: f.cmts.ID, Enabled: true}
	if err := f.st.CreateModem(ctx, "portal", &m); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	renew, _ := dhcpv4.NewRenewFromAck(ack, dhcpv4.WithRelay(giCPE.AsSlice()), dhcpv4.WithOption(rai("cable1/0/0:1", unknown)))
	r := f.handle(t, renew)
	if r == nil || r.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("renewal after registration: %v", r)
	}
	if dns := r.DNS(); len(dns) != 1 || dns[0].String() != "10.0.0.53" {
		t.Errorf("registered CPE's DNS %v, want the network's 10.0.0.53", dns)
	}
	h, _ := f.st.AddressHistory(ctx, ip.String(), 5)
	if len(h) != 2 || h[0].Event != store.EventGrant || h[0].ModemMAC != m.MAC || h[1].ModemMAC != "" {
		t.Errorf("history %+v, want the portal lease and a new grant behind the registered modem", h)
	}
	if l, _ := f.st.Lease4ByIP(ctx, ip.String()); l.ModemID != m.ID {
		t.Errorf("lease after registration %+v, want it behind modem %d", l, m.ID)
	}
}
