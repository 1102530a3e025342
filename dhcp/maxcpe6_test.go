package dhcp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"ip6m/store"
)

// TestV6MaxCPE: behind a modem whose plan allows N CPEs, the N+1st distinct
// DUID gets no IA_NA or IA_PD while N hold or are offered bindings; a CPE
// already counted keeps its bindings; releases, lapsed offers, expiry and
// restarts keep the count right; the refusal is listed with its reason.
func TestV6MaxCPE(t *testing.T) {
	type step struct {
		op     string // sarr (Solicit+Request), solicit (offer only), release, wait (then sweep), restart
		router byte
		want   string // "bound" or "refused" for sarr and solicit
		wait   time.Duration
	}
	for _, tc := range []struct {
		name   string
		maxCPE int64
		steps  []step
	}{
		{name: "third refused", maxCPE: 2, steps: []step{
			{op: "sarr", router: 1, want: "bound"}, {op: "sarr", router: 2, want: "bound"},
			{op: "sarr", router: 3, want: "refused"}, {op: "solicit", router: 3, want: "refused"},
		}},
		{name: "a counted CPE comes back", maxCPE: 2, steps: []step{
			{op: "sarr", router: 1, want: "bound"}, {op: "sarr", router: 2, want: "bound"},
			{op: "sarr", router: 1, want: "bound"}, {op: "solicit", router: 2, want: "bound"},
		}},
		{name: "release frees a place", maxCPE: 2, steps: []step{
			{op: "sarr", router: 1, want: "bound"}, {op: "sarr", router: 2, want: "bound"},
			{op: "release", router: 1}, {op: "sarr", router: 3, want: "bound"}, {op: "sarr", router: 1, want: "refused"},
		}},
		{name: "offers count until they lapse", maxCPE: 2, steps: []step{
			{op: "solicit", router: 1, want: "bound"}, {op: "solicit", router: 2, want: "bound"},
			{op: "solicit", router: 3, want: "refused"},
			{op: "wait", wait: offerTTL + time.Second}, {op: "sarr", router: 3, want: "bound"},
		}},
		{name: "expiry frees a place", maxCPE: 1, steps: []step{
			{op: "sarr", router: 1, want: "bound"}, {op: "sarr", router: 2, want: "refused"},
			{op: "wait", wait: 25 * time.Hour}, {op: "sarr", router: 2, want: "bound"}, // the prefix lives 24 h
		}},
		{name: "restart keeps the count", maxCPE: 1, steps: []step{
			{op: "sarr", router: 1, want: "bound"}, {op: "restart"}, {op: "sarr", router: 2, want: "refused"}, {op: "sarr", router: 1, want: "bound"},
		}},
		{name: "no CPEs allowed", maxCPE: 0, steps: []step{{op: "sarr", router: 1, want: "refused"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture6(t, "2001:db8:4:200::")
			ctx := context.Background()
			f.plan.MaxCPE = tc.maxCPE
			if err := f.st.UpdatePlan(ctx, "t", &f.plan); err != nil {
				t.Fatal(err)
			}
			if err := f.srv6.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			held := map[byte]*dhcpv6.Message{} // the last Reply per router
			for i, st := range tc.steps {
				mac := [6]byte{0x02, 0, 0, 0, 0x77, st.router}
				switch st.op {
				case "sarr", "solicit":
					sol := eRouterSolicit(t, mac)
					adv, _ := f.exchange6(t, relayed(t, sol, linkCM, macModem[:], 1))
					got := iaOutcome(t, adv)
					if got == "bound" && st.op == "sarr" {
						rep, _ := f.exchange6(t, relayed(t, requestFrom(t, sol, adv), linkCM, macModem[:], 1))
						got = iaOutcome(t, rep)
						held[st.router] = rep
					}
					if got != st.want {
						t.Fatalf("step %d: %s of router %d: %s, want %s", i, st.op, st.router, got, st.want)
					}
				case "release":
					rep := held[st.router]
					m := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeRelease, TransactionID: dhcpv6.TransactionID{7, 7, 7}}
					m.AddOption(rep.GetOneOption(dhcpv6.OptionClientID))
					m.AddOption(rep.GetOneOption(dhcpv6.OptionServerID))
					m.AddOption(rep.Options.OneIANA())
					m.AddOption(rep.Options.OneIAPD())
					if r, _ := f.exchange6(t, relayed(t, m, linkCM, macModem[:], 1)); r == nil || r.Options.Status() == nil || r.Options.Status().StatusCode != iana.StatusSuccess {
						t.Fatalf("step %d: release: %v", i, r)
					}
				case "wait":
					f.clock.add(st.wait)
					f.srv6.Sweep(ctx)
				case "restart":
					f.srv6.conn.Close()
					f.srv6 = f.newServer6(t)
				}
			}
			// The index agrees with a scan of the bindings.
			if got, want := f.srv6.binds.cpeCount(f.modem.ID, nil), scanCPEs(f.srv6, f.modem.ID); got != want {
				t.Errorf("CPE index says %d, a scan %d", got, want)
			}
			for _, st := range tc.steps {
				if st.want == "refused" {
					r := f.srv6.Refusals()
					if len(r) == 0 || !strings.Contains(r[0].Reason, "already has") || !strings.Contains(r[0].Reason, "plan allows") || r[0].Relay != linkCM.String() ||
						!strings.Contains(r[0].Reason, f.modem.MAC) { // the modem page lists refusals naming its MAC
						t.Fatalf("refusals %+v: want the CPE limit, naming the modem, with the relay", r)
					}
					break
				}
			}
		})
	}
}

// iaOutcome says whether a reply gives the eRouter an address and a prefix
// ("bound"), refuses both ("refused"), or something else.
func iaOutcome(t *testing.T, m *dhcpv6.Message) string {
	t.Helper()
	if m == nil {
		return "no reply"
	}
	na, pd := m.Options.OneIANA(), m.Options.OneIAPD()
	if na == nil || pd == nil {
		return "IA missing"
	}
	switch {
	case na.Options.OneAddress() != nil && len(pd.Options.Prefixes()) == 1:
		return "bound"
	case na.Options.Status() != nil && na.Options.Status().StatusCode == iana.StatusNoAddrsAvail &&
		pd.Options.Status() != nil && pd.Options.Status().StatusCode == iana.StatusNoPrefixAvail && m.GetOneOption(dhcpv6.OptionRapidCommit) == nil:
		return "refused"
	}
	return "mixed: " + m.Summary()
}

// scanCPEs counts the distinct CPE DUIDs holding or offered bindings behind
// a modem the slow way.
func scanCPEs(s *Server6, modemID int64) int {
	s.binds.mu.Lock()
	defer s.binds.mu.Unlock()
	seen := map[string]bool{}
	for _, b := range s.binds.byPrefix {
		if b.kind == store.KindCPE && b.modemID == modemID && (b.state == store.StateActive || b.state == store.StateOffered) {
			seen[string(b.duid)] = true
		}
	}
	return len(seen)
}
