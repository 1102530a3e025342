package dhcp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"ip6m/store"
)

func TestSpan6(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		first, last string
		bits, want  int
	}{
		{"2001:db8:4:100::", "2001:db8:4:200::", 64, 257},
		{"2001:db8:4:100::", "2001:db8:4:100::", 64, 1},
		{"2001:db8:4:100::", "2001:db8:4:1ff::", 56, 1},
		{"2001:db8:4:100::", "2001:db8:4:200::", 56, 2},
		{"2001:db8:4:11::2", "2001:db8:4:11::100", 128, 255},
		{"2001:db8:4:11::", "2001:db8:4:11:ffff:ffff:ffff:ffff", 128, maxScan},
		{"2001:db8::", "2001:db8:ffff:ff00::", 56, maxScan},
		{"2001:db8:0:ffff::", "2001:db8:1:1::", 64, 3}, // a borrow into the high half
		{"2001:db8:4:200::", "2001:db8:4:100::", 64, 0},
		{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, 2},
	} {
		if got := span6(a(tc.first), a(tc.last), tc.bits); got != tc.want {
			t.Errorf("span6(%s, %s, /%d) = %d, want %d", tc.first, tc.last, tc.bits, got, tc.want)
		}
	}
}

// BenchmarkPickPDExhausted is a request for a prefix when the pool is used
// up: one round of the pool (257 prefixes here), not maxScan steps, under
// the lock every DHCPv6 request takes.
func BenchmarkPickPDExhausted(b *testing.B) {
	bs := newBindings()
	nw := &network6{pools: []pdPool{{first: netip.MustParseAddr("2001:db8:4:100::"), last: netip.MustParseAddr("2001:db8:4:200::"), bits: 64}}}
	now := time.Now()
	for p, ok := netip.MustParsePrefix("2001:db8:4:100::/64"), true; ok && p.Addr().Compare(nw.pools[0].last) <= 0; p, ok = nextPrefix(p) {
		bs.bind(p, iaKey("pd", []byte(p.String()), 1), func(b *binding) { b.state, b.expires = store.StateActive, now.Add(time.Hour) })
	}
	for b.Loop() {
		if _, _, ok := bs.pickPD("pd|new|1", []*network6{nw}, nil, now); ok {
			b.Fatal("a prefix from a used-up pool")
		}
	}
}

// TestIAKey: the binding key is what fmt.Sprintf("%s|%x|%d") made, so
// bindings keyed before and after read the same.
func TestIAKey(t *testing.T) {
	for _, c := range []struct {
		typ  string
		duid []byte
		iaid uint32
	}{{"na", []byte{0, 3, 0, 1, 0x44, 0x32, 0xc8, 0x21, 0x09, 0xe7}, 1}, {"pd", nil, 0}, {"pd", []byte{0xff}, 4294967295}} {
		if got, want := iaKey(c.typ, c.duid, c.iaid), fmt.Sprintf("%s|%x|%d", c.typ, c.duid, c.iaid); got != want {
			t.Errorf("iaKey = %q, want %q", got, want)
		}
	}
}
