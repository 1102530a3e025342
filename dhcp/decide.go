package dhcp

import (
	"net/netip"
	"strings"

	"ip6m/store"
)

// Request4 is what classification looks at in a v4 request.
type Request4 struct {
	MAC         [6]byte
	GiAddr      netip.Addr // zero for a direct client
	Local       netip.Addr // the server's address on the client's link (direct clients)
	RemoteID    []byte     // option 82.2 (the modem's MAC for CPE/MTA traffic)
	VendorClass string     // option 60
}

// Decision is what a device gets: its kind, the modem it belongs to, the
// network (pool) it is served from, a reserved address, its config file.
// Refuse, when set, says why it gets nothing.
type Decision struct {
	Kind    string // store.KindCM, KindMTA, KindCPE or KindUnknown
	Modem   *modemInfo
	Network *network4
	Fixed   netip.Addr
	File    string
	Walled  bool // unknown or disabled modem on a walled-garden network
	// Portal: a CPE behind an unknown modem that may register itself; it
	// gets an address whose DNS is ip6m's registration portal.
	Portal bool
	MaxCPE int // for CPEs: the plan's limit (checked at allocation)
	Refuse string
}

// decide classifies a request, as the seed's dhcpd classes do: a known
// modem by its MAC; an MTA by its MAC (or an unknown pktc device behind a
// known modem); a CPE when the relay's remote-id names a known modem and the
// client is neither that modem nor its MTA; everything else as unknown.
func (sn *snapshot) decide(r Request4) Decision {
	relayNet := sn.networkFor(r.GiAddr)
	if !r.GiAddr.IsValid() {
		relayNet = sn.networkFor(r.Local)
	}
	if relayNet == nil {
		return Decision{Kind: store.KindUnknown, Refuse: "no network contains the relay address " + addrText(r.GiAddr, r.Local)}
	}
	cmtsID := relayNet.cmtsID

	if m, ok := sn.modems[r.MAC]; ok {
		d := Decision{Kind: store.KindCM, Modem: m}
		d.Network = sn.networkOf(pick(m.cmtsID, cmtsID), store.PurposeCM, r.GiAddr)
		if d.Network == nil {
			d.Refuse = "its CMTS has no cable modem network"
			return d
		}
		if !m.enabled {
			if !d.Network.walled {
				d.Refuse = "the modem is disabled"
				return d
			}
			d.Walled, d.File = true, sn.walledFile
			return d
		}
		d.Fixed, d.File = m.fixed, configName(sn.cmFile, m.mac)
		sn.fixedNetwork(&d)
		return d
	}
	remote, remoteOK := RemoteIDMAC(r.RemoteID)
	owner := sn.modems[remote]
	if !remoteOK {
		owner = nil
	}
	if dev, ok := sn.mtas[r.MAC]; ok || (owner != nil && strings.HasPrefix(strings.ToLower(r.VendorClass), "pktc")) {
		d := Decision{Kind: store.KindMTA}
		if ok {
			d.Modem, d.Fixed = sn.modemsID[dev.modemID], dev.fixed
		} else {
			d.Modem = owner
		}
		if d.Modem == nil {
			d.Refuse = "the MTA's modem is not in the inventory"
			return d
		}
		if !d.Modem.enabled {
			d.Refuse = "the MTA's modem " + d.Modem.macText + " is disabled"
			return d
		}
		d.Network = sn.networkOf(pick(d.Modem.cmtsID, cmtsID), store.PurposeMTA, r.GiAddr)
		if d.Network == nil {
			d.Refuse = "the CMTS has no MTA network"
			return d
		}
		d.File = configName(sn.mtaFile, r.MAC)
		sn.fixedNetwork(&d)
		return d
	}
	if owner != nil {
		d := Decision{Kind: store.KindCPE, Modem: owner}
		if !owner.enabled {
			d.Refuse = "its modem " + owner.macText + " is disabled"
			return d
		}
		if dev, ok := sn.cpes[r.MAC]; ok && dev.modemID == owner.id {
			d.Fixed = dev.fixed
		}
		d.Network = sn.networkOf(pick(owner.cmtsID, cmtsID), store.PurposeCPE, r.GiAddr)
		if d.Network == nil {
			d.Refuse = "the CMTS has no CPE network"
			return d
		}
		d.MaxCPE = sn.plans[owner.planID].maxCPE
		sn.fixedNetwork(&d)
		return d
	}
	if remoteOK && remote != r.MAC {
		if cm := sn.networkOf(cmtsID, store.PurposeCM, r.GiAddr); cm != nil && cm.selfRegister {
			// Its customer is to register the modem: an address, and DNS
			// that leads to the registration page.
			d := Decision{Kind: store.KindCPE, Portal: true, Network: sn.networkOf(cmtsID, store.PurposeCPE, r.GiAddr)}
			if d.Network == nil {
				d.Refuse = "the CMTS has no CPE network (for the registration portal)"
			}
			return d
		}
		return Decision{Kind: store.KindCPE, Refuse: "behind modem " + macText(remote) + ", which is not in the inventory"}
	}
	// An unknown device: a cable modem if it says so (or if the CMTS
	// relays it as a modem), else nothing is known of it.
	if strings.HasPrefix(strings.ToLower(r.VendorClass), "docsis") || (remoteOK && remote == r.MAC) || relayNet.purpose == store.PurposeCM {
		d := Decision{Kind: store.KindUnknown, Network: sn.networkOf(cmtsID, store.PurposeCM, r.GiAddr)}
		if d.Network == nil || !d.Network.walled {
			d.Network = nil
			d.Refuse = "unknown modem " + macText(r.MAC)
			return d
		}
		d.Walled, d.File = true, sn.walledFile
		if d.Network.selfRegister {
			d.File = sn.registerFile
		}
		return d
	}
	if relayNet.serverLocal && len(relayNet.ranges) > 0 && !r.GiAddr.IsValid() {
		return Decision{Kind: store.KindUnknown, Network: relayNet}
	}
	return Decision{Kind: store.KindUnknown, Refuse: "unknown device " + macText(r.MAC)}
}

// fixedNetwork serves a reserved address from the network that holds it
// (a CMTS relays from one address but may carry several subnets), or
// refuses when no network of the device's kind holds it.
func (sn *snapshot) fixedNetwork(d *Decision) {
	if !d.Fixed.IsValid() || d.Network.prefix.Contains(d.Fixed) {
		return
	}
	if n := sn.networkFor(d.Fixed); n != nil && n.purpose == d.Network.purpose {
		d.Network = n
		return
	}
	d.Refuse = "its fixed address " + d.Fixed.String() + " is in no " + d.Network.purpose + " network"
	d.Network = nil
}

// pick prefers the inventory's CMTS and falls back to the relay's.
func pick(inventory, relay int64) int64 {
	if inventory != 0 {
		return inventory
	}
	return relay
}

// RemoteIDMAC reads a MAC from option 82's remote-id: DOCSIS CMTSes put
// the modem's 6-byte MAC there (some add a type/length prefix).
func RemoteIDMAC(b []byte) ([6]byte, bool) {
	var m [6]byte
	switch {
	case len(b) == 6:
		copy(m[:], b)
	case len(b) == 8 && b[0] == 0 && b[1] == 6: // type 0, length 6
		copy(m[:], b[2:])
	default:
		return m, false
	}
	return m, true
}

func macText(m [6]byte) string { return store.FormatMAC(m) }

func addrText(a, b netip.Addr) string {
	if a.IsValid() {
		return a.String()
	}
	if b.IsValid() {
		return b.String() + " (direct)"
	}
	return "(none)"
}

// Preview is what a device would get from this server now, in words for
// the UI: the same decision a request gets.
type Preview struct {
	Kind    string // cm, mta, cpe or unknown
	Network string // the network (pool) it is served from
	Fixed   string // its reserved address, if any
	File    string // the config file name handed out
	Walled  bool
	Refuse  string // why it gets nothing ("" when served)
	Leased  string // the address it holds now, if any
}

// Preview classifies a modem's request as it would arrive through its
// CMTS (the relay address is taken from the modem's CMTS's CM network).
func (s *Server) Preview(mac string) (Preview, error) {
	b, err := store.MACBytes(mac)
	if err != nil {
		return Preview{}, err
	}
	sn := s.snap.Load()
	r := Request4{MAC: b, RemoteID: b[:], VendorClass: "docsis3.0"}
	if m := sn.modems[b]; m != nil {
		if n := sn.networkOf(m.cmtsID, store.PurposeCM, netip.Addr{}); n != nil {
			r.GiAddr = n.gateway
			if !r.GiAddr.IsValid() {
				r.GiAddr = n.prefix.Addr().Next()
			}
		}
	}
	d := sn.decide(r)
	p := Preview{Kind: d.Kind, File: d.File, Walled: d.Walled, Refuse: d.Refuse}
	if d.Network != nil {
		p.Network = d.Network.prefix.String()
		if d.Network.name != "" {
			p.Network += " (" + d.Network.name + ")"
		}
	}
	if d.Fixed.IsValid() {
		p.Fixed = d.Fixed.String()
	}
	// The lease is keyed by client-id when the modem sends one (DOCSIS 3.0
	// modems do), so look for the MAC among the live leases; this is a UI
	// page view, not the packet path.
	now := s.now()
	s.leases.mu.Lock()
	if l := s.leases.byClient[clientKey(nil, b)]; l != nil && l.state == store.StateActive && l.expires.After(now) {
		p.Leased = l.ip.String()
	} else {
		for _, l := range s.leases.byIP {
			if l.mac == b && l.kind == d.Kind && l.state == store.StateActive && l.expires.After(now) {
				p.Leased = l.ip.String()
				break
			}
		}
	}
	s.leases.mu.Unlock()
	return p, nil
}
