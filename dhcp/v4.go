package dhcp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"ip6m/store"
)

// offerTTL is how long an offered address is held for the client's REQUEST.
const offerTTL = 30 * time.Second

// declineQuarantine keeps a declined address (someone else uses it) out of
// the pool.
const declineQuarantine = time.Hour

// errDrop means: answer nothing (the reason is counted by the caller).
type errDrop struct{ reason string }

func (e errDrop) Error() string { return e.reason }

func drop(format string, args ...any) error { return errDrop{fmt.Sprintf(format, args...)} }

// inbound4 is a request with what the socket layer knows about it.
type inbound4 struct {
	msg   *dhcpv4.DHCPv4
	local netip.Addr // the address it arrived on (zero if unknown)
	// deferred, when set, takes the lease changes instead of committing
	// them: the caller commits them before the reply leaves (serve).
	deferred *[]store.LeaseOp
}

// commit4 makes op durable, or hands it to the caller (in.deferred).
func (s *Server) commit4(ctx context.Context, in inbound4, op store.LeaseOp) error {
	if in.deferred != nil {
		*in.deferred = append(*in.deferred, op)
		return nil
	}
	if err := s.cfg.Leases.CommitLeases(ctx, op); err != nil {
		return err
	}
	s.stats.leasesCommitted.Add(1)
	return nil
}

// handle4 decides the reply to one request. It touches no socket: a nil
// reply with an errDrop means silence. Leases are durable before it
// returns a reply that grants one.
func (s *Server) handle4(ctx context.Context, in inbound4) (*dhcpv4.DHCPv4, error) {
	req := in.msg
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		return nil, drop("not a BOOTREQUEST")
	}
	if len(req.ClientHWAddr) != 6 {
		return nil, drop("hardware address of %d bytes", len(req.ClientHWAddr))
	}
	sn := s.snap.Load()
	var r Request4
	copy(r.MAC[:], req.ClientHWAddr)
	r.GiAddr = ip4(req.GatewayIPAddr)
	r.Local = in.local
	if rai := req.Options.Get(dhcpv4.OptionRelayAgentInformation); rai != nil {
		if !r.GiAddr.IsValid() {
			return nil, drop("option 82 without giaddr")
		}
		subs, err := parseRAI(rai)
		if err != nil {
			return nil, drop("option 82: %v", err)
		}
		r.RemoteID = subs[2]
	}
	r.VendorClass = string(req.Options.Get(dhcpv4.OptionClassIdentifier))
	client := clientKey(req.Options.Get(dhcpv4.OptionClientIdentifier), r.MAC)
	now := s.now()

	switch mt := req.MessageType(); mt {
	case dhcpv4.MessageTypeDiscover:
		d := sn.decide(r)
		if d.Refuse != "" {
			s.refuseV4(r, d)
			return nil, drop("refused: %s", d.Refuse)
		}
		l, err := s.offer(sn, r, d, client, req, now)
		if err != nil {
			return nil, err
		}
		return s.reply(sn, in, d, l, dhcpv4.MessageTypeOffer, now)

	case dhcpv4.MessageTypeRequest:
		return s.request(ctx, sn, in, r, client, now)

	case dhcpv4.MessageTypeRelease:
		return nil, s.release(ctx, sn, in, r, client, ip4(req.ClientIPAddr), now)

	case dhcpv4.MessageTypeDecline:
		return nil, s.decline(ctx, sn, in, r, client, ip4(req.Options.Get(dhcpv4.OptionRequestedIPAddress)), now)

	case dhcpv4.MessageTypeInform:
		d := sn.decide(r)
		if d.Refuse != "" {
			return nil, drop("inform refused: %s", d.Refuse)
		}
		resp, err := s.reply(sn, in, d, nil, dhcpv4.MessageTypeAck, now)
		if resp != nil {
			resp.YourIPAddr = net.IPv4zero
		}
		return resp, err

	default:
		return nil, drop("message type %v", mt)
	}
}

// offer reserves an address for the client's DISCOVER.
func (s *Server) offer(sn *snapshot, r Request4, d Decision, client string, req *dhcpv4.DHCPv4, now time.Time) (*lease, error) {
	ls := s.leases
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if d.Kind == store.KindCPE && d.Modem != nil && ls.cpeCount(d.Modem.id, client) >= d.MaxCPE {
		reason := fmt.Sprintf("modem %s already has %d CPEs (its plan allows %d)", d.Modem.macText, ls.cpeCount(d.Modem.id, client), d.MaxCPE)
		s.refuseV4(r, Decision{Kind: d.Kind, Modem: d.Modem, Refuse: reason})
		return nil, drop("refused: %s", reason)
	}
	ip, why := ls.pick(client, d, sn.reserved, now)
	if !ip.IsValid() {
		s.refuseV4(r, Decision{Kind: d.Kind, Modem: d.Modem, Refuse: why})
		return nil, drop("refused: %s", why)
	}
	l := ls.bind(ip, client, func(l *lease) {
		if l.state == store.StateActive && l.expires.After(now) {
			return // the client already holds it: nothing to offer anew
		}
		s.fill(l, r, d, req, now)
		l.state, l.expires = store.StateOffered, now.Add(offerTTL)
	})
	cp := *l
	return &cp, nil
}

// modemIDOf is the id of the decision's modem, 0 for none.
func modemIDOf(d Decision) int64 {
	if d.Modem == nil {
		return 0
	}
	return d.Modem.id
}

// fill sets a lease's identity from the request and the decision.
func (s *Server) fill(l *lease, r Request4, d Decision, req *dhcpv4.DHCPv4, now time.Time) {
	l.mac, l.kind, l.networkID = r.MAC, d.Kind, d.Network.id
	l.modemID = 0
	if d.Modem != nil {
		l.modemID = d.Modem.id
	}
	l.giaddr, l.remoteID = r.GiAddr, r.RemoteID
	l.circuitID = nil
	if rai := req.Options.Get(dhcpv4.OptionRelayAgentInformation); rai != nil {
		if subs, err := parseRAI(rai); err == nil {
			l.circuitID = subs[1]
		}
	}
	l.hostname = sanitizeHostname(string(req.Options.Get(dhcpv4.OptionHostName)))
	l.starts = now
}

// request answers a REQUEST in any of RFC 2131's states.
func (s *Server) request(ctx context.Context, sn *snapshot, in inbound4, r Request4, client string, now time.Time) (*dhcpv4.DHCPv4, error) {
	req := in.msg
	sid := ip4(req.Options.Get(dhcpv4.OptionServerIdentifier))
	requested := ip4(req.Options.Get(dhcpv4.OptionRequestedIPAddress))
	ciaddr := ip4(req.ClientIPAddr)
	var want netip.Addr
	var state string
	switch {
	case sid.IsValid():
		// SELECTING: the client answers an offer, ours or another server's.
		if our := s.serverID(sn, in); sid != our {
			s.leases.mu.Lock()
			if l := s.leases.byClient[client]; l != nil && l.state == store.StateOffered {
				s.leases.end(l, store.StateExpired, now, 0)
			}
			s.leases.mu.Unlock()
			return nil, drop("client chose server %s", sid)
		}
		want, state = requested, "selecting"
	case requested.IsValid():
		want, state = requested, "init-reboot"
	case ciaddr.IsValid():
		want, state = ciaddr, "renewing"
	default:
		return nil, drop("REQUEST without server-id, requested address or ciaddr")
	}
	d := sn.decide(r)
	if d.Refuse != "" {
		s.refuseV4(r, d)
		if state == "selecting" || state == "init-reboot" {
			return s.nak(sn, in, "not allowed: "+d.Refuse)
		}
		return nil, drop("refused: %s", d.Refuse)
	}
	if !d.Network.prefix.Contains(want) {
		return s.nak(sn, in, fmt.Sprintf("%s is not on the client's network %s", want, d.Network.prefix))
	}

	ls := s.leases
	ls.mu.Lock()
	l := ls.byClient[client]
	known := l != nil && l.ip == want && (l.state == store.StateOffered || l.state == store.StateActive || l.state == store.StateExpired)
	if !known {
		switch {
		case d.Fixed.IsValid() && d.Fixed == want:
			// A reservation is the client's whether or not we remember it.
		case state == "init-reboot":
			// RFC 2131 4.3.2: with no record of the client, stay silent...
			// unless the address is plainly someone else's.
			if other, ok := ls.byIP[want]; ok && other.client != client && other.live(now) {
				ls.mu.Unlock()
				return s.nak(sn, in, want.String()+" is leased to another client")
			}
			if l == nil {
				ls.mu.Unlock()
				return nil, drop("init-reboot for %s: no record of the client", want)
			}
			ls.mu.Unlock()
			return s.nak(sn, in, fmt.Sprintf("the client's address is %s, not %s", l.ip, want))
		default:
			ls.mu.Unlock()
			return s.nak(sn, in, fmt.Sprintf("no lease of %s for this client", want))
		}
	}
	if d.Fixed.IsValid() && d.Fixed != want {
		ls.mu.Unlock()
		return s.nak(sn, in, fmt.Sprintf("the client's reserved address is %s", d.Fixed))
	}
	if !ls.usable(want, client, sn.reserved, d.Network, now) && want != d.Fixed {
		ls.mu.Unlock()
		return s.nak(sn, in, want.String()+" is not available")
	}
	if d.Kind == store.KindCPE && d.Modem != nil && ls.cpeCount(d.Modem.id, client) >= d.MaxCPE {
		reason := fmt.Sprintf("modem %s already has %d CPEs (its plan allows %d)", d.Modem.macText, ls.cpeCount(d.Modem.id, client), d.MaxCPE)
		ls.mu.Unlock()
		s.refuseV4(r, Decision{Kind: d.Kind, Modem: d.Modem, Refuse: reason})
		return s.nak(sn, in, reason)
	}
	event := store.EventGrant
	if l != nil && l.ip == want && l.state == store.StateActive && l.expires.After(now) && l.modemID == modemIDOf(d) {
		// The same holding; one whose modem changed (a CPE whose modem
		// was registered from the portal) is granted anew.
		event = store.EventRenew
	}
	lt := decisionLeaseTime(d, req)
	l = ls.bind(want, client, func(l *lease) {
		if event == store.EventGrant {
			s.fill(l, r, d, req, now)
		} else {
			l.giaddr, l.remoteID = r.GiAddr, r.RemoteID
		}
		l.state, l.expires = store.StateActive, now.Add(lt)
	})
	cp := *l
	ls.mu.Unlock()

	op := store.LeaseOp{Event: event, V4: cp.record()}
	if d.Modem != nil {
		op.ModemMAC, op.CustomerID = d.Modem.macText, d.Modem.customerID
	}
	if err := s.commit4(ctx, in, op); err != nil {
		return nil, fmt.Errorf("commit lease %s for %s: %w", cp.ip, macText(r.MAC), err)
	}
	if event == store.EventGrant {
		s.log.Info("LEASE LOG", "ip", cp.ip, "remote_id", hexColons(r.RemoteID), "client_id", strings.TrimPrefix(client, "hw:"), "mac", macText(r.MAC), "kind", d.Kind, "state", state)
	}
	return s.reply(sn, in, d, &cp, dhcpv4.MessageTypeAck, now)
}

// record is the lease as the store keeps it.
func (l *lease) record() *store.Lease4 {
	rec := &store.Lease4{IP: l.ip.String(), MAC: macText(l.mac), Kind: l.kind, State: l.state,
		NetworkID: l.networkID, ModemID: l.modemID, RemoteID: l.remoteID, CircuitID: l.circuitID,
		Hostname: l.hostname, Starts: l.starts, Ends: l.expires}
	if strings.HasPrefix(l.client, "id:") {
		rec.ClientID = []byte(strings.TrimPrefix(l.client, "id:"))
	}
	if l.giaddr.IsValid() {
		rec.GiAddr = l.giaddr.String()
	}
	return rec
}

// release ends the client's lease of addr (RFC 2131 4.3.4).
func (s *Server) release(ctx context.Context, sn *snapshot, in inbound4, r Request4, client string, addr netip.Addr, now time.Time) error {
	return s.endLease(ctx, sn, in, client, addr, store.StateReleased, store.EventRelease, now)
}

// decline quarantines addr: the client found it in use (RFC 2131 4.3.3).
func (s *Server) decline(ctx context.Context, sn *snapshot, in inbound4, r Request4, client string, addr netip.Addr, now time.Time) error {
	s.log.Warn("address declined: another host uses it", "ip", addr, "mac", macText(r.MAC))
	return s.endLease(ctx, sn, in, client, addr, store.StateDeclined, store.EventDecline, now)
}

func (s *Server) endLease(ctx context.Context, sn *snapshot, in inbound4, client string, addr netip.Addr, state, event string, now time.Time) error {
	ls := s.leases
	ls.mu.Lock()
	l := ls.byClient[client]
	if l == nil || l.ip != addr || (l.state != store.StateActive && l.state != store.StateOffered) {
		ls.mu.Unlock()
		return drop("%s of %s: no such lease for the client", event, addr)
	}
	wasOffer := l.state == store.StateOffered
	ls.end(l, state, now, declineQuarantine)
	if state != store.StateDeclined {
		l.expires = now
	}
	cp := *l
	ls.mu.Unlock()
	if wasOffer && state != store.StateDeclined {
		return drop("%s of an offer", event)
	}
	op := store.LeaseOp{Event: event, V4: cp.record()}
	if m := sn.modemsID[cp.modemID]; m != nil {
		op.ModemMAC, op.CustomerID = m.macText, m.customerID
	}
	if err := s.commit4(ctx, in, op); err != nil {
		return fmt.Errorf("commit %s of %s: %w", event, addr, err)
	}
	return drop("%s done", event)
}

// refuse logs (once per state change would be better; debug per packet)
// and counts a device that gets nothing.
func (s *Server) refuseV4(r Request4, d Decision) {
	relay := ""
	if r.GiAddr.IsValid() {
		relay = r.GiAddr.String()
	}
	s.refuse(macText(r.MAC), relay, d.Refuse)
}

// leaseTime is the network's lease time, or less if the client asks for less.
func leaseTime(nw *network4, req *dhcpv4.DHCPv4) time.Duration {
	lt := nw.leaseTime
	if lt <= 0 {
		lt = 24 * time.Hour
	}
	if b := req.Options.Get(dhcpv4.OptionIPAddressLeaseTime); len(b) == 4 {
		if asked := time.Duration(binary.BigEndian.Uint32(b)) * time.Second; asked >= time.Minute && asked < lt {
			lt = asked
		}
	}
	return lt
}

// portalLease is the longest lease of a CPE on the registration portal:
// short, so that once its modem is registered it soon gets a real one.
const portalLease = 5 * time.Minute

// decisionLeaseTime is leaseTime, capped for the registration portal.
func decisionLeaseTime(d Decision, req *dhcpv4.DHCPv4) time.Duration {
	lt := leaseTime(d.Network, req)
	if d.Portal {
		lt = min(lt, portalLease)
	}
	return lt
}

// serverID is the server identifier for a reply: the configured one, else
// the address the request arrived on.
func (s *Server) serverID(sn *snapshot, in inbound4) netip.Addr {
	if sn.serverID.IsValid() {
		return sn.serverID
	}
	if in.local.IsValid() && in.local.Is4() && !in.local.IsUnspecified() {
		return in.local
	}
	return s.fallbackID
}

// reply builds an OFFER or ACK: addresses, the DOCSIS options and option
// 82 echoed byte for byte (RFC 3046).
func (s *Server) reply(sn *snapshot, in inbound4, d Decision, l *lease, mt dhcpv4.MessageType, now time.Time) (*dhcpv4.DHCPv4, error) {
	req := in.msg
	resp := newReply(req)
	resp.UpdateOption(dhcpv4.OptMessageType(mt))
	sid := s.serverID(sn, in)
	resp.UpdateOption(dhcpv4.OptServerIdentifier(sid.AsSlice()))
	nw := d.Network
	if l != nil {
		resp.YourIPAddr = l.ip.AsSlice()
		lt := l.expires.Sub(now)
		if mt == dhcpv4.MessageTypeOffer {
			lt = decisionLeaseTime(d, req)
		}
		secs := uint32(max(lt/time.Second, 1))
		resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionIPAddressLeaseTime, u32(secs)))
		resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionRenewTimeValue, u32(secs/2)))
		resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionRebindingTimeValue, u32(secs/8*7)))
	}
	resp.UpdateOption(dhcpv4.OptSubnetMask(net.CIDRMask(nw.maskBits, 32)))
	if nw.gateway.IsValid() {
		resp.UpdateOption(dhcpv4.OptRouter(nw.gateway.AsSlice()))
	}
	switch {
	case d.Portal:
		// Every name this CPE looks up leads to ip6m's registration page
		// (the DNS relay on the server's address answers so).
		resp.UpdateOption(dhcpv4.OptDNS(sid.AsSlice()))
	case len(nw.dns) > 0:
		resp.UpdateOption(dhcpv4.OptDNS(ips(nw.dns)...))
	}
	if nw.domain != "" {
		resp.UpdateOption(dhcpv4.OptDomainName(nw.domain))
	}
	resp.UpdateOption(dhcpv4.OptBroadcastAddress(nw.broadcast.AsSlice()))
	if d.Kind == store.KindCM || d.Kind == store.KindMTA || d.Walled {
		// DOCSIS: TFTP server and config file, time (RFC 868), syslog.
		tftp := sn.tftp
		if !tftp.IsValid() {
			tftp = sid
		}
		resp.ServerIPAddr = tftp.AsSlice()
		resp.BootFileName = d.File
		resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionTimeOffset, u32(uint32(nw.timeOffset))))
		if len(nw.time) > 0 {
			resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionTimeServer, ipBytes(nw.time)))
		}
		if len(nw.log) > 0 {
			resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionLogServer, ipBytes(nw.log)))
		}
	}
	if d.Kind == store.KindMTA {
		resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(122), option122(sid, sn.pktcProv, sn.pktcRealm, sn.pktcTimers)))
	}
	if rai := req.Options.Get(dhcpv4.OptionRelayAgentInformation); rai != nil {
		resp.Options[uint8(dhcpv4.OptionRelayAgentInformation)] = append([]byte(nil), rai...)
	}
	return resp, nil
}

// nak refuses a REQUEST (RFC 2131 4.3.2): only the server id and a message.
func (s *Server) nak(sn *snapshot, in inbound4, msg string) (*dhcpv4.DHCPv4, error) {
	req := in.msg
	resp := newReply(req)
	resp.UpdateOption(dhcpv4.OptMessageType(dhcpv4.MessageTypeNak))
	resp.UpdateOption(dhcpv4.OptServerIdentifier(s.serverID(sn, in).AsSlice()))
	resp.UpdateOption(dhcpv4.OptMessage(msg))
	resp.YourIPAddr, resp.ClientIPAddr = net.IPv4zero, net.IPv4zero
	if ip4(req.GatewayIPAddr).IsValid() {
		resp.SetBroadcast() // the relay broadcasts it on the client's link
	}
	if rai := req.Options.Get(dhcpv4.OptionRelayAgentInformation); rai != nil {
		resp.Options[uint8(dhcpv4.OptionRelayAgentInformation)] = append([]byte(nil), rai...)
	}
	s.stats.naks.Add(1)
	s.log.Debug("NAK", "mac", macText([6]byte(req.ClientHWAddr)), "reason", msg)
	return resp, nil
}

// newReply starts a BOOTREPLY to req: its xid, flags, chaddr and giaddr,
// and its client-identifier echoed (RFC 6842). (dhcpv4.NewReplyFromRequest
// draws a random xid from crypto/rand first, only to overwrite it.)
func newReply(req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	resp := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        req.HWType,
		TransactionID: req.TransactionID,
		Flags:         req.Flags,
		ClientHWAddr:  req.ClientHWAddr,
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: req.GatewayIPAddr,
		Options:       make(dhcpv4.Options, 16),
	}
	if resp.GatewayIPAddr == nil {
		resp.GatewayIPAddr = net.IPv4zero
	}
	if cid := req.Options.Get(dhcpv4.OptionClientIdentifier); cid != nil {
		resp.Options[uint8(dhcpv4.OptionClientIdentifier)] = cid
	}
	return resp
}

// parseRAI splits option 82 into its sub-options, refusing malformed ones.
func parseRAI(b []byte) (map[byte][]byte, error) {
	subs := map[byte][]byte{}
	for len(b) > 0 {
		if len(b) < 2 || int(b[1]) > len(b)-2 {
			return nil, errors.New("sub-option runs past the end")
		}
		code, n := b[0], int(b[1])
		subs[code] = b[2 : 2+n]
		b = b[2+n:]
	}
	return subs, nil
}

// option122 builds the PacketCable option (RFC 3495): sub-option 1 the
// primary DHCP server (this one), 3 the provisioning server (an IPv4
// address, type 1, or an FQDN, type 0), 4 and 5 the Kerberos backoffs when
// set, 6 the Kerberos realm, 7 no TGT, 8 the provisioning timer when set.
func option122(server netip.Addr, provisioner, realm string, t pktcTimers) []byte {
	var b []byte
	b = append(b, 1, 4)
	b = append(b, server.AsSlice()...)
	if a, err := netip.ParseAddr(provisioner); err == nil && a.Is4() {
		b = append(b, 3, 5, 1)
		b = append(b, a.AsSlice()...)
	} else if provisioner != "" {
		name := dnsName(provisioner)
		b = append(b, 3, byte(1+len(name)), 0)
		b = append(b, name...)
	} else {
		b = append(b, 3, 5, 1)
		b = append(b, server.AsSlice()...)
	}
	b = t.option122(b)
	if realm != "" {
		name := dnsName(realm)
		b = append(b, 6, byte(len(name)))
		b = append(b, name...)
	}
	b = append(b, 7, 1, 0)
	if t.provSet {
		b = append(b, 8, 1, byte(t.provTimer))
	}
	return b
}

// dnsName encodes a name in RFC 1035 wire format ("BASIC.1" →
// \x05BASIC\x011\x00), as option 122 wants.
func dnsName(s string) []byte {
	var b []byte
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 {
			continue
		}
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	return append(b, 0)
}

func ip4(b []byte) netip.Addr {
	if len(b) == 16 {
		b = b[12:]
	}
	if len(b) != 4 {
		return netip.Addr{}
	}
	a := netip.AddrFrom4([4]byte(b))
	if a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}

func ips(as []netip.Addr) []net.IP {
	out := make([]net.IP, len(as))
	for i, a := range as {
		out[i] = a.AsSlice()
	}
	return out
}

func ipBytes(as []netip.Addr) []byte {
	var b []byte
	for _, a := range as {
		b = append(b, a.AsSlice()...)
	}
	return b
}

func u32(v uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return b[:]
}

// hexColons prints bytes as dhcpd's log did: 44:32:c8:21:9:e7 style, with
// two digits per byte here.
func hexColons(b []byte) string {
	const hexdig = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b))
	for i, x := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hexdig[x>>4], hexdig[x&0xf])
	}
	return string(out)
}

// sanitizeHostname keeps a client's host name printable and short.
func sanitizeHostname(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7f && b.Len() < 63 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
