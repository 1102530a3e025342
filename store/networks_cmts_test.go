package store

import (
	"net/netip"
	"testing"
)

func TestCMTSOf(t *testing.T) {
	nets := []Network{
		{CMTSID: 1, Prefix: "10.0.0.0/8"},
		{CMTSID: 2, Prefix: "10.20.0.0/16"},
		{CMTSID: 0, Prefix: "10.20.1.0/24"}, // the server's own: no CMTS
		{CMTSID: 3, Prefix: "2001:db8:4:11::/64"},
		{CMTSID: 4, Prefix: "not a prefix"},
	}
	for addr, want := range map[string]int64{
		"10.1.2.3": 1, "10.20.1.5": 2, "10.20.9.9": 2, "::ffff:10.20.0.1": 2,
		"2001:db8:4:11::4432:c821:9e7": 3, "192.0.2.1": 0,
	} {
		if got := CMTSOf(nets, netip.MustParseAddr(addr)); got != want {
			t.Errorf("CMTSOf(%s) = %d, want %d", addr, got, want)
		}
	}
}
