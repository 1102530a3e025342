package ui

import (
	"net/http"
	"net/netip"
	"slices"
	"time"

	"ip6m/dhcp"
	"ip6m/store"
)

// The unknown modems page: modems knocking that the inventory does not
// know, from the DHCP servers' refusals and the walled garden's leases,
// each a click away from being registered (the modem form, filled in) and
// then reset so it fetches its real config.

// unknownModem is one modem the inventory does not know.
type unknownModem struct {
	MAC      string
	Relay    string // the relay it came through
	CMTS     string // the CMTS of the relay's network
	CMTSID   int64
	Address  string // its walled-garden address, if it has one
	LastSeen time.Time
	Asked    int    // refused requests since listed (0 for a walled lease)
	Family   string // "DHCPv4", "DHCPv6" or both
}

func (s *Server) registerUnknownRoutes() {
	s.handle("GET /modems/unknown", store.RoleViewer, s.unknownPage)
}

func (s *Server) unknownPage(w http.ResponseWriter, r *http.Request) {
	list, err := s.unknownModems(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, unknownModemsPage(s.page(r, "Unknown modems", "/modems"), list))
}

// unknownModems gathers the unknown modems, most recently seen first.
func (s *Server) unknownModems(r *http.Request) ([]unknownModem, error) {
	ctx := r.Context()
	byMAC := map[string]*unknownModem{}
	add := func(mac, relay, family string, at time.Time, asked int, addr string) {
		u := byMAC[mac]
		if u == nil {
			u = &unknownModem{MAC: mac}
			byMAC[mac] = u
		}
		if at.After(u.LastSeen) {
			u.LastSeen = at
			if relay != "" {
				u.Relay = relay
			}
		}
		u.Asked += asked
		if addr != "" {
			u.Address = addr
		}
		switch {
		case u.Family == "":
			u.Family = family
		case u.Family != family:
			u.Family = "DHCPv4 and DHCPv6"
		}
	}
	for _, src := range []struct {
		p      Previewer
		family string
	}{{s.cfg.DHCP4, "DHCPv4"}, {s.cfg.DHCP6, "DHCPv6"}} {
		if src.p == nil {
			continue
		}
		for _, rf := range src.p.Refusals() {
			if rf.Class == dhcp.ClassUnknownModem && rf.MAC != "" {
				add(rf.MAC, rf.Relay, src.family, rf.Time, rf.Count, "")
			}
		}
	}
	walled, err := s.st.UnknownLeases4(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	for _, l := range walled {
		add(l.MAC, l.GiAddr, "DHCPv4", l.Starts, 0, l.IP)
	}
	walled6, err := s.st.UnknownLeases6(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	for _, l := range walled6 {
		if l.MAC != "" {
			add(l.MAC, l.LinkAddress, "DHCPv6", l.Starts, 0, l.Address)
		}
	}
	if len(byMAC) == 0 {
		return nil, nil
	}
	// Those registered since they knocked are known now.
	macs := make([]string, 0, len(byMAC))
	for mac := range byMAC {
		macs = append(macs, mac)
	}
	known, _, err := s.st.ListModems(ctx, store.ModemFilter{MACs: macs}, store.Page{})
	if err != nil {
		return nil, err
	}
	for _, m := range known {
		delete(byMAC, m.MAC)
	}
	nets, err := s.st.ListNetworks(ctx, 0)
	if err != nil {
		return nil, err
	}
	names, err := s.cmtsNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]unknownModem, 0, len(byMAC))
	for _, u := range byMAC {
		if a, err := netip.ParseAddr(u.Relay); err == nil {
			u.CMTSID = store.CMTSOf(nets, a)
			u.CMTS = names[u.CMTSID]
		}
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b unknownModem) int { return b.LastSeen.Compare(a.LastSeen) })
	return out, nil
}
