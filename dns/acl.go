package dns

import (
	"context"
	"net/netip"
	"slices"
)

// Networks gives the client networks of the provisioned plant (CM, MTA and
// CPE subnets, delegated-prefix pools): when Config.AllowFrom is empty, these
// plus loopback are the networks whose clients get answers. main.go passes an
// adapter over the store.
type Networks interface {
	// NetworksVersion changes whenever the prefixes may have changed.
	NetworksVersion() int64
	// ClientPrefixes returns the networks clients ask from.
	ClientPrefixes(ctx context.Context) ([]netip.Prefix, error)
}

// loopback is always allowed when the allow list comes from Networks.
var loopback = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
}

// prefixSet answers "is this address in one of these prefixes" with one map
// lookup per distinct prefix length, so a long allow list costs the same as
// a short one.
type prefixSet struct {
	lengths []int // distinct prefix lengths, longest first
	set     map[netip.Prefix]struct{}
	all     []netip.Prefix // as given, masked and sorted, for logs and Stats
}

func newPrefixSet(ps []netip.Prefix) *prefixSet {
	s := &prefixSet{set: make(map[netip.Prefix]struct{}, len(ps))}
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		p = p.Masked()
		if _, dup := s.set[p]; dup {
			continue
		}
		s.set[p] = struct{}{}
		s.all = append(s.all, p)
		if !slices.Contains(s.lengths, p.Bits()) {
			s.lengths = append(s.lengths, p.Bits())
		}
	}
	slices.SortFunc(s.lengths, func(a, b int) int { return b - a })
	slices.SortFunc(s.all, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return s
}

// contains reports whether a is in the set. An IPv4-mapped IPv6 address (a
// dual-stack socket's view of an IPv4 peer) counts as the IPv4 address.
func (s *prefixSet) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, bits := range s.lengths {
		if bits > a.BitLen() {
			continue
		}
		p, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		if _, ok := s.set[p]; ok {
			return true
		}
	}
	return false
}
