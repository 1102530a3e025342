package dhcp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"ip6m/store"
)

// ExportSource is what ExportDHCPD reads; *store.Store implements it.
type ExportSource interface {
	Inventory
	ListCMTS(ctx context.Context) ([]store.CMTS, error)
}

// ExportDHCPD writes an ISC dhcpd 4.x configuration equivalent to how
// this server answers, for operators who keep ISC dhcpd beside or instead of
// ip6m, as the original system generated one:
//
//   - the PacketCable option 122 space, set for MTAs as this server sends it;
//   - one shared-network per CMTS holding its v4 subnets (the CMTS relays
//     CMs, MTAs and CPEs from addresses on one cable interface);
//   - classes: DOCSIS modems and PacketCable MTAs by vendor class, and per
//     plan a class of CPEs spawned by the relay's remote-id (the modem's
//     MAC) with "lease limit" = the plan's maximum CPE count — the seed's
//     "remote-id is a known modem" rule with max-CPE on top;
//   - a pool per dynamic range: CM pools for known modems (and unknown ones
//     too when the network's policy is the walled garden), MTA pools for
//     MTAs, CPE pools for the CPEs of enabled modems;
//   - a host per modem, MTA and registered CPE: hardware ethernet, fixed
//     address, config file; disabled modems get the walled-garden file, or
//     "deny booting" when the policy is to ignore them.
//
// What dhcpd cannot say the same way is written as a comment.
func ExportDHCPD(ctx context.Context, src ExportSource, w io.Writer, version string, at time.Time) error {
	sn, err := loadSnapshot(ctx, src)
	if err != nil {
		return err
	}
	cmtsList, err := src.ListCMTS(ctx)
	if err != nil {
		return err
	}
	plans, err := src.ListPlans(ctx)
	if err != nil {
		return err
	}
	mtas, _, err := src.ListMTAs(ctx, 0, store.Page{})
	if err != nil {
		return err
	}
	cpes, _, err := src.ListCPEs(ctx, 0, store.Page{})
	if err != nil {
		return err
	}
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }

	sid := sn.serverID
	p("# ISC dhcpd.conf written by ip6m %s on %s.\n", version, at.UTC().Format(time.RFC3339))
	p("# It hands out what ip6m's DHCPv4 server would; ip6m builds the config files it names over TFTP.\n\n")
	p("authoritative;\nddns-update-style none;\nlog-facility local7;\n")
	p(`log(info, concat("LEASE LOG|", pick-first-value(binary-to-ascii(10, 8, ".", leased-address), ""), "|", binary-to-ascii(16, 8, ":", option agent.remote-id), "|", binary-to-ascii(16, 8, ":", option dhcp-client-identifier)));` + "\n")
	if sid.IsValid() {
		p("server-identifier %s;\n", sid)
	}
	tftp := sn.tftp
	if !tftp.IsValid() {
		tftp = sid
	}
	if tftp.IsValid() {
		p("next-server %s;\n", tftp)
	}
	p("\n# PacketCable (RFC 3495) option 122.\n")
	p("option space packetcable;\n")
	p("option packetcable.primary-dhcp-server code 1 = ip-address;\n")
	p("option packetcable.secondary-dhcp-server code 2 = ip-address;\n")
	p("option packetcable.provisioning-server code 3 = { boolean, ip-address };\n")
	p("option packetcable.kerberos-realm-name code 6 = string;\n")
	p("option packetcable.kerberos-use-tgt code 7 = boolean;\n")
	p("option packetcable.provisioning-timer code 8 = unsigned integer 8;\n")
	p("option packetcable-encapsulation code 122 = encapsulate packetcable;\n\n")

	p("# Device kinds by vendor class (option 60).\n")
	p("class \"docsis-cm\" { match if substring(option vendor-class-identifier, 0, 6) = \"docsis\"; }\n")
	p("class \"pktc-mta\" {\n\tmatch if substring(option vendor-class-identifier, 0, 4) = \"pktc\";\n")
	if sid.IsValid() {
		p("\toption packetcable.primary-dhcp-server %s;\n", sid)
		prov := sid
		if a, err := netip.ParseAddr(sn.pktcProv); err == nil && a.Is4() {
			prov = a
		}
		p("\toption packetcable.provisioning-server true %s;\n", prov)
	}
	p("\toption packetcable.kerberos-realm-name %s;\n", dhcpdBytes(dnsName(sn.pktcRealm)))
	p("\toption packetcable.kerberos-use-tgt false;\n}\n\n")

	p("# CPEs: a class per plan, one subclass per enabled modem, keyed by the\n# relay's remote-id (the modem's MAC); \"lease limit\" is the plan's max CPE.\n")
	byPlan := map[int64][]*modemInfo{}
	for _, m := range sn.modems {
		if m.enabled {
			byPlan[m.planID] = append(byPlan[m.planID], m)
		}
	}
	for _, pl := range plans {
		p("class \"cpe-plan-%d\" {\n\t# %s\n\tmatch option agent.remote-id;\n\tlease limit %d;\n}\n", pl.ID, comment(pl.Name), max(pl.MaxCPE, 0))
		ms := byPlan[pl.ID]
		slices.SortFunc(ms, func(a, b *modemInfo) int { return strings.Compare(a.macText, b.macText) })
		for _, m := range ms {
			p("subclass \"cpe-plan-%d\" %s;\n", pl.ID, m.macText)
		}
	}
	p("\n")

	cmtsName := map[int64]string{}
	for _, c := range cmtsList {
		cmtsName[c.ID] = c.Name
	}
	groups := map[int64][]*network4{}
	var order []int64
	for _, n := range sn.nets {
		if _, ok := groups[n.cmtsID]; !ok {
			order = append(order, n.cmtsID)
		}
		groups[n.cmtsID] = append(groups[n.cmtsID], n)
	}
	for _, cid := range order {
		nets := groups[cid]
		indent := ""
		if cid != 0 {
			p("shared-network %q {\n", cmtsName[cid])
			indent = "\t"
		} else {
			p("# The server's own networks.\n")
		}
		for _, n := range nets {
			exportSubnet(p, indent, n, plans)
		}
		if cid != 0 {
			p("}\n")
		}
		p("\n")
	}

	p("# Hosts: modems, MTAs and registered CPEs.\n")
	mods := make([]*modemInfo, 0, len(sn.modems))
	for _, m := range sn.modems {
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b *modemInfo) int { return strings.Compare(a.macText, b.macText) })
	for _, m := range mods {
		name := "cm-" + strings.ReplaceAll(m.macText, ":", "")
		p("host %s {\n\thardware ethernet %s;\n", name, m.macText)
		switch {
		case m.enabled:
			if m.fixed.IsValid() {
				p("\tfixed-address %s;\n", m.fixed)
			}
			p("\tfilename %q;\n", configName(sn.cmFile, m.mac))
		case walledFor(sn, m):
			p("\t# disabled: the walled-garden config\n\tfilename %q;\n", sn.walledFile)
		default:
			p("\t# disabled\n\tdeny booting;\n")
		}
		p("}\n")
	}
	for _, d := range mtas {
		mac, err := store.MACBytes(d.MAC)
		if err != nil {
			return err
		}
		p("host mta-%s {\n\thardware ethernet %s;\n", strings.ReplaceAll(d.MAC, ":", ""), d.MAC)
		if d.FixedIPv4 != "" {
			p("\tfixed-address %s;\n", d.FixedIPv4)
		}
		p("\tfilename %q;\n}\n", configName(sn.mtaFile, mac))
	}
	for _, c := range cpes {
		if c.FixedIPv4 == "" {
			continue // a registered CPE without an address is served from its modem's CPE pool
		}
		p("host cpe-%s {\n\thardware ethernet %s;\n\tfixed-address %s;\n}\n", strings.ReplaceAll(c.MAC, ":", ""), c.MAC, c.FixedIPv4)
	}
	return b.Flush()
}

func walledFor(sn *snapshot, m *modemInfo) bool {
	n := sn.networkOf(m.cmtsID, store.PurposeCM, netip.Addr{})
	return n != nil && n.walled
}

func exportSubnet(p func(string, ...any), in string, n *network4, plans []store.Plan) {
	p("%ssubnet %s netmask %s {\n", in, n.prefix.Addr(), maskText(n.maskBits))
	if n.name != "" {
		p("%s\t# %s (%s)\n", in, comment(n.name), n.purpose)
	}
	p("%s\toption subnet-mask %s;\n", in, maskText(n.maskBits))
	p("%s\toption broadcast-address %s;\n", in, n.broadcast)
	if n.gateway.IsValid() {
		p("%s\toption routers %s;\n", in, n.gateway)
	}
	if len(n.dns) > 0 {
		p("%s\toption domain-name-servers %s;\n", in, joinAddrs(n.dns))
	}
	if n.domain != "" {
		p("%s\toption domain-name %q;\n", in, n.domain)
	}
	if n.purpose == store.PurposeCM || n.purpose == store.PurposeMTA {
		p("%s\toption time-offset %d;\n", in, n.timeOffset)
		if len(n.time) > 0 {
			p("%s\toption time-servers %s;\n", in, joinAddrs(n.time))
		}
		if len(n.log) > 0 {
			p("%s\toption log-servers %s;\n", in, joinAddrs(n.log))
		}
	}
	secs := int64(n.leaseTime / time.Second)
	p("%s\tdefault-lease-time %d;\n%s\tmax-lease-time %d;\n", in, secs, in, secs)
	for _, r := range n.ranges {
		p("%s\tpool {\n", in)
		switch n.purpose {
		case store.PurposeCM:
			if n.walled {
				p("%s\t\tallow members of \"docsis-cm\";\n%s\t\tallow known-clients;\n", in, in)
			} else {
				p("%s\t\tdeny unknown-clients;\n", in)
			}
		case store.PurposeMTA:
			p("%s\t\tallow members of \"pktc-mta\";\n", in)
		case store.PurposeCPE:
			for _, pl := range plans {
				p("%s\t\tallow members of \"cpe-plan-%d\";\n", in, pl.ID)
			}
		}
		p("%s\t\trange %s %s;\n%s\t}\n", in, r.first, r.last, in)
	}
	p("%s}\n", in)
}

func maskText(bits int) string {
	m := netip.PrefixFrom(netip.IPv4Unspecified(), bits)
	var b [4]byte
	for i := 0; i < m.Bits(); i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(b).String()
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// dhcpdBytes writes bytes as a dhcpd colon-separated hex string.
func dhcpdBytes(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

// comment keeps a name safe inside a # comment.
func comment(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// ExportDHCPD6 writes the ISC dhcpd6.conf equivalent of the v6 inventory in
// the seed's layout: the CableLabs option space (vsio 4491), one subnet6
// per v6 network (in a shared-network per CMTS) with range6 and prefix6,
// and a host per enabled modem with its MAC-derived (or overridden)
// fixed-address6 and its config file.
func ExportDHCPD6(ctx context.Context, src ExportSource, w io.Writer, version string, at time.Time) error {
	sn, err := loadSnapshot(ctx, src)
	if err != nil {
		return err
	}
	cmtsList, err := src.ListCMTS(ctx)
	if err != nil {
		return err
	}
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("# ISC dhcpd6.conf written by ip6m %s on %s.\n", version, at.UTC().Format(time.RFC3339))
	p("# It hands out what ip6m's DHCPv6 server would; ip6m builds the config files it names over TFTP.\n\n")
	p("authoritative;\n\n# CableLabs vendor options (CL-SP-CANN-DHCP-Reg), as in the seed.\n")
	p("option space docsis code width 2 length width 2 hash size 100;\n")
	p("option docsis.tftp-servers code 32 = array of ip6-address;\n")
	p("option docsis.configuration-file code 33 = text;\n")
	p("option docsis.syslog-servers code 34 = array of ip6-address;\n")
	p("option docsis.device-id code 36 = string;\n")
	p("option docsis.time-servers code 37 = array of ip6-address;\n")
	p("option docsis.time-offset code 38 = signed integer 32;\n")
	p("option vsio.docsis code 4491 = encapsulate docsis;\n\n")
	tftp := sn.tftp6
	if !tftp.IsValid() {
		tftp = sn.server6
	}
	cmtsName := map[int64]string{}
	for _, c := range cmtsList {
		cmtsName[c.ID] = c.Name
	}
	groups := map[int64][]*network6{}
	var order []int64
	for _, n := range sn.nets6 {
		if _, ok := groups[n.cmtsID]; !ok {
			order = append(order, n.cmtsID)
		}
		groups[n.cmtsID] = append(groups[n.cmtsID], n)
	}
	for _, cid := range order {
		in := ""
		if cid != 0 {
			p("shared-network %q {\n", cmtsName[cid])
			in = "\t"
		} else {
			p("# The server's own networks.\n")
		}
		for _, n := range groups[cid] {
			p("%ssubnet6 %s {\n", in, n.prefix)
			if n.name != "" {
				p("%s\t# %s (%s)\n", in, comment(n.name), n.purpose)
			}
			for _, r := range n.ranges {
				p("%s\trange6 %s %s;\n", in, r.first, r.last)
			}
			for _, pool := range n.pools {
				p("%s\tprefix6 %s %s /%d;\n", in, pool.first, pool.last, pool.bits)
			}
			if len(n.dns) > 0 {
				p("%s\toption dhcp6.name-servers %s;\n", in, joinAddrs(n.dns))
			}
			if n.purpose == store.PurposeCM || n.purpose == store.PurposeMTA {
				if len(n.log) > 0 {
					p("%s\toption docsis.syslog-servers %s;\n", in, joinAddrs(n.log))
				}
				if len(n.time) > 0 {
					p("%s\toption docsis.time-servers %s;\n", in, joinAddrs(n.time))
				}
				if tftp.IsValid() {
					p("%s\toption docsis.tftp-servers %s;\n", in, tftp)
				}
				p("%s\toption docsis.time-offset %d;\n", in, n.timeOffset)
			}
			if n.validLife > 0 {
				secs := int64(n.validLife / time.Second)
				p("%s\tdefault-lease-time %d;\n%s\tmax-lease-time %d;\n", in, secs, in, secs)
			}
			p("%s}\n", in)
		}
		if cid != 0 {
			p("}\n")
		}
		p("\n")
	}
	p("# Hosts: cable modems with their fixed IPv6 address (the seed's MAC-derived form) and config file.\n")
	mods := make([]*modemInfo, 0, len(sn.modems))
	for _, m := range sn.modems {
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b *modemInfo) int { return strings.Compare(a.macText, b.macText) })
	for _, m := range mods {
		if !m.enabled {
			continue
		}
		n := sn.network6Of(m.cmtsID, store.PurposeCM, netip.Addr{})
		if n == nil {
			continue
		}
		addr := m.fixed6
		if !addr.IsValid() {
			if addr, err = store.DeriveIPv6(n.prefix, m.macText); err != nil {
				return err
			}
		}
		reserved := ""
		if m.prefix6.IsValid() {
			// dhcpd6 would give a fixed-prefix6 here to the modem itself;
			// ip6m delegates it to the router behind the modem.
			reserved = fmt.Sprintf("\t# ip6m: %s is reserved for the router behind this modem\n", m.prefix6)
		}
		p("host cm-%s {\n\thardware ethernet %s;\n\tfixed-address6 %s;\n\toption docsis.configuration-file %q;\n%s}\n",
			strings.ReplaceAll(m.macText, ":", ""), m.macText, addr, configName(sn.cmFile, m.mac), reserved)
	}
	return b.Flush()
}
