package main

import (
	"net/netip"
	"testing"
	"time"

	"ip6m/store"
	"ip6m/ui"
)

// TestPortalClients: a CPE lease behind no modem puts its address on the
// portal, behind the modem its relay's remote-id names (either form the
// DHCP server reads); a grant behind a known modem, a release or an
// expiry takes it off.
func TestPortalClients(t *testing.T) {
	p := &portalClients{m: map[netip.Addr]ui.PortalClient{}}
	now := time.Now()
	cpe := func(ip string, remote []byte, modemID int64) *store.Lease4 {
		return &store.Lease4{IP: ip, MAC: "02:00:00:00:00:01", Kind: store.KindCPE, State: store.StateActive, ModemID: modemID,
			GiAddr: "10.64.0.1", RemoteID: remote, Starts: now, Ends: now.Add(time.Minute)}
	}
	mac := []byte{0x00, 0x25, 0x90, 0xab, 0xcd, 0xef}
	p.observe(store.LeaseOp{Event: store.EventGrant, V4: cpe("100.64.0.10", mac, 0)})
	p.observe(store.LeaseOp{Event: store.EventGrant, V4: cpe("100.64.0.11", append([]byte{0, 6}, mac...), 0)})
	p.observe(store.LeaseOp{Event: store.EventGrant, V4: cpe("100.64.0.12", mac, 7)}) // behind a known modem
	for ip, want := range map[string]bool{"100.64.0.10": true, "100.64.0.11": true, "100.64.0.12": false} {
		c, ok := p.lookup(netip.MustParseAddr(ip))
		if ok != want || ok && (c.ModemMAC != "00:25:90:ab:cd:ef" || c.Relay != "10.64.0.1") {
			t.Errorf("%s: %+v %v, want on the portal %v", ip, c, ok, want)
		}
	}
	p.observe(store.LeaseOp{Event: store.EventGrant, V4: cpe("100.64.0.10", mac, 7)}) // its modem was registered
	p.observe(store.LeaseOp{Event: store.EventRelease, V4: cpe("100.64.0.11", mac, 0)})
	if _, ok := p.lookup(netip.MustParseAddr("100.64.0.10")); ok {
		t.Error("a CPE behind a registered modem is still on the portal")
	}
	if _, ok := p.lookup(netip.MustParseAddr("100.64.0.11")); ok || p.n.Load() != 0 {
		t.Errorf("after the release: %d left on the portal", p.n.Load())
	}
}
