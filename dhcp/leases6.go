package dhcp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"ip6m/store"
)

// binding is one IA_NA address or IA_PD prefix held by a client's IA.
type binding struct {
	key       string // type|duid|iaid
	typ       string // "na" or "pd"
	prefix    netip.Prefix
	duid      []byte
	iaid      uint32
	mac       [6]byte
	kind      string
	state     string
	networkID int64
	modemID   int64
	link      netip.Addr
	remoteID  []byte
	starts    time.Time
	expires   time.Time
	// counted says the binding is in its modem's CPE index (under
	// countedModem, in case the binding later names another modem).
	counted      bool
	countedModem int64
}

func (b *binding) live(now time.Time) bool {
	return (b.state == store.StateActive || b.state == store.StateOffered) && b.expires.After(now)
}

func (b *binding) record() *store.Lease6 {
	l := &store.Lease6{Type: b.typ, Address: b.prefix.Addr().String(), PrefixLen: b.prefix.Bits(), DUID: b.duid, IAID: b.iaid,
		Kind: b.kind, State: b.state, NetworkID: b.networkID, ModemID: b.modemID, RemoteID: b.remoteID, Starts: b.starts, Ends: b.expires}
	if b.mac != ([6]byte{}) {
		l.MAC = macText(b.mac)
	}
	if b.link.IsValid() {
		l.LinkAddress = b.link.String()
	}
	return l
}

// maxScan bounds the search for a free address or prefix in one request.
const maxScan = 1 << 16

// span6 is how many /plen prefixes there are from first to last
// (inclusive), at most maxScan: one round of a range or pool.
func span6(first, last netip.Addr, plen int) int {
	if plen < 1 || plen > 128 || last.Less(first) {
		return 0
	}
	a, b := first.As16(), last.As16()
	// last - first as 128 bits, shifted right by 128 - plen.
	lo, borrow := bits.Sub64(binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(a[8:]), 0)
	hi, _ := bits.Sub64(binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(a[:8]), borrow)
	switch sh := uint(128 - plen); {
	case sh >= 64:
		lo, hi = hi>>(sh-64), 0
	case sh > 0:
		lo, hi = lo>>sh|hi<<(64-sh), hi>>sh
	}
	if hi != 0 || lo >= maxScan-1 {
		return maxScan
	}
	return int(lo) + 1
}

// bindings is the v6 allocator: who holds which address or prefix.
type bindings struct {
	mu         sync.Mutex
	byPrefix   map[netip.Prefix]*binding
	byKey      map[string]*binding
	cursor     map[string]netip.Prefix
	quarantine map[netip.Prefix]time.Time
	// cpes indexes, per modem, the distinct CPE DUIDs that hold or are
	// offered a binding behind it, with how many bindings each holds (an
	// eRouter's IA_NA and IA_PD are one CPE). It is kept on every state
	// change, so the max-CPE check is a map lookup, not a scan.
	cpes map[int64]map[string]int
}

func newBindings() *bindings {
	return &bindings{byPrefix: map[netip.Prefix]*binding{}, byKey: map[string]*binding{}, cursor: map[string]netip.Prefix{},
		quarantine: map[netip.Prefix]time.Time{}, cpes: map[int64]map[string]int{}}
}

// recount puts b in its modem's CPE index or takes it out, after any
// change of its state, kind or modem. The caller holds bs.mu.
func (bs *bindings) recount(b *binding) {
	want := b.kind == store.KindCPE && b.modemID != 0 && (b.state == store.StateActive || b.state == store.StateOffered)
	if b.counted && (!want || b.countedModem != b.modemID) {
		bs.uncount(b)
	}
	if want && !b.counted {
		set := bs.cpes[b.modemID]
		if set == nil {
			set = map[string]int{}
			bs.cpes[b.modemID] = set
		}
		set[string(b.duid)]++
		b.counted, b.countedModem = true, b.modemID
	}
}

// uncount takes b out of the CPE index (the binding ends or is dropped).
func (bs *bindings) uncount(b *binding) {
	if !b.counted {
		return
	}
	set := bs.cpes[b.countedModem]
	if set[string(b.duid)]--; set[string(b.duid)] <= 0 {
		delete(set, string(b.duid))
	}
	if len(set) == 0 {
		delete(bs.cpes, b.countedModem)
	}
	b.counted = false
}

// cpeCount is how many distinct CPEs (DUIDs) other than duid hold or are
// offered bindings behind the modem. The caller holds bs.mu.
func (bs *bindings) cpeCount(modemID int64, duid []byte) int {
	set := bs.cpes[modemID]
	n := len(set)
	if set[string(duid)] > 0 {
		n--
	}
	return n
}

func iaKey(typ string, duid []byte, iaid uint32) string {
	return string(appendIAKey(make([]byte, 0, len(typ)+2*len(duid)+12), typ, duid, iaid))
}

// appendIAKey appends iaKey's key: fmt.Sprintf("%s|%x|%d", typ, duid,
// iaid), without fmt (it is built for every IA of every message).
func appendIAKey(b []byte, typ string, duid []byte, iaid uint32) []byte {
	b = append(append(b, typ...), '|')
	b = append(hex.AppendEncode(b, duid), '|')
	return strconv.AppendUint(b, uint64(iaid), 10)
}

// key is iaKey, the bound one's string when the IA has a binding (most
// messages of an exchange find the one its Solicit made). bs.mu is held.
func (bs *bindings) key(typ string, duid []byte, iaid uint32) string {
	var buf [64]byte
	k := appendIAKey(buf[:0], typ, duid, iaid)
	if b := bs.byKey[string(k)]; b != nil {
		return b.key
	}
	return string(k)
}

func (bs *bindings) load(list []store.Lease6, now time.Time) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	for _, l := range list {
		a, err := netip.ParseAddr(l.Address)
		if err != nil {
			continue
		}
		b := &binding{key: iaKey(l.Type, l.DUID, l.IAID), typ: l.Type, prefix: netip.PrefixFrom(a, l.PrefixLen), duid: l.DUID, iaid: l.IAID,
			kind: l.Kind, state: l.State, networkID: l.NetworkID, modemID: l.ModemID, remoteID: l.RemoteID, starts: l.Starts, expires: l.Ends}
		b.mac, _ = store.MACBytes(l.MAC)
		b.link, _ = netip.ParseAddr(l.LinkAddress)
		switch {
		case l.State == store.StateDeclined:
			bs.quarantine[b.prefix] = l.Ends
			continue
		case l.State == store.StateOffered, l.State == store.StateActive && !l.Ends.After(now):
			b.state = store.StateExpired
		}
		if old := bs.byKey[b.key]; old != nil {
			bs.uncount(old)
		}
		bs.byPrefix[b.prefix] = b
		bs.byKey[b.key] = b
		bs.recount(b)
	}
}

// free reports whether p may go to the IA key.
func (bs *bindings) free(p netip.Prefix, key string, now time.Time) bool {
	if until, ok := bs.quarantine[p]; ok && until.After(now) {
		return false
	}
	b, ok := bs.byPrefix[p]
	return !ok || b.key == key || !b.live(now)
}

// pickNA chooses an address for an IA_NA: the reservation, the one it had,
// else the next free one in the network's ranges.
func (bs *bindings) pickNA(key string, d decision6, now time.Time) (netip.Prefix, bool) {
	if d.fixed.IsValid() {
		p := netip.PrefixFrom(d.fixed, 128)
		return p, bs.free(p, key, now)
	}
	if b := bs.byKey[key]; b != nil && d.na.prefix.Contains(b.prefix.Addr()) && inRanges6(d.na, b.prefix.Addr()) && bs.free(b.prefix, key, now) {
		return b.prefix, true
	}
	for _, r := range d.na.ranges {
		ck := "na|" + r.first.String() + "|" + r.last.String()
		next, ok := bs.cursor[ck]
		if !ok {
			next = netip.PrefixFrom(r.first, 128)
		}
		// At most once round the range: a range used up costs its size,
		// not maxScan, per request (under the lock every request takes).
		for i, steps := 0, span6(r.first, r.last, 128); i < steps; i++ {
			if !next.Addr().IsValid() || next.Addr().Compare(r.last) > 0 {
				next = netip.PrefixFrom(r.first, 128) // wrap once the range is used up
			}
			p := next
			next = netip.PrefixFrom(p.Addr().Next(), 128)
			if bs.free(p, key, now) {
				bs.cursor[ck] = next
				return p, true
			}
		}
		bs.cursor[ck] = next
	}
	return netip.Prefix{}, false
}

func inRanges6(nw *network6, a netip.Addr) bool {
	for _, r := range nw.ranges {
		if r.contains(a) {
			return true
		}
	}
	return false
}

// pickPD chooses a delegated prefix: the one the IA had (a router gets the
// same prefix back while it is free), else the next free one in the pools.
func (bs *bindings) pickPD(key string, nets []*network6, reserved map[netip.Prefix]int64, now time.Time) (netip.Prefix, *network6, bool) {
	if b := bs.byKey[key]; b != nil && bs.free(b.prefix, key, now) && reserved[b.prefix] == 0 {
		for _, n := range nets {
			for _, pool := range n.pools {
				if pool.contains(b.prefix) {
					return b.prefix, n, true
				}
			}
		}
	}
	for _, n := range nets {
		for _, pool := range n.pools {
			ck := fmt.Sprintf("pd|%s|%s|%d", pool.first, pool.last, pool.bits)
			next, ok := bs.cursor[ck]
			if !ok {
				next = netip.PrefixFrom(pool.first, pool.bits)
			}
			for i, steps := 0, span6(pool.first, pool.last, pool.bits); i < steps; i++ {
				if !next.IsValid() || next.Addr().Compare(pool.last) > 0 {
					next = netip.PrefixFrom(pool.first, pool.bits)
				}
				p := next
				var more bool
				if next, more = nextPrefix(p); !more {
					next = netip.Prefix{}
				}
				if bs.free(p, key, now) && reserved[p] == 0 {
					bs.cursor[ck] = next
					return p, n, true
				}
			}
			bs.cursor[ck] = next
		}
	}
	return netip.Prefix{}, nil, false
}

// pdNetwork is the network a delegated prefix's lifetimes come from: the
// one whose pool holds it, else the first with pools, else the IA_NA's.
func pdNetwork(d decision6, p netip.Prefix) *network6 {
	for _, n := range d.pd {
		for _, pool := range n.pools {
			if pool.contains(p) {
				return n
			}
		}
	}
	if len(d.pd) > 0 {
		return d.pd[0]
	}
	return d.na
}

// bind records p for the IA (moving the IA off any other prefix).
func (bs *bindings) bind(p netip.Prefix, key string, update func(*binding)) *binding {
	b := bs.byPrefix[p]
	if b == nil || b.key != key {
		if old := bs.byKey[key]; old != nil && old.prefix != p {
			bs.uncount(old)
			delete(bs.byPrefix, old.prefix)
		}
		if b != nil {
			bs.uncount(b) // the prefix's previous holder, no longer live
			if bs.byKey[b.key] == b {
				delete(bs.byKey, b.key)
			}
		}
		b = &binding{key: key, prefix: p}
		bs.byPrefix[p] = b
	}
	bs.byKey[key] = b
	update(b)
	return b
}

// sweep ends bindings past their valid lifetime.
func (bs *bindings) sweep(now time.Time) []binding {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	var out []binding
	for _, b := range bs.byPrefix {
		if b.expires.After(now) {
			continue
		}
		switch b.state {
		case store.StateActive:
			b.state = store.StateExpired
			bs.recount(b)
			out = append(out, *b)
		case store.StateOffered:
			b.state = store.StateExpired
			bs.recount(b)
		}
	}
	for p, until := range bs.quarantine {
		if !until.After(now) {
			delete(bs.quarantine, p)
		}
	}
	return out
}

// lifetimes for a network: valid, preferred, T1, T2.
func lifetimes(nw *network6) (valid, pref, t1, t2 time.Duration) {
	valid = defaultValidLife
	if nw != nil && nw.validLife > 0 {
		valid = nw.validLife
	}
	return valid, valid, valid / 2, valid * 4 / 5
}

// assign answers the IA_NAs and IA_PDs of a Solicit, Request, Renew or
// Rebind, and returns the lease changes to commit (none for an
// Advertise). Renew and Rebind only extend what the IA holds. A new CPE
// behind a modem whose plan's CPE limit is reached gets no binding: its
// IAs carry NoAddrsAvail/NoPrefixAvail and refused says why.
func (s *Server6) assign(r *request6, d decision6, reply *dhcpv6.Message, now time.Time, commit, extendOnly bool) (ops []store.LeaseOp, refused string) {
	bs := s.binds
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if d.kind == store.KindCPE && d.modem != nil && !extendOnly {
		if n := bs.cpeCount(d.modem.id, r.duid); n >= d.maxCPE {
			refused = fmt.Sprintf("modem %s already has %d CPEs (its plan allows %d)", d.modem.macText, n, d.maxCPE)
			for _, ia := range r.msg.Options.IANA() {
				out := &dhcpv6.OptIANA{IaId: ia.IaId}
				out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: refused})
				reply.AddOption(out)
			}
			for _, ia := range r.msg.Options.IAPD() {
				out := &dhcpv6.OptIAPD{IaId: ia.IaId}
				out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoPrefixAvail, StatusMessage: refused})
				reply.AddOption(out)
			}
			return nil, refused
		}
	}
	record := func(b *binding, event string) {
		op := store.LeaseOp{Event: event, V6: b.record()}
		if d.modem != nil {
			op.ModemMAC, op.CustomerID = d.modem.macText, d.modem.customerID
		}
		ops = append(ops, op)
	}
	fill := func(b *binding, nw *network6, valid time.Duration) string {
		event := store.EventGrant
		if b.state == store.StateActive && b.expires.After(now) {
			event = store.EventRenew
		} else {
			b.starts = now
		}
		b.typ = b.key[:2]
		b.duid, b.kind, b.networkID = r.duid, d.kind, nw.id
		if r.macOK {
			b.mac = r.mac
		}
		if d.modem != nil {
			b.modemID = d.modem.id
		}
		b.link = r.link
		if !bytes.Equal(b.remoteID, r.remoteID) {
			b.remoteID = bytes.Clone(r.remoteID) // r's aliases the packet
		}
		if commit {
			b.state, b.expires = store.StateActive, now.Add(valid)
		} else if b.state != store.StateActive || !b.expires.After(now) {
			b.state, b.expires = store.StateOffered, now.Add(offerTTL)
		}
		bs.recount(b)
		return event
	}
	for _, ia := range r.msg.Options.IANA() {
		iaid := binary.BigEndian.Uint32(ia.IaId[:])
		out := &dhcpv6.OptIANA{IaId: ia.IaId}
		key := bs.key("na", r.duid, iaid)
		valid, pref, t1, t2 := lifetimes(d.na)
		var p netip.Prefix
		ok := d.na != nil
		if ok && extendOnly {
			b := bs.byKey[key]
			ok = b != nil && b.state == store.StateActive && bs.free(b.prefix, key, now) && d.na.prefix.Contains(b.prefix.Addr())
			if ok {
				p = b.prefix
			}
		} else if ok {
			p, ok = bs.pickNA(key, d, now)
		}
		switch {
		case !ok && extendOnly:
			out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoBinding, StatusMessage: "no binding for this IA"})
		case !ok:
			out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: "no address available"})
		default:
			b := bs.bind(p, key, func(b *binding) {})
			b.iaid = iaid
			event := fill(b, d.na, valid)
			out.T1, out.T2 = t1, t2
			out.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: p.Addr().AsSlice(), PreferredLifetime: pref, ValidLifetime: valid})
			if commit {
				record(b, event)
			}
		}
		reply.AddOption(out)
	}
	for _, ia := range r.msg.Options.IAPD() {
		iaid := binary.BigEndian.Uint32(ia.IaId[:])
		out := &dhcpv6.OptIAPD{IaId: ia.IaId}
		key := bs.key("pd", r.duid, iaid)
		var p netip.Prefix
		var nw *network6
		// The router behind a modem with a reserved prefix gets that one
		// while no other IA holds it.
		var mine netip.Prefix
		if d.kind == store.KindCPE && d.modem != nil && d.modem.prefix6.IsValid() && bs.free(d.modem.prefix6, key, now) {
			mine = d.modem.prefix6
		}
		ok := len(d.pd) > 0 || mine.IsValid() && d.na != nil
		if ok && extendOnly {
			b := bs.byKey[key]
			ok = b != nil && b.state == store.StateActive && bs.free(b.prefix, key, now)
			if ok {
				// A prefix since reserved for another modem's router is
				// not renewed: the router asks anew and gets another.
				if owner := d.reservedPD[b.prefix]; owner != 0 && (d.modem == nil || d.modem.id != owner) {
					ok = false
				}
			}
			if ok {
				p, nw = b.prefix, pdNetwork(d, b.prefix)
			}
		} else if ok && mine.IsValid() {
			p, nw = mine, pdNetwork(d, mine)
		} else if ok {
			p, nw, ok = bs.pickPD(key, d.pd, d.reservedPD, now)
		}
		switch {
		case !ok && extendOnly:
			out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoBinding, StatusMessage: "no binding for this IA"})
		case !ok:
			out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoPrefixAvail, StatusMessage: "no prefix available"})
		default:
			valid, pref, t1, t2 := lifetimes(nw)
			b := bs.bind(p, key, func(b *binding) {})
			b.iaid = iaid
			event := fill(b, nw, valid)
			out.T1, out.T2 = t1, t2
			pn := p.Masked()
			out.Options.Add(&dhcpv6.OptIAPrefix{PreferredLifetime: pref, ValidLifetime: valid,
				Prefix: &net.IPNet{IP: pn.Addr().AsSlice(), Mask: net.CIDRMask(pn.Bits(), 128)}})
			if commit {
				record(b, event)
			}
		}
		reply.AddOption(out)
	}
	return ops, ""
}

// release ends the IAs' bindings (Release), or quarantines them (Decline).
func (s *Server6) release(r *request6, d decision6, reply *dhcpv6.Message, now time.Time, decline bool) []store.LeaseOp {
	bs := s.binds
	bs.mu.Lock()
	defer bs.mu.Unlock()
	var ops []store.LeaseOp
	end := func(typ string, iaid uint32) bool {
		var buf [64]byte
		b := bs.byKey[string(appendIAKey(buf[:0], typ, r.duid, iaid))]
		if b == nil || !b.live(now) {
			return false
		}
		event, state := store.EventRelease, store.StateReleased
		b.expires = now
		if decline {
			event, state = store.EventDecline, store.StateDeclined
			bs.quarantine[b.prefix] = now.Add(declineQuarantine)
			b.expires = now.Add(declineQuarantine)
		}
		b.state = state
		bs.recount(b)
		op := store.LeaseOp{Event: event, V6: b.record()}
		if m := s.snap.Load().modemsID[b.modemID]; m != nil {
			op.ModemMAC, op.CustomerID = m.macText, m.customerID
		}
		ops = append(ops, op)
		return true
	}
	for _, ia := range r.msg.Options.IANA() {
		if !end("na", binary.BigEndian.Uint32(ia.IaId[:])) {
			out := &dhcpv6.OptIANA{IaId: ia.IaId}
			out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoBinding, StatusMessage: "no binding for this IA"})
			reply.AddOption(out)
		}
	}
	for _, ia := range r.msg.Options.IAPD() {
		if !end("pd", binary.BigEndian.Uint32(ia.IaId[:])) {
			out := &dhcpv6.OptIAPD{IaId: ia.IaId}
			out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoBinding, StatusMessage: "no binding for this IA"})
			reply.AddOption(out)
		}
	}
	reply.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusSuccess, StatusMessage: "done"})
	return ops
}
