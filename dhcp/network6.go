package dhcp

import (
	"fmt"
	"math/bits"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"ip6m/store"
)

// network6 is a v6 network with its values parsed for the hot path.
type network6 struct {
	id, cmtsID int64
	name       string
	purpose    string
	prefix     netip.Prefix
	ranges     []addrRange
	pools      []pdPool
	validLife  time.Duration
	dns        []netip.Addr
	time       []netip.Addr
	log        []netip.Addr
	timeOffset int32
	walled     bool
	// selfRegister: unknown modems get the registration config (their
	// CPE's DHCPv4 lease leads to the registration page).
	selfRegister bool
	// The options every reply on the network carries alike, made once
	// (nil when there is nothing to send): DNS servers (23) and the
	// CableLabs syslog servers, time servers and time offset.
	dnsOpt                     dhcpv6.Option
	logOpt, timeOpt, offsetOpt *dhcpv6.OptionGeneric
}

// pdPool is a range of delegated prefixes of one length.
type pdPool struct {
	first, last netip.Addr
	bits        int
}

func (p pdPool) contains(pf netip.Prefix) bool {
	return pf.Bits() == p.bits && p.first.Compare(pf.Addr()) <= 0 && pf.Addr().Compare(p.last) <= 0
}

func parseNetwork6(n store.Network) (*network6, error) {
	p, err := netip.ParsePrefix(n.Prefix)
	if err != nil {
		return nil, fmt.Errorf("network %d: %w", n.ID, err)
	}
	nw := &network6{id: n.ID, cmtsID: n.CMTSID, name: n.Name, purpose: n.Purpose, prefix: p.Masked(),
		validLife: time.Duration(n.LeaseTime) * time.Second, timeOffset: int32(n.TimeOffset), walled: n.UnknownPolicy == store.PolicyWalled}
	nw.selfRegister = nw.walled && n.SelfRegister
	for _, r := range n.Ranges {
		a, err1 := netip.ParseAddr(r.First)
		b, err2 := netip.ParseAddr(r.Last)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("network %s: bad range %s - %s", n.Prefix, r.First, r.Last)
		}
		nw.ranges = append(nw.ranges, addrRange{a, b})
	}
	for _, pp := range n.PDPools {
		a, err1 := netip.ParseAddr(pp.First)
		b, err2 := netip.ParseAddr(pp.Last)
		if err1 != nil || err2 != nil || pp.Len < 1 || pp.Len > 128 {
			return nil, fmt.Errorf("network %s: bad prefix pool %s - %s /%d", n.Prefix, pp.First, pp.Last, pp.Len)
		}
		nw.pools = append(nw.pools, pdPool{a, b, pp.Len})
	}
	if err := parseServers(n, &nw.dns, &nw.time, &nw.log); err != nil {
		return nil, err
	}
	if len(nw.dns) > 0 {
		nw.dnsOpt = dhcpv6.OptDNS(ip6s(nw.dns)...)
	}
	nw.logOpt = clSubOption(clSyslogServers, ipBytes(nw.log))
	nw.timeOpt = clSubOption(clTimeServers, ipBytes(nw.time))
	nw.offsetOpt = clSubOption(clTimeOffset, u32(uint32(nw.timeOffset)))
	return nw, nil
}

// clSubOption is a CableLabs sub-option of option 17, nil without data.
func clSubOption(code uint16, data []byte) *dhcpv6.OptionGeneric {
	if len(data) == 0 {
		return nil
	}
	return &dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionCode(code), OptionData: data}
}

// network6For returns the most specific v6 network containing a.
func (sn *snapshot) network6For(a netip.Addr) *network6 {
	var best *network6
	for _, n := range sn.nets6 {
		if n.prefix.Contains(a) && (best == nil || n.prefix.Bits() > best.prefix.Bits()) {
			best = n
		}
	}
	return best
}

// network6Of returns the CMTS's v6 network of a purpose, preferring the one
// containing hint.
func (sn *snapshot) network6Of(cmtsID int64, purpose string, hint netip.Addr) *network6 {
	var first *network6
	for _, n := range sn.nets6 {
		if n.cmtsID != cmtsID || n.purpose != purpose {
			continue
		}
		if hint.IsValid() && n.prefix.Contains(hint) {
			return n
		}
		if first == nil {
			first = n
		}
	}
	return first
}

// pdPoolsOf lists every prefix pool of a CMTS's v6 networks (the seed puts
// them in the CM prefix's subnet6; a CPE network may hold them too).
func (sn *snapshot) pdPoolsOf(cmtsID int64) []*network6 {
	var out []*network6
	for _, n := range sn.nets6 {
		if n.cmtsID == cmtsID && len(n.pools) > 0 {
			out = append(out, n)
		}
	}
	return out
}

// nextPrefix is the prefix of the same length after p (false past ::/0's end).
func nextPrefix(p netip.Prefix) (netip.Prefix, bool) {
	a := p.Addr().As16()
	// Add 1 at bit position p.Bits()-1 (counting from the most significant).
	bit := p.Bits() - 1
	hi := uint64(a[0])<<56 | uint64(a[1])<<48 | uint64(a[2])<<40 | uint64(a[3])<<32 | uint64(a[4])<<24 | uint64(a[5])<<16 | uint64(a[6])<<8 | uint64(a[7])
	lo := uint64(a[8])<<56 | uint64(a[9])<<48 | uint64(a[10])<<40 | uint64(a[11])<<32 | uint64(a[12])<<24 | uint64(a[13])<<16 | uint64(a[14])<<8 | uint64(a[15])
	var carry uint64
	if bit >= 64 {
		lo, carry = bits.Add64(lo, 1<<(127-bit), 0)
		hi, carry = bits.Add64(hi, 0, carry)
	} else {
		hi, carry = bits.Add64(hi, 1<<(63-bit), 0)
	}
	if carry != 0 {
		return netip.Prefix{}, false
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), p.Bits()), true
}
