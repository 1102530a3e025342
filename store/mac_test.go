package store

import (
	"net/netip"
	"strings"
	"testing"
)

var macAccepted = []struct {
	name, in, want string
}{
	{"colons", "44:32:c8:21:09:e7", "44:32:c8:21:09:e7"},
	{"colons upper", "44:32:C8:21:09:E7", "44:32:c8:21:09:e7"},
	{"dashes upper", "44-32-C8-21-09-E7", "44:32:c8:21:09:e7"},
	{"dashes lower", "00-1e-6b-e6-b4-a5", "00:1e:6b:e6:b4:a5"},
	{"cisco dots", "4432.c821.09e7", "44:32:c8:21:09:e7"},
	{"cisco dots upper", "4432.C821.09E7", "44:32:c8:21:09:e7"},
	{"bare", "4432c82109e7", "44:32:c8:21:09:e7"},
	{"bare upper", "001E6BE6B4A5", "00:1e:6b:e6:b4:a5"},
	{"dhcpd one-digit groups", "44:32:C8:21:9:E7", "44:32:c8:21:09:e7"},
	{"dhcpd all short", "0:1e:6b:e6:b4:a5", "00:1e:6b:e6:b4:a5"},
	{"dhcpd dashes short", "0-0-0-0-0-1", "00:00:00:00:00:01"},
	{"surrounding spaces", "  44:32:c8:21:09:e7  ", "44:32:c8:21:09:e7"},
	{"surrounding tab newline", "\t4432.c821.09e7\n", "44:32:c8:21:09:e7"},
	{"broadcast", "ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff"},
	{"zero", "000000000000", "00:00:00:00:00:00"},
}

var macRejected = []struct {
	name, in string
}{
	{"empty", ""},
	{"spaces only", "   "},
	{"5 groups", "44:32:c8:21:09"},
	{"7 groups", "44:32:c8:21:09:e7:01"},
	{"trailing colon", "44:32:c8:21:09:e7:"},
	{"empty group", "44:32::21:09:e7"},
	{"mixed separators", "44:32-c8:21:09:e7"},
	{"mixed colon and dot", "44:32:c8:21:09.e7"},
	{"mixed dash and dot", "4432-c821.09e7"},
	{"three-digit group", "44:32:c8:21:009:e7"},
	{"non-hex", "44:32:c8:21:09:g7"},
	{"non-hex bare", "4432c82109eg"},
	{"11 digits", "4432c82109e"},
	{"13 digits", "4432c82109e70"},
	{"short cisco group", "4432.c821.09e"},
	{"cisco 4 groups", "4432.c821.09e7.0000"},
	{"cisco 2 groups", "4432c821.09e7"},
	{"inner space", "44 32 c8 21 09 e7"},
	{"sign", "+4:32:c8:21:09:e7"},
	{"ipv6", "2001:db8::1"},
	{"ipv4", "10.0.0.1"},
	{"non-ascii", "4432c82109é"},
	{"eui-64", "44:32:c8:ff:fe:21:09:e7"},
}

func TestNormalizeMAC(t *testing.T) {
	for _, tc := range macAccepted {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeMAC(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeMAC(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			b, err := MACBytes(tc.in)
			if err != nil || formatMAC(b) != tc.want {
				t.Errorf("MACBytes(%q) = %x, %v", tc.in, b, err)
			}
		})
	}
}

func TestNormalizeMACRejects(t *testing.T) {
	for _, tc := range macRejected {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeMAC(tc.in)
			if err == nil {
				t.Fatalf("NormalizeMAC(%q) = %q, want an error", tc.in, got)
			}
			if got != "" {
				t.Errorf("NormalizeMAC(%q) returned %q with its error", tc.in, got)
			}
			// The error names the bad input (trimmed), or says it is empty.
			if in := strings.TrimSpace(tc.in); in == "" {
				if !strings.Contains(err.Error(), "empty") {
					t.Errorf("error %q does not say the MAC is empty", err)
				}
			} else if !strings.Contains(err.Error(), `"`+in+`"`) {
				t.Errorf("error %q does not quote the input %q", err, in)
			}
			if _, err := MACBytes(tc.in); err == nil {
				t.Errorf("MACBytes(%q) accepted it", tc.in)
			}
		})
	}
}

func TestDeriveIPv6(t *testing.T) {
	tests := []struct {
		prefix, mac, want string
	}{
		// The seed's dhcpd6.conf host entries.
		{"2001:db8:4:11::/64", "44:32:c8:21:09:e7", "2001:db8:4:11::4432:c821:9e7"},
		{"2001:db8:4:11::/64", "00:1e:6b:e6:b4:a5", "2001:db8:4:11::1e:6be6:b4a5"},
		{"2001:db8:4:11::/64", "4432.c841.8c67", "2001:db8:4:11::4432:c841:8c67"},
		// Host bits in the prefix are ignored; a /80 still has room for 48 bits.
		{"2001:db8:4:11::1/64", "44:32:c8:21:09:e7", "2001:db8:4:11::4432:c821:9e7"},
		{"2001:db8:4:11:aaaa::/80", "44-32-C8-21-09-E7", "2001:db8:4:11:aaaa:4432:c821:9e7"},
	}
	for _, tc := range tests {
		t.Run(tc.prefix+" "+tc.mac, func(t *testing.T) {
			// Compared as addresses: the seed writes 2001:db8:4:11::4432:c821:9e7,
			// RFC 5952 (and netip) 2001:db8:4:11:0:4432:c821:9e7; same address.
			got, err := DeriveIPv6(netip.MustParsePrefix(tc.prefix), tc.mac)
			if err != nil || got != netip.MustParseAddr(tc.want) {
				t.Fatalf("DeriveIPv6 = %v, %v; want %s", got, err, tc.want)
			}
		})
	}
	bad := []struct {
		name   string
		prefix netip.Prefix
		mac    string
		want   string
	}{
		{"prefix too long", netip.MustParsePrefix("2001:db8:4:11::/96"), "44:32:c8:21:09:e7", "/80 or shorter"},
		{"/128", netip.MustParsePrefix("2001:db8:4:11::1/128"), "44:32:c8:21:09:e7", "/80 or shorter"},
		{"IPv4 prefix", netip.MustParsePrefix("10.10.0.0/16"), "44:32:c8:21:09:e7", "not an IPv6 prefix"},
		{"zero prefix", netip.Prefix{}, "44:32:c8:21:09:e7", "not an IPv6 prefix"},
		{"bad MAC", netip.MustParsePrefix("2001:db8:4:11::/64"), "44:32:c8", `"44:32:c8"`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DeriveIPv6(tc.prefix, tc.mac)
			if err == nil {
				t.Fatalf("DeriveIPv6 = %v, want an error", got)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func FuzzNormalizeMAC(f *testing.F) {
	for _, tc := range macAccepted {
		f.Add(tc.in)
	}
	for _, tc := range macRejected {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeMAC(in)
		if err != nil {
			if got != "" {
				t.Fatalf("NormalizeMAC(%q) = %q with error %v", in, got, err)
			}
			return
		}
		if len(got) != 17 {
			t.Fatalf("NormalizeMAC(%q) = %q, not 17 characters", in, got)
		}
		again, err := NormalizeMAC(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeMAC(%q) = %q, but that re-normalises to %q, %v", in, got, again, err)
		}
		// The other notations of the same address agree.
		bare := strings.ReplaceAll(got, ":", "")
		for _, alt := range []string{strings.ToUpper(strings.ReplaceAll(got, ":", "-")), bare, bare[0:4] + "." + bare[4:8] + "." + bare[8:12]} {
			if n, err := NormalizeMAC(alt); err != nil || n != got {
				t.Fatalf("NormalizeMAC(%q) = %q, %v; want %q", alt, n, err, got)
			}
		}
	})
}
