package store

import (
	"fmt"
	"net/netip"
	"strings"
)

// NormalizeMAC accepts a 48-bit MAC address in any common notation and
// returns it in ip6m's canonical form, lower case with colons
// ("44:32:c8:21:09:e7"):
//
//	44:32:c8:21:09:e7   44-32-C8-21-09-E7   4432.c821.09e7   4432c82109e7
//	44:32:C8:21:9:E7 (dhcpd's binary-to-ascii form, one-digit groups)
func NormalizeMAC(s string) (string, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return "", fmt.Errorf("MAC address is empty")
	}
	var b [6]byte
	if !parseMAC(in, &b) {
		return "", fmt.Errorf("%q is not a MAC address (use e.g. 44:32:c8:21:09:e7, 44-32-C8-21-09-E7, 4432.c821.09e7 or 4432c82109e7)", in)
	}
	return formatMAC(b), nil
}

func parseMAC(s string, b *[6]byte) bool {
	switch {
	case strings.ContainsAny(s, ":-"):
		sep := ":"
		if strings.Contains(s, "-") {
			sep = "-"
		}
		parts := strings.Split(s, sep)
		if len(parts) != 6 {
			return false
		}
		for i, p := range parts {
			if len(p) < 1 || len(p) > 2 || !hexByte(p, &b[i]) {
				return false
			}
		}
		return true
	case strings.Contains(s, "."):
		parts := strings.Split(s, ".")
		if len(parts) != 3 {
			return false
		}
		for i, p := range parts {
			if len(p) != 4 || !hexByte(p[:2], &b[2*i]) || !hexByte(p[2:], &b[2*i+1]) {
				return false
			}
		}
		return true
	case len(s) == 12:
		for i := range 6 {
			if !hexByte(s[2*i:2*i+2], &b[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func hexByte(s string, out *byte) bool {
	var v byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return false
		}
		v = v<<4 | c
	}
	*out = v
	return true
}

// FormatMAC writes six bytes in the canonical form, 44:32:c8:21:09:e7.
func FormatMAC(b [6]byte) string { return formatMAC(b) }

func formatMAC(b [6]byte) string {
	const hexdig = "0123456789abcdef"
	out := make([]byte, 0, 17)
	for i, x := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hexdig[x>>4], hexdig[x&0xf])
	}
	return string(out)
}

// MACBytes returns the six bytes of a MAC in any accepted notation.
func MACBytes(s string) ([6]byte, error) {
	var b [6]byte
	if !parseMAC(strings.TrimSpace(s), &b) {
		return b, fmt.Errorf("%q is not a MAC address", s)
	}
	return b, nil
}

// DeriveIPv6 places a modem's MAC in the low 48 bits of the CM prefix, as the
// seed's dhcpd6 host entries do: 2001:db8:4:11::/64 and 44:32:c8:21:09:e7
// give 2001:db8:4:11::4432:c821:9e7.
func DeriveIPv6(prefix netip.Prefix, mac string) (netip.Addr, error) {
	if !prefix.Addr().Is6() || prefix.Bits() > 80 {
		return netip.Addr{}, fmt.Errorf("derive IPv6 for %s: %s is not an IPv6 prefix of /80 or shorter", mac, prefix)
	}
	b, err := MACBytes(mac)
	if err != nil {
		return netip.Addr{}, err
	}
	a, _ := DeriveIPv6From(prefix, b)
	return a, nil
}

// DeriveIPv6From is DeriveIPv6 for a MAC already parsed (a DHCP server's
// hot path); false when prefix is not an IPv6 prefix of /80 or shorter.
func DeriveIPv6From(prefix netip.Prefix, mac [6]byte) (netip.Addr, bool) {
	if !prefix.Addr().Is6() || prefix.Bits() > 80 {
		return netip.Addr{}, false
	}
	a := prefix.Masked().Addr().As16()
	copy(a[10:], mac[:])
	return netip.AddrFrom16(a), true
}
