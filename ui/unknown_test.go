package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ip6m/dhcp"
	"ip6m/store"
)

type refusalSource []dhcp.Refusal

func (r refusalSource) Preview(string) (dhcp.Preview, error) { return dhcp.Preview{}, nil }
func (r refusalSource) Refusals() []dhcp.Refusal             { return r }

// TestUnknownModemsPage: refused unknown modems and walled-garden leases
// are listed on their CMTS with a register link that fills the modem form;
// once registered, a modem leaves the list.
func TestUnknownModemsPage(t *testing.T) {
	s, ts, st := newTestServer(t, 5)
	ctx := context.Background()
	nets, _ := st.ListNetworks(ctx, 0)
	var cm store.Network
	for _, n := range nets {
		if n.Purpose == store.PurposeCM && n.Family == 4 {
			cm = n
			break
		}
	}
	if cm.ID == 0 {
		t.Fatal("demo has no v4 CM network")
	}
	relay := cm.Gateway
	if relay == "" {
		relay = strings.Split(cm.Prefix, "/")[0]
	}
	s.cfg.DHCP4 = refusalSource{
		{Time: time.Now(), MAC: "00:00:ca:de:ad:01", Relay: relay, Reason: "unknown modem 00:00:ca:de:ad:01", Class: dhcp.ClassUnknownModem, Count: 7},
		{Time: time.Now(), MAC: "02:00:00:00:00:09", Relay: relay, Reason: "unknown device 02:00:00:00:00:09", Class: dhcp.ClassOther, Count: 1},
	}
	now := time.Now()
	if err := st.CommitLeases(ctx, store.LeaseOp{Event: store.EventGrant, V4: &store.Lease4{IP: "10.99.0.5", MAC: "00:00:ca:de:ad:02",
		Kind: store.KindUnknown, State: store.StateActive, GiAddr: relay, Starts: now, Ends: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := st.CommitLeases(ctx, store.LeaseOp{Event: store.EventGrant, V6: &store.Lease6{Type: "na", Address: "2001:db8:4:11::7", PrefixLen: 128,
		DUID: []byte{0, 3, 0, 1, 0, 0, 0xca, 0xde, 0xad, 0x03}, IAID: 1, MAC: "00:00:ca:de:ad:03", Kind: store.KindUnknown, State: store.StateActive,
		LinkAddress: "2001:db8:4:11::1", Starts: now, Ends: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, ts)
	c.login(store.RoleOperator)
	code, body, _ := c.get("/modems/unknown")
	if code != http.StatusOK {
		t.Fatalf("unknown modems page: %d", code)
	}
	for _, want := range []string{"00:00:ca:de:ad:01", "00:00:ca:de:ad:02", "10.99.0.5", "00:00:ca:de:ad:03", "2001:db8:4:11::7", "/modems/new?cmts=" + idString(cm.CMTSID) + "&amp;mac=00%3A00%3Aca%3Ade%3Aad%3A01"} {
		if !strings.Contains(body, want) {
			t.Errorf("unknown modems page lacks %q", want)
		}
	}
	if strings.Contains(body, "02:00:00:00:00:09") {
		t.Error("an unknown device that is no modem is listed")
	}
	// The register link fills in the modem form.
	_, body, _ = c.get("/modems/new?cmts=" + idString(cm.CMTSID) + "&mac=00%3A00%3Aca%3Ade%3Aad%3A01")
	if !strings.Contains(body, `value="00:00:ca:de:ad:01"`) || !strings.Contains(body, `value="`+idString(cm.CMTSID)+`" selected`) {
		t.Error("the modem form is not filled in from the unknown modem")
	}
	plans, _ := st.ListPlans(ctx)
	if code, _, _ := c.post("/modems", url.Values{"csrf": {c.csrf}, "mac": {"00:00:ca:de:ad:01"}, "plan_id": {idString(plans[0].ID)},
		"cmts_id": {idString(cm.CMTSID)}, "enabled": {"on"}}, ts.URL); code != http.StatusSeeOther {
		t.Fatalf("register: %d", code)
	}
	if _, body, _ = c.get("/modems/unknown"); strings.Contains(body, "00:00:ca:de:ad:01") || !strings.Contains(body, "00:00:ca:de:ad:02") {
		t.Error("after registering, the modem is still listed as unknown (or the other one vanished)")
	}
	// Viewers see the list, not the register buttons.
	v := newClient(t, ts)
	v.login(store.RoleViewer)
	if _, body, _ = v.get("/modems/unknown"); strings.Contains(body, ">Register<") {
		t.Error("a viewer is offered Register")
	}
}

// TestActiveLeasesByMAC: the lookups behind the unknown modems page and
// behind resetting a modem registered from the walled garden.
func TestActiveLeasesByMAC(t *testing.T) {
	_, _, st := newTestServer(t, 0)
	ctx := context.Background()
	now := time.Now()
	for _, l := range []store.Lease4{
		{IP: "10.99.0.5", MAC: "00:00:ca:de:ad:02", Kind: store.KindUnknown, State: store.StateActive, Starts: now, Ends: now.Add(time.Hour)},
		{IP: "10.99.0.6", MAC: "00:00:ca:de:ad:02", Kind: store.KindUnknown, State: store.StateActive, Starts: now.Add(-3 * time.Hour), Ends: now.Add(-time.Hour)},
	} {
		if err := st.CommitLeases(ctx, store.LeaseOp{Event: store.EventGrant, V4: &l}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.ActiveLeases4ByMAC(ctx, "0000.cade.ad02", now)
	if err != nil || len(got) != 1 || got[0].IP != "10.99.0.5" {
		t.Fatalf("active leases = %+v, %v; want only the unexpired one", got, err)
	}
	if u, _ := st.UnknownLeases4(ctx, now); len(u) != 1 {
		t.Errorf("unknown leases = %+v", u)
	}
}
