package dhcpdconf

import (
	"net/netip"
	"strconv"
	"strings"
)

// option reads "option NAME VALUE…;": the network options ip6m keeps per
// network, the PacketCable option 122 values it keeps as settings, and
// notes for the rest.
func (w *walker) option(s *Stmt, in where) {
	a := s.Args
	if len(a) < 2 {
		w.fail(s.Pos, "option needs a name")
		return
	}
	name := strings.ToLower(a[1].Text)
	if name == "space" || name == "code" || len(a) >= 4 && a[2].isWord("code") {
		w.rep.note("option definition", s.Pos, "option definitions and option spaces: not needed, ip6m knows the DHCP and PacketCable (option 122) options it sends")
		return
	}
	var vals []Token
	for _, t := range a[2:] {
		if !t.is(Punct, ",") {
			vals = append(vals, t)
		}
	}
	if len(vals) == 0 || len(vals) == 1 && vals[0].Kind == String && vals[0].Text == "" {
		w.rep.note("novalue "+name, s.Pos, "option %s has no value: ignored", a[1].Text)
		return
	}
	own := &in.sc.own
	switch name {
	case "routers", "domain-name-servers", "time-servers", "log-servers":
		addrs := w.addrs(s, name, vals)
		if addrs == nil {
			return
		}
		v := &addrsAt{s.Pos, addrs}
		switch name {
		case "routers":
			own.routers = v
		case "domain-name-servers":
			own.dns = v
		case "time-servers":
			own.timeSrv = v
		default:
			own.logSrv = v
		}
	case "time-offset":
		n, err := strconv.ParseInt(vals[0].Text, 10, 64)
		if len(vals) != 1 || vals[0].Kind != Number || err != nil {
			w.fail(s.Pos, "option time-offset needs a number of seconds")
			return
		}
		own.timeOffset = &intAt{s.Pos, n}
	case "domain-name":
		if len(vals) != 1 || vals[0].Kind != String {
			w.fail(s.Pos, `option domain-name needs a quoted name: option domain-name "example.net";`)
			return
		}
		own.domain = &textAt{s.Pos, strings.TrimSpace(vals[0].Text)}
	case "subnet-mask", "broadcast-address":
		w.rep.note("implied "+name, s.Pos, "option %s: implied by the subnet's prefix (ip6m derives it)", name)
	case "tftp-server-name":
		// Option 66: an address here is where modems fetch their configs.
		if a, err := netip.ParseAddr(vals[0].Text); err == nil && a.Is4() && vals[0].Kind == String {
			w.opt66 = &textAt{s.Pos, a.String()}
			return
		}
		w.unmapped(s, "ip6m sends siaddr (next-server) for TFTP, not a server name")
	case "vendor-class-identifier", "dhcp-parameter-request-list", "host-name":
		w.unmapped(s, "ip6m sets it itself")
	default:
		if strings.HasPrefix(name, "packetcable.") {
			own.pktc = true
			w.packetcable(s, strings.TrimPrefix(name, "packetcable."), vals)
			return
		}
		w.unmapped(s, "")
	}
}

// addrs reads a list of IPv4 addresses; host names are skipped with a note.
func (w *walker) addrs(s *Stmt, name string, vals []Token) []netip.Addr {
	var out []netip.Addr
	for _, t := range vals {
		a, err := netip.ParseAddr(t.Text)
		if err != nil || !a.Is4() || t.Kind != Word {
			w.rep.note("addr "+name, s.Pos, "option %s %s: not an IPv4 address, skipped (host names are not resolved on import)", name, tokenText(t))
			continue
		}
		out = append(out, a)
	}
	return out
}

// packetcable maps the option 122 sub-options ip6m sends (RFC 3495).
func (w *walker) packetcable(s *Stmt, sub string, vals []Token) {
	switch sub {
	case "primary-dhcp-server":
		if a, err := netip.ParseAddr(vals[0].Text); err == nil && a.Is4() && len(vals) == 1 {
			if w.primary == nil {
				w.primary = &textAt{s.Pos, a.String()}
			}
			return
		}
		w.fail(s.Pos, "option packetcable.primary-dhcp-server %s is not an IPv4 address", tokenText(vals[0]))
	case "provisioning-server":
		// { boolean, ip-address }: "true 10.0.0.10"; or raw bytes, type 0
		// (FQDN, wire form) or 1 (IPv4); or a quoted FQDN.
		var prov string
		switch {
		case len(vals) == 2 && (vals[0].isWord("true") || vals[0].isWord("on") || vals[0].Text == "1"):
			if a, err := netip.ParseAddr(vals[1].Text); err == nil && a.Is4() {
				prov = a.String()
			}
		case len(vals) == 1 && vals[0].Kind == Hex:
			b, _ := hexBytes(vals[0].Text)
			switch {
			case len(b) == 5 && b[0] == 1:
				prov = netip.AddrFrom4([4]byte(b[1:])).String()
			case len(b) > 1 && b[0] == 0:
				prov, _ = wireName(b[1:])
			}
		case len(vals) == 1 && vals[0].Kind == String:
			if n, ok := wireName([]byte(vals[0].Text)); ok {
				prov = n
			} else if isDNSName(vals[0].Text) {
				prov = vals[0].Text
			}
		}
		if prov == "" {
			w.rep.note("pktc prov", s.Pos, "option packetcable.provisioning-server without an address or name: ignored (ip6m names itself)")
			return
		}
		w.setting(SettingPktcProv, s.Pos, prov, "packetcable.provisioning-server")
	case "kerberos-realm-name":
		var b []byte
		switch vals[0].Kind {
		case Hex:
			b, _ = hexBytes(vals[0].Text)
		case String:
			b = []byte(vals[0].Text)
		}
		realm, ok := wireName(b)
		if !ok && vals[0].Kind == String && isDNSName(vals[0].Text) {
			realm, ok = vals[0].Text, true
		}
		if !ok || len(vals) != 1 {
			w.fail(s.Pos, "option packetcable.kerberos-realm-name %s is not a realm in DNS wire form (\"\\005BASIC\\0011\\000\")", tokenText(vals[0]))
			return
		}
		w.setting(SettingPktcRealm, s.Pos, realm, "packetcable.kerberos-realm-name")
	case "kerberos-use-tgt":
		if vals[0].isWord("false") || vals[0].isWord("off") || vals[0].Text == "0" {
			return // what ip6m sends
		}
		w.rep.note("pktc tgt", s.Pos, "option packetcable.kerberos-use-tgt %s: ip6m always sends false (sub-option 7 = 0)", vals[0].Text)
	case "secondary-dhcp-server":
		w.rep.note("pktc "+sub, s.Pos, "option packetcable.%s: not mapped (ip6m sends itself as the only DHCP server, sub-option 1)", sub)
	default:
		w.rep.note("pktc "+sub, s.Pos, "option packetcable.%s: not mapped (ip6m sends sub-options 1, 3, 6 and 7)", sub)
	}
}

// wireName decodes a DNS name in wire form ("\005BASIC\0011\000" →
// "BASIC.1").
func wireName(b []byte) (string, bool) {
	var labels []string
	for i := 0; i < len(b); {
		n := int(b[i])
		if n == 0 {
			return strings.Join(labels, "."), i == len(b)-1 && len(labels) > 0
		}
		if n > 63 || i+1+n > len(b) {
			return "", false
		}
		l := string(b[i+1 : i+1+n])
		if !isDNSName(l) {
			return "", false
		}
		labels = append(labels, l)
		i += 1 + n
	}
	return "", false
}

// isDNSName reports whether s is printable and dotted: letters, digits,
// hyphens, dots.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}
