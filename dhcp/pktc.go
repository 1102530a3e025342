package dhcp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// PacketCable eMTA provisioning values, shared by DHCPv4 option 122
// (RFC 3495) and the DHCPv6 CableLabs sub-options 2170 and 2171 of option
// 17 (CL-SP-CANN-DHCP-Reg; PacketCable provisioning).
//
// The v6 forms, as the registry defines them (sub-option codes and lengths
// are two bytes each, unlike option 122's one):
//
//	2170 CCC: the eMTA's DHCPv4 servers
//	  1  primary DHCP server, IPv4 address
//	  2  secondary DHCP server, IPv4 address
//	2171 CCCv6:
//	  1  primary DHCPv6 server selector ID (DSS_ID)
//	  2  secondary DHCPv6 server selector ID
//	  3  provisioning server: type 0 + FQDN (DNS wire form), or type 1 + IPv6 address
//	  4  AS-REQ/AS-REP backoff and retry: nominal timeout (ms), maximum timeout (s), maximum retries, 32 bits each
//	  5  AP-REQ/AP-REP backoff and retry: the same three values
//	  6  Kerberos realm, DNS wire form
//	  7  ticket granting server utilization: 1 byte, 0 = no TGT
//	  8  provisioning timer, minutes (0..30), 1 byte
//	  9  security ticket control, 16 bits
const (
	clCCC   = 2170
	clCCCv6 = 2171

	cccPrimaryDHCP = 1

	ccc6PrimaryDSS = 1
	ccc6ProvServer = 3
	ccc6ASBackoff  = 4
	ccc6APBackoff  = 5
	ccc6Realm      = 6
	ccc6TGT        = 7
	ccc6ProvTimer  = 8
)

// Settings keys for the optional PacketCable timers (unset: not sent, the
// eMTA uses its defaults).
const (
	SettingPktcASBackoff = "pktc.as_backoff" // "nominal ms, max s, retries" (122.4, 2171.4)
	SettingPktcAPBackoff = "pktc.ap_backoff" // the same for AP-REQ/AP-REP (122.5, 2171.5)
	SettingPktcProvTimer = "pktc.prov_timer" // minutes 0..30 (122.8, 2171.8)
)

// backoff is a Kerberos backoff-and-retry triple.
type backoff struct {
	nominalMS, maxS, retries uint32
	set                      bool
}

func (b backoff) bytes() []byte {
	out := make([]byte, 12)
	binary.BigEndian.PutUint32(out, b.nominalMS)
	binary.BigEndian.PutUint32(out[4:], b.maxS)
	binary.BigEndian.PutUint32(out[8:], b.retries)
	return out
}

// CheckBackoff reports whether s is a valid backoff setting.
func CheckBackoff(s string) error { _, err := parseBackoff(s); return err }

// CheckProvTimer reports whether s is a valid provisioning timer setting.
func CheckProvTimer(s string) error { _, _, err := parseProvTimer(s); return err }

// parseBackoff reads "nominal ms, max s, retries" ("" is unset).
func parseBackoff(s string) (backoff, error) {
	if strings.TrimSpace(s) == "" {
		return backoff{}, nil
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(parts) != 3 {
		return backoff{}, fmt.Errorf("%q: want three numbers: nominal timeout in ms, maximum timeout in s, maximum retries", s)
	}
	var v [3]uint32
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return backoff{}, fmt.Errorf("%q: %q is not a number", s, p)
		}
		v[i] = uint32(n)
	}
	return backoff{nominalMS: v[0], maxS: v[1], retries: v[2], set: true}, nil
}

// parseProvTimer reads the provisioning timer in minutes ("" is unset).
func parseProvTimer(s string) (n int, set bool, err error) {
	if strings.TrimSpace(s) == "" {
		return 0, false, nil
	}
	n, err = strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 30 {
		return 0, false, fmt.Errorf("%q: want minutes from 0 to 30", s)
	}
	return n, true, nil
}

// pktcTimers are the optional timer sub-options.
type pktcTimers struct {
	as, ap    backoff
	provTimer int
	provSet   bool
}

// option122 appends the backoffs that are set to option 122 (one-byte
// codes), in sub-option order.
func (t pktcTimers) option122(b []byte) []byte {
	if t.as.set {
		b = append(append(b, 4, 12), t.as.bytes()...)
	}
	if t.ap.set {
		b = append(append(b, 5, 12), t.ap.bytes()...)
	}
	return b
}

// sub6 appends a CableLabs sub-option (two-byte code and length).
func sub6(b []byte, code uint16, data []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, code)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// optionCCC builds sub-option 2170's data: the primary DHCPv4 server, as
// option 122.1 names it. Empty when the server's IPv4 address is unknown.
func optionCCC(server4 netip.Addr) []byte {
	if !server4.Is4() {
		return nil
	}
	return sub6(nil, cccPrimaryDHCP, server4.AsSlice())
}

// optionCCCv6 builds sub-option 2171's data from the values option 122
// uses: this server as the primary DHCPv6 server (its DUID is what a v6
// client selects a server by), the provisioning server (an IPv6 address,
// a name, or else this server's IPv6 address), the Kerberos realm, no TGT,
// and the timers that are set.
func optionCCCv6(duid []byte, server6 netip.Addr, provisioner, realm string, t pktcTimers) []byte {
	var b []byte
	if len(duid) > 0 {
		b = sub6(b, ccc6PrimaryDSS, duid)
	}
	a, err := netip.ParseAddr(provisioner)
	switch {
	case err == nil && a.Is6() && !a.Is4In6():
		b = sub6(b, ccc6ProvServer, append([]byte{1}, a.AsSlice()...))
	case err != nil && provisioner != "":
		b = sub6(b, ccc6ProvServer, append([]byte{0}, dnsName(provisioner)...))
	case server6.IsValid():
		// Empty, or an IPv4 provisioner a v6 eMTA cannot reach: this server.
		b = sub6(b, ccc6ProvServer, append([]byte{1}, server6.AsSlice()...))
	}
	if t.as.set {
		b = sub6(b, ccc6ASBackoff, t.as.bytes())
	}
	if t.ap.set {
		b = sub6(b, ccc6APBackoff, t.ap.bytes())
	}
	if realm != "" {
		b = sub6(b, ccc6Realm, dnsName(realm))
	}
	b = sub6(b, ccc6TGT, []byte{0})
	if t.provSet {
		b = sub6(b, ccc6ProvTimer, []byte{byte(t.provTimer)})
	}
	return b
}
