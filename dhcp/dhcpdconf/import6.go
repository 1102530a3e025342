package dhcpdconf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"ip6m/store"
)

// Settings keys of ip6m's DHCPv6 server (dhcp.Setting*).
const (
	SettingServerIPv6 = "server.ipv6"
	SettingTFTPIPv6   = "tftp.ipv6"
)

// How a dhcpd6.conf maps onto the inventory (Import6):
//
//   - subnet6 P → a v6 network: range6 (first last, or a prefix) its ranges,
//     prefix6 first last /len its delegated-prefix pools, option
//     dhcp6.name-servers its DNS servers, the CableLabs options (by code,
//     whatever the option space is called: 34 syslog, 37 time servers, 38
//     time offset) its log and time servers and time offset,
//     default-/max-lease-time its valid lifetimes. Options set around the
//     subnet (shared-network, group, the file) apply to it, as in dhcpd.
//   - Purpose: cm when CableLabs TFTP or config-file options apply to it or
//     to a host whose fixed-address6 is inside; else cpe when it sits in a
//     shared-network (behind a CMTS) or delegates prefixes; else server
//     (the headend LAN the seed declares "even if we don't want to serve
//     any clients in this subnet").
//   - CMTS: the shared-network's name, else Options.CMTS.
//   - host → a cable modem, known by hardware ethernet, or by
//     host-identifier option dhcp6.client-id when that DUID is a DUID-LL or
//     DUID-LLT with an Ethernet address. fixed-address6 becomes the modem's
//     IPv6 override only when it differs from the address ip6m derives from
//     the MAC (the seed's are all derived). A host with neither a config
//     file nor an address in a modem network is not a modem and is
//     reported. fixed-prefix6 of a modem's host becomes the prefix reserved
//     for the router behind the modem (ip6m delegates it to the first CPE
//     behind the modem that asks); on a host that is no modem it is
//     reported.
//   - option <cablelabs>.tftp-servers (code 32) → server.ipv6 when the
//     inventory has none, else tftp.ipv6 when it differs.
//   - configuration-file (code 33): ip6m names configs itself, so each name
//     is reported once with its host count, as the v4 import does.
//   - Everything else is reported with its file and line.

// Import6 reads the dhcpd6.conf at path (with its includes) into st, as
// Import does a dhcpd.conf: checked whole first, nothing written on an
// error, the same Report.
func Import6(ctx context.Context, st *store.Store, path string, opts Options) (Report, error) {
	rep := &Report{File: path, DryRun: opts.DryRun}
	if opts.CMTS == "" {
		opts.CMTS = "CMTS-1"
	}
	if opts.Actor == "" {
		opts.Actor = "import"
	}
	stmts, err := ParseFile(path, ParseOptions{})
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			rep.Errors = append(rep.Errors, Note{Pos: pe.Pos, Count: 1, Text: pe.Msg})
			return rep.done(), fmt.Errorf("%s: %w", pe.Error(), ErrInvalid)
		}
		return rep.done(), err
	}
	inv, err := loadInventory(ctx, st)
	if err != nil {
		return rep.done(), err
	}
	b := mapStmts6(rep, stmts, inv, opts)
	if len(rep.Errors) > 0 {
		slices.SortStableFunc(rep.Errors, func(a, b Note) int { return comparePos(a.Pos, b.Pos) })
		return rep.done(), fmt.Errorf("%s in %s (first: %s): %w", plural(len(rep.Errors), "error"), path, line(rep.Errors[0]), ErrInvalid)
	}
	if opts.DryRun {
		return rep.done(), nil
	}
	if err := b.write(ctx, st, opts.Actor, rep); err != nil {
		return rep.done(), err
	}
	return rep.done(), nil
}

// CableLabs sub-options of vendor option 17 (enterprise 4491) that map.
const (
	cl6TFTP     = 32
	cl6File     = 33
	cl6Syslog   = 34
	cl6DeviceID = 36
	cl6Time     = 37
	cl6Offset   = 38
)

// seedDocsisNames are the seed's names for the CableLabs options, used
// when the file uses them without defining them.
var seedDocsisNames = map[string]int{
	"docsis.tftp-servers": cl6TFTP, "docsis.configuration-file": cl6File, "docsis.syslog-servers": cl6Syslog,
	"docsis.device-id": cl6DeviceID, "docsis.time-servers": cl6Time, "docsis.time-offset": cl6Offset,
}

// scope6 is a block that can set options: the file, a shared-network,
// group, subnet6 or host.
type scope6 struct {
	parent *scope6
	own    params6
}

type params6 struct {
	dns, timeSrv, logSrv, tftp *addrsAt
	offset, defLease, maxLease *intAt
	file                       *textAt
}

func lookup6[T any](s *scope6, get func(*params6) *T) *T {
	for ; s != nil; s = s.parent {
		if v := get(&s.own); v != nil {
			return v
		}
	}
	return nil
}

type subnet6Decl struct {
	pos    Pos
	prefix netip.Prefix
	shared *sharedNet
	sc     *scope6
	ranges []rangeDecl
	pools  []store.PDPool
	hosts  []*host6Decl

	purpose, why, cmtsName string
}

type host6Decl struct {
	pos         Pos
	name        string
	sc          *scope6
	mac         string
	macPos      Pos
	fixed       netip.Addr
	fixedPos    Pos
	prefix      netip.Prefix
	prefixPos   Pos
	inSubnet    *subnet6Decl
	inShared    *sharedNet
	subnet      *subnet6Decl
	clientIDPos Pos
}

// walker6 turns a dhcpd6.conf's statements into declarations.
type walker6 struct {
	rep     *Report
	global  *scope6
	codes   map[string]int // option name → CableLabs code, from the file's definitions
	subnets []*subnet6Decl
	hosts   []*host6Decl
	errs    []Note
}

func (w *walker6) fail(pos Pos, format string, args ...any) {
	w.errs = append(w.errs, Note{Pos: pos, Count: 1, Text: fmt.Sprintf(format, args...)})
}

type where6 struct {
	sc     *scope6
	shared *sharedNet
	subnet *subnet6Decl
	host   *host6Decl
}

func (w *walker6) walk(stmts []*Stmt, in where6) {
	for _, s := range stmts {
		w.stmt(s, in)
	}
}

func (w *walker6) unmapped(s *Stmt, why string) {
	name := "(empty)"
	if len(s.Args) > 0 {
		name = statementName(s)
	}
	if why == "" {
		why = "ip6m has no equivalent"
	}
	w.rep.note("unmapped "+name, s.Pos, "%s: not mapped (%s)", name, why)
}

func (w *walker6) stmt(s *Stmt, in where6) {
	a := s.Args
	if len(a) == 0 {
		w.unmapped(s, "a block without a name")
		return
	}
	kw := ""
	if a[0].Kind == Word {
		kw = strings.ToLower(a[0].Text)
	}
	if s.HasBlock {
		switch kw {
		case "shared-network", "subnet6", "group", "host":
		case "subnet", "pool", "class", "subclass":
			w.rep.note("v4", s.Pos, "DHCPv4 declarations are skipped: this importer reads a dhcpd6.conf (use ip6m import dhcpd for the v4 file)")
			return
		case "if", "elsif", "else", "on":
			w.rep.note(kw, s.Pos, "%s blocks are skipped: ip6m decides from the inventory, not from expressions", kw)
			return
		default:
			w.unmapped(s, "")
			return
		}
	}
	switch kw {
	case "shared-network":
		if len(a) != 2 || (a[1].Kind != Word && a[1].Kind != String) {
			w.fail(s.Pos, "shared-network needs a name and a block: shared-network NAME { … }")
			return
		}
		if in.shared != nil || in.subnet != nil || in.host != nil {
			w.fail(s.Pos, "a shared-network cannot sit inside another declaration")
			return
		}
		sn := &sharedNet{pos: s.Pos, name: a[1].Text}
		w.walk(s.Block, where6{sc: &scope6{parent: in.sc}, shared: sn})
	case "group":
		if in.host != nil {
			w.fail(s.Pos, "group { … } cannot sit inside a host")
			return
		}
		in.sc = &scope6{parent: in.sc}
		w.walk(s.Block, in)
	case "subnet6":
		w.subnet(s, in)
	case "host":
		w.host(s, in)
	case "range6":
		w.range6(s, in)
	case "prefix6":
		w.prefix6(s, in)
	case "option":
		w.option(s, in)
	case "default-lease-time", "max-lease-time":
		if len(a) != 2 || a[1].Kind != Number {
			w.fail(s.Pos, "%s needs a number of seconds", kw)
			return
		}
		v, err := strconv.ParseInt(a[1].Text, 10, 64)
		if err != nil || v < 0 {
			w.fail(s.Pos, "%s %s is not a number of seconds", kw, a[1].Text)
			return
		}
		if kw == "default-lease-time" {
			in.sc.own.defLease = &intAt{s.Pos, v}
		} else {
			in.sc.own.maxLease = &intAt{s.Pos, v}
		}
	case "preferred-lifetime":
		w.rep.note("preferred", s.Pos, "preferred-lifetime: not mapped (ip6m prefers an address for its whole valid lifetime, T1 at half, T2 at 80%%)")
	case "hardware":
		if in.host == nil {
			w.unmapped(s, "hardware outside a host block")
			return
		}
		if len(a) != 3 || !a[1].isWord("ethernet") {
			w.fail(s.Pos, "only 'hardware ethernet MAC;' is understood here")
			return
		}
		mac, err := store.NormalizeMAC(a[2].Text)
		if err != nil {
			w.fail(s.Pos, "hardware ethernet: %v", err)
			return
		}
		w.setMAC(in.host, mac, s.Pos)
	case "host-identifier":
		w.hostIdentifier(s, in)
	case "fixed-address6":
		if in.host == nil {
			w.unmapped(s, "fixed-address6 outside a host block")
			return
		}
		if len(a) < 2 {
			w.fail(s.Pos, "fixed-address6 needs an IPv6 address")
			return
		}
		ad, err := netip.ParseAddr(a[1].Text)
		if err != nil || !ad.Is6() || ad.Is4In6() {
			w.fail(s.Pos, "fixed-address6 %s is not an IPv6 address (host names are not resolved on import)", tokenText(a[1]))
			return
		}
		if len(a) > 2 {
			w.rep.note("fixed6-many", s.Pos, "host %s has several fixed-address6; ip6m keeps one per modem, the first (%s)", in.host.name, ad)
		}
		in.host.fixed, in.host.fixedPos = ad, s.Pos
	case "fixed-prefix6":
		if in.host == nil {
			w.unmapped(s, "fixed-prefix6 outside a host block")
			return
		}
		p, err := netip.ParsePrefix(tokensText(a[1:]))
		if err != nil || !p.Addr().Is6() || p.Masked() != p {
			w.fail(s.Pos, "fixed-prefix6 %s is not an IPv6 prefix like 2001:db8:4:100::/56", tokensText(a[1:]))
			return
		}
		in.host.prefix, in.host.prefixPos = p, s.Pos
	case "fixed-address", "range", "subnet", "next-server", "filename":
		w.rep.note("v4", s.Pos, "DHCPv4 declarations are skipped: this importer reads a dhcpd6.conf (use ip6m import dhcpd for the v4 file)")
	case "include":
		w.fail(s.Pos, `include needs one quoted file name: include "file";`)
	case "if", "elsif", "else":
		w.rep.note(kw, s.Pos, "%s blocks are skipped: ip6m decides from the inventory, not from expressions", kw)
	case "server-duid":
		w.rep.note("server-duid", s.Pos, "server-duid: not mapped (ip6m makes its own DUID once and keeps it; clients see a new server once, as after any server change)")
	case "dhcpv6-lease-file-name", "dhcpv6-pid-file-name", "lease-file-name", "pid-file-name":
		w.rep.note("ignored "+kw, s.Pos, "%s: not needed, ip6m keeps bindings in its database", kw)
	default:
		if why, ok := ignored[kw]; ok {
			w.rep.note("ignored "+kw, s.Pos, "%s: not needed, %s", statementName(s), why)
			return
		}
		w.unmapped(s, "")
	}
}

// tokensText joins tokens as written ("2001:db8::" "/56" → "2001:db8::/56").
func tokensText(ts []Token) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.Text)
	}
	return b.String()
}

func (w *walker6) setMAC(h *host6Decl, mac string, pos Pos) {
	if h.mac != "" && h.mac != mac {
		w.fail(pos, "host %s names a second MAC %s (first %s at line %d)", h.name, mac, h.mac, h.macPos.Line)
		return
	}
	h.mac, h.macPos = mac, pos
}

// hostIdentifier reads "host-identifier option dhcp6.client-id DUID;": a
// DUID-LL or DUID-LLT with an Ethernet address names the modem's MAC.
func (w *walker6) hostIdentifier(s *Stmt, in where6) {
	a := s.Args
	if in.host == nil {
		w.unmapped(s, "host-identifier outside a host block")
		return
	}
	if len(a) != 4 || !a[1].isWord("option") {
		w.unmapped(s, "only host-identifier option dhcp6.client-id is understood")
		return
	}
	if !a[2].isWord("dhcp6.client-id") {
		w.rep.note("host-identifier "+a[2].Text, s.Pos, "host %s: host-identifier option %s: not mapped (ip6m knows modems by MAC: hardware ethernet or a DUID-LL/LLT client-id)", in.host.name, a[2].Text)
		return
	}
	var duid []byte
	switch a[3].Kind {
	case Hex:
		duid, _ = hexBytes(a[3].Text)
	case String:
		duid = []byte(a[3].Text)
	}
	mac, ok := macFromDUID(duid)
	if !ok {
		w.rep.note("duid "+in.host.name, s.Pos, "host %s: client-id %s is not a DUID-LL or DUID-LLT with an Ethernet address: not mapped (ip6m knows modems by MAC)", in.host.name, tokenText(a[3]))
		return
	}
	in.host.clientIDPos = s.Pos
	w.setMAC(in.host, mac, s.Pos)
}

// macFromDUID reads the MAC of a DUID-LLT (type 1) or DUID-LL (type 3)
// with hardware type 1 (Ethernet).
func macFromDUID(b []byte) (string, bool) {
	switch {
	case len(b) == 14 && b[0] == 0 && b[1] == 1 && b[2] == 0 && b[3] == 1:
		return macString(b[8:]), true
	case len(b) == 10 && b[0] == 0 && b[1] == 3 && b[2] == 0 && b[3] == 1:
		return macString(b[4:]), true
	}
	return "", false
}

func (w *walker6) subnet(s *Stmt, in where6) {
	a := s.Args
	if len(a) != 2 || !s.HasBlock {
		w.fail(s.Pos, "subnet6 needs a prefix and a block: subnet6 2001:db8:4:11::/64 { … }")
		return
	}
	if in.subnet != nil || in.host != nil {
		w.fail(s.Pos, "a subnet6 cannot sit inside another subnet6 or a host")
		return
	}
	pfx, err := netip.ParsePrefix(a[1].Text)
	if err != nil || !pfx.Addr().Is6() || pfx.Addr().Is4In6() {
		w.fail(s.Pos, "subnet6 %s is not an IPv6 prefix", tokenText(a[1]))
		return
	}
	if pfx.Masked() != pfx {
		w.fail(s.Pos, "subnet6 %s has host bits set; did you mean %s?", pfx, pfx.Masked())
		return
	}
	for _, o := range w.subnets {
		if o.prefix == pfx {
			w.fail(s.Pos, "subnet6 %s is declared twice (first at %s)", pfx, o.pos)
			return
		}
	}
	sd := &subnet6Decl{pos: s.Pos, prefix: pfx, shared: in.shared, sc: &scope6{parent: in.sc}}
	w.subnets = append(w.subnets, sd)
	w.walk(s.Block, where6{sc: sd.sc, shared: in.shared, subnet: sd})
}

func (w *walker6) range6(s *Stmt, in where6) {
	a := s.Args
	if in.subnet == nil {
		w.fail(s.Pos, "range6 belongs in a subnet6")
		return
	}
	args := a[1:]
	if n := len(args); n > 0 && args[n-1].isWord("temporary") {
		w.rep.note("temporary", s.Pos, "range6 … temporary: not mapped (ip6m hands out no temporary addresses, IA_TA)")
		return
	}
	var r rangeDecl
	switch len(args) {
	case 1:
		p, err := netip.ParsePrefix(args[0].Text)
		if err != nil || !p.Addr().Is6() {
			w.fail(s.Pos, "range6 %s: want a first and a last address, or a prefix", tokenText(args[0]))
			return
		}
		p = p.Masked()
		r = rangeDecl{pos: s.Pos, first: p.Addr(), last: lastAddr(p)}
	case 2:
		first, err1 := netip.ParseAddr(args[0].Text)
		last, err2 := netip.ParseAddr(args[1].Text)
		if err1 != nil || err2 != nil || !first.Is6() || !last.Is6() {
			w.fail(s.Pos, "range6 %s %s: not IPv6 addresses", tokenText(args[0]), tokenText(args[1]))
			return
		}
		if last.Less(first) {
			w.fail(s.Pos, "range6 %s %s: the first address is after the last", first, last)
			return
		}
		r = rangeDecl{pos: s.Pos, first: first, last: last}
	default:
		w.fail(s.Pos, "range6 needs a first and a last address, or a prefix")
		return
	}
	if !in.subnet.prefix.Contains(r.first) || !in.subnet.prefix.Contains(r.last) {
		w.fail(s.Pos, "range6 %s %s is not inside subnet6 %s", r.first, r.last, in.subnet.prefix)
		return
	}
	in.subnet.ranges = append(in.subnet.ranges, r)
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}

func (w *walker6) prefix6(s *Stmt, in where6) {
	a := s.Args
	if in.subnet == nil {
		w.fail(s.Pos, "prefix6 belongs in a subnet6")
		return
	}
	if len(a) != 4 || !strings.HasPrefix(a[3].Text, "/") {
		w.fail(s.Pos, "prefix6 needs a first and a last prefix and a length: prefix6 2001:db8:4:100:: 2001:db8:4:200:: /64")
		return
	}
	first, err1 := netip.ParseAddr(a[1].Text)
	last, err2 := netip.ParseAddr(a[2].Text)
	n, err3 := strconv.Atoi(strings.TrimPrefix(a[3].Text, "/"))
	if err1 != nil || err2 != nil || err3 != nil || !first.Is6() || !last.Is6() || n < 1 || n > 128 {
		w.fail(s.Pos, "prefix6 %s %s %s: want two IPv6 prefixes' first addresses and /LEN", a[1].Text, a[2].Text, a[3].Text)
		return
	}
	if last.Less(first) {
		w.fail(s.Pos, "prefix6 %s %s: the first prefix is after the last", first, last)
		return
	}
	for _, x := range []netip.Addr{first, last} {
		if netip.PrefixFrom(x, n).Masked().Addr() != x {
			w.fail(s.Pos, "prefix6: %s is not the start of a /%d", x, n)
			return
		}
	}
	in.subnet.pools = append(in.subnet.pools, store.PDPool{First: first.String(), Last: last.String(), Len: n})
}

func (w *walker6) host(s *Stmt, in where6) {
	if !s.HasBlock || len(s.Args) != 2 {
		w.fail(s.Pos, "host needs a name and a block: host NAME { … }")
		return
	}
	if in.host != nil {
		w.fail(s.Pos, "a host cannot sit inside a host")
		return
	}
	h := &host6Decl{pos: s.Pos, name: s.Args[1].Text, sc: &scope6{parent: in.sc}, inSubnet: in.subnet, inShared: in.shared}
	w.walk(s.Block, where6{sc: h.sc, shared: in.shared, subnet: in.subnet, host: h})
	o := h.sc.own
	if o.dns != nil || o.timeSrv != nil || o.logSrv != nil || o.offset != nil || o.tftp != nil || o.defLease != nil || o.maxLease != nil {
		w.rep.note("scoped options", s.Pos, "network options inside host %s: not mapped (ip6m sets them per network, from the subnet6 and the file)", h.name)
	}
	if h.mac == "" {
		w.rep.note("host without mac", s.Pos, "host %s has no hardware ethernet and no DUID-LL/LLT client-id: not imported (ip6m knows modems by MAC)", h.name)
		return
	}
	w.hosts = append(w.hosts, h)
}

// option reads option definitions (to learn the CableLabs option names)
// and values.
func (w *walker6) option(s *Stmt, in where6) {
	a := s.Args
	if len(a) < 2 {
		w.fail(s.Pos, "option needs a name")
		return
	}
	name := strings.ToLower(a[1].Text)
	if name == "space" {
		w.rep.note("option definition", s.Pos, "option definitions and option spaces: read for the CableLabs option names; ip6m knows the options it sends")
		return
	}
	if len(a) >= 4 && a[2].isWord("code") {
		if code, err := strconv.Atoi(a[3].Text); err == nil && strings.Contains(name, ".") && !strings.HasPrefix(name, "dhcp6.") && !strings.HasPrefix(name, "vsio.") {
			w.codes[name] = code
		}
		w.rep.note("option definition", s.Pos, "option definitions and option spaces: read for the CableLabs option names; ip6m knows the options it sends")
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
	if name == "dhcp6.name-servers" {
		if v := w.addrs(s, name, vals); v != nil {
			own.dns = v
		}
		return
	}
	code, ok := w.codes[name]
	if !ok {
		code, ok = seedDocsisNames[name]
	}
	if !ok {
		switch {
		case name == "dhcp6.rapid-commit":
			w.rep.note("rapid", s.Pos, "option dhcp6.rapid-commit: not needed, ip6m always honours Rapid Commit")
		case strings.HasPrefix(name, "vsio."):
			w.unmapped(s, "a raw vendor option; ip6m builds option 17 from the inventory")
		default:
			w.unmapped(s, "")
		}
		return
	}
	switch code {
	case cl6TFTP, cl6Syslog, cl6Time:
		v := w.addrs(s, name, vals)
		if v == nil {
			return
		}
		switch code {
		case cl6TFTP:
			own.tftp = v
		case cl6Syslog:
			own.logSrv = v
		default:
			own.timeSrv = v
		}
	case cl6Offset:
		n, err := strconv.ParseInt(vals[0].Text, 10, 64)
		if len(vals) != 1 || vals[0].Kind != Number || err != nil {
			w.fail(s.Pos, "option %s needs a number of seconds", a[1].Text)
			return
		}
		if n < -86400 || n > 86400 {
			w.fail(s.Pos, "option %s %d is more than a day", a[1].Text, n)
			return
		}
		own.offset = &intAt{s.Pos, n}
	case cl6File:
		if len(vals) != 1 || vals[0].Kind != String {
			w.fail(s.Pos, `option %s needs one quoted name: "cm/cm-2.cfg"`, a[1].Text)
			return
		}
		own.file = &textAt{s.Pos, vals[0].Text}
	default:
		w.rep.note("cl "+name, s.Pos, "option %s (CableLabs sub-option %d): not mapped (ip6m sends 32, 33, 34, 37, 38 and, to eMTAs, 2170/2171)", a[1].Text, code)
	}
}

// addrs reads a list of IPv6 addresses; anything else is an error.
func (w *walker6) addrs(s *Stmt, name string, vals []Token) *addrsAt {
	var out []netip.Addr
	for _, t := range vals {
		a, err := netip.ParseAddr(t.Text)
		if err != nil || !a.Is6() || a.Is4In6() || t.Kind == String {
			w.fail(s.Pos, "option %s: %s is not an IPv6 address (host names are not resolved on import)", name, tokenText(t))
			return nil
		}
		out = append(out, a)
	}
	return &addrsAt{s.Pos, out}
}

// mapStmts6 maps a parsed dhcpd6.conf onto the inventory.
func mapStmts6(rep *Report, stmts []*Stmt, inv *inventory, opts Options) *batch {
	w := &walker6{rep: rep, global: &scope6{}, codes: map[string]int{}}
	w.walk(stmts, where6{sc: w.global})
	m := &mapper6{w: w, inv: inv, opts: opts, rep: rep, file: filepath.Base(rep.File), b: &batch{}}
	m.run()
	rep.Errors = append(rep.Errors, w.errs...)
	return m.b
}

type mapper6 struct {
	w    *walker6
	inv  *inventory
	opts Options
	rep  *Report
	file string
	b    *batch
}

func (m *mapper6) fail(pos Pos, format string, args ...any) {
	m.rep.Errors = append(m.rep.Errors, Note{Pos: pos, Count: 1, Text: fmt.Sprintf(format, args...)})
}

func (m *mapper6) subnetFor(a netip.Addr) *subnet6Decl {
	var best *subnet6Decl
	for _, s := range m.w.subnets {
		if s.prefix.Contains(a) && (best == nil || s.prefix.Bits() > best.prefix.Bits()) {
			best = s
		}
	}
	return best
}

func (m *mapper6) run() {
	byMAC := map[string]*host6Decl{}
	var hosts []*host6Decl
	for _, h := range m.w.hosts {
		if prev, dup := byMAC[h.mac]; dup {
			m.rep.note("dup host "+h.mac, h.pos, "host %s repeats MAC %s of host %s (%s); ip6m has one modem per MAC, the first is kept", h.name, h.mac, prev.name, prev.pos)
			continue
		}
		byMAC[h.mac] = h
		hosts = append(hosts, h)
		if h.fixed.IsValid() {
			h.subnet = m.subnetFor(h.fixed)
		}
		if h.subnet == nil {
			h.subnet = h.inSubnet
		}
		if h.subnet != nil && h.fixed.IsValid() {
			h.subnet.hosts = append(h.subnet.hosts, h)
		}
	}
	for _, s := range m.w.subnets {
		m.decide(s)
	}
	m.networks()
	m.settings()
	m.modems(hosts)
	m.summary()
}

// decide settles a subnet6's purpose and CMTS.
func (m *mapper6) decide(s *subnet6Decl) {
	docsis := lookup6(s.sc, func(p *params6) *addrsAt { return p.tftp }) != nil ||
		lookup6(s.sc, func(p *params6) *textAt { return p.file }) != nil
	for _, h := range s.hosts {
		docsis = docsis || lookup6(h.sc, func(p *params6) *textAt { return p.file }) != nil
	}
	switch {
	case docsis:
		s.purpose = store.PurposeCM
	case s.shared != nil || len(s.pools) > 0:
		s.purpose = store.PurposeCPE
		m.rep.note("purpose "+s.prefix.String(), s.pos, "subnet6 %s: no CableLabs options and no modem hosts, but behind a CMTS: imported as a CPE network", s.prefix)
	default:
		s.purpose = store.PurposeServer
		m.rep.note("purpose "+s.prefix.String(), s.pos, "subnet6 %s: no CableLabs options, no hosts, no prefix pool, in no shared-network: imported as the server's own network (ip6m serves its direct clients from its ranges)", s.prefix)
	}
	if s.purpose == store.PurposeCM && s.prefix.Bits() > 80 {
		m.fail(s.pos, "subnet6 %s: a cable modem prefix must be /80 or shorter, to hold each modem's MAC", s.prefix)
	}
	if s.purpose == store.PurposeServer {
		return
	}
	if s.shared != nil {
		s.cmtsName = s.shared.name
	} else {
		s.cmtsName = m.opts.CMTS
	}
}

func (m *mapper6) networks() {
	newCMTS := map[string]bool{}
	for _, s := range m.w.subnets {
		if s.cmtsName != "" {
			key := strings.ToLower(s.cmtsName)
			_, ok := m.inv.cmts[key]
			switch {
			case !ok && !newCMTS[key]:
				if len(s.cmtsName) > 64 {
					m.fail(s.pos, "CMTS name %q is longer than 64 characters", s.cmtsName)
					continue
				}
				newCMTS[key] = true
				m.b.cmts = append(m.b.cmts, &store.CMTS{Name: s.cmtsName, SNMPRead: "public", Notes: "created by ip6m import dhcpd6 from " + m.file})
				m.rep.Created.CMTS++
			case ok && !newCMTS[key]:
				newCMTS[key] = true
				m.rep.Present.CMTS++
			}
		}
		if old, ok := m.inv.nets[s.prefix]; ok {
			m.rep.Present.Networks++
			if old.Purpose != s.purpose {
				m.rep.note("net present "+s.prefix.String(), s.pos, "network %s already exists (purpose %s; the file says %s): kept as it is", s.prefix, old.Purpose, s.purpose)
			}
			continue
		}
		m.b.nets = append(m.b.nets, &netItem{n: m.network(s), cmts: s.cmtsName, pos: s.pos})
		m.rep.Created.Networks++
	}
}

func (m *mapper6) network(s *subnet6Decl) store.Network {
	n := store.Network{Prefix: s.prefix.String(), Purpose: s.purpose, Notes: "imported from " + s.pos.String(), PDPools: s.pools}
	if s.purpose == store.PurposeServer {
		n.Name = "Server LAN v6"
	} else {
		n.Name = truncate(s.cmtsName, 64-len(s.purpose)-4) + " " + s.purpose + " v6"
	}
	for _, r := range s.ranges {
		n.Ranges = append(n.Ranges, store.Range{First: r.first.String(), Last: r.last.String()})
	}
	addrs := func(get func(*params6) *addrsAt) string {
		if v := lookup6(s.sc, get); v != nil {
			return joinAddrs(v.addrs)
		}
		return ""
	}
	n.DNSServers = addrs(func(p *params6) *addrsAt { return p.dns })
	if s.purpose == store.PurposeCM || s.purpose == store.PurposeMTA {
		n.TimeServers = addrs(func(p *params6) *addrsAt { return p.timeSrv })
		n.LogServers = addrs(func(p *params6) *addrsAt { return p.logSrv })
		if v := lookup6(s.sc, func(p *params6) *intAt { return p.offset }); v != nil {
			n.TimeOffset = v.v
		}
	}
	// dhcpd's defaults: 12 hours, at most a day.
	n.LeaseTime, n.MaxLeaseTime = 43200, 86400
	def := lookup6(s.sc, func(p *params6) *intAt { return p.defLease })
	mx := lookup6(s.sc, func(p *params6) *intAt { return p.maxLease })
	if def != nil {
		n.LeaseTime = def.v
	}
	if mx != nil {
		n.MaxLeaseTime = mx.v
	}
	if n.MaxLeaseTime < n.LeaseTime {
		n.LeaseTime = n.MaxLeaseTime
	}
	if n.LeaseTime < 60 || n.MaxLeaseTime > 365*86400 {
		pos := s.pos
		if def != nil {
			pos = def.pos
		}
		m.fail(pos, "subnet6 %s: lease times must be between 60 seconds and a year (default %d, max %d)", s.prefix, n.LeaseTime, n.MaxLeaseTime)
	}
	n.UnknownPolicy = store.PolicyIgnore
	return n
}

// settings: the CableLabs TFTP server is ip6m itself (it builds configs
// over TFTP), so the first one named becomes server.ipv6, or tftp.ipv6 when
// the inventory already knows the server's address and it differs.
func (m *mapper6) settings() {
	var first *addrsAt
	seen := map[netip.Addr]bool{}
	for _, s := range m.w.subnets {
		v := lookup6(s.sc, func(p *params6) *addrsAt { return p.tftp })
		if v == nil || len(v.addrs) == 0 {
			continue
		}
		if first == nil {
			first = v
		}
		for _, a := range v.addrs {
			if !seen[a] && a != first.addrs[0] {
				m.rep.note("tftp "+a.String(), v.pos, "TFTP server %s differs from %s at %s; ip6m has one v6 TFTP server, the first is kept", a, first.addrs[0], first.pos)
			}
			seen[a] = true
		}
	}
	if first == nil {
		return
	}
	addr := first.addrs[0].String()
	key := SettingServerIPv6
	if old := m.inv.settings[SettingServerIPv6]; old != "" && old != addr {
		key = SettingTFTPIPv6
	}
	switch old := m.inv.settings[key]; {
	case old == addr:
		m.rep.Present.Settings++
	default:
		if old != "" {
			m.rep.note("setting "+key, first.pos, "setting %s changes from %s to %s", key, old, addr)
		}
		m.b.settings = append(m.b.settings, settingItem{key: key, value: addr, pos: first.pos})
		m.rep.Created.Settings++
	}
}

// modems turns the hosts into cable modems.
func (m *mapper6) modems(hosts []*host6Decl) {
	cmFile := m.inv.settings[SettingCMFile]
	if cmFile == "" {
		cmFile = defaultCMFile
	}
	plan := m.opts.Plan
	if plan != "" {
		if _, ok := m.inv.plans[strings.ToLower(plan)]; !ok {
			m.fail(Pos{m.rep.File, 0}, "plan %q does not exist (create it first, or leave --plan out to create %q)", plan, DefaultPlanName)
			return
		}
	}
	fixed := map[netip.Addr]string{}
	prefixes := map[netip.Prefix]string{} // fixed-prefix6 → the modem's MAC
	files := map[string]*FileUse{}
	var fileOrder []string
	var notModems, planNeeded int
	for _, h := range hosts {
		file := lookup6(h.sc, func(p *params6) *textAt { return p.file })
		if file == nil && (h.subnet == nil || h.subnet.purpose != store.PurposeCM || !h.fixed.IsValid()) {
			notModems++
			if h.prefix.IsValid() {
				m.rep.note("fixed-prefix6", h.prefixPos, "host %s: fixed-prefix6 %s not mapped (the host is not a cable modem; ip6m reserves prefixes per modem, for the router behind it)", h.name, h.prefix)
			}
			m.rep.note("not modem "+h.name, h.pos, "host %s: no config file and no address in a modem network, so not a cable modem: not imported (ip6m serves the devices behind a modem from its networks' pools)", h.name)
			continue
		}
		if file != nil {
			mb, _ := store.MACBytes(h.mac)
			if file.v != configName(cmFile, mb) {
				u := files[file.v]
				if u == nil {
					u = &FileUse{Name: file.v, First: file.pos, Kind: store.KindCM}
					files[file.v] = u
					fileOrder = append(fileOrder, file.v)
				}
				u.Hosts++
			}
		}
		if h.fixed.IsValid() {
			if other, ok := fixed[h.fixed]; ok {
				m.fail(h.fixedPos, "fixed-address6 %s of %s is already %s's", h.fixed, h.mac, other)
				continue
			}
			fixed[h.fixed] = h.mac
		}
		override := ""
		if h.fixed.IsValid() {
			if h.subnet == nil || h.subnet.purpose != store.PurposeCM {
				m.rep.note("fixed6 outside", h.fixedPos, "host %s: fixed-address6 %s is in no modem subnet6 of the file; kept as the modem's IPv6 address", h.name, h.fixed)
				override = h.fixed.String()
			} else if d, err := store.DeriveIPv6(h.subnet.prefix, h.mac); err != nil || d != h.fixed {
				override = h.fixed.String()
			}
		}
		prefix := ""
		if h.prefix.IsValid() {
			switch pm := h.prefix.Masked(); {
			case pm.Bits() < 32 || pm.Bits() > 64:
				m.rep.note("fixed-prefix6", h.prefixPos, "host %s: fixed-prefix6 %s not mapped (a delegated prefix is /32 to /64)", h.name, h.prefix)
			case prefixes[pm] != "":
				m.fail(h.prefixPos, "fixed-prefix6 %s of %s is already %s's", pm, h.mac, prefixes[pm])
				continue
			default:
				prefixes[pm] = h.mac
				prefix = pm.String()
			}
		}
		if old, ok := m.inv.modems[h.mac]; ok {
			m.rep.Present.Modems++
			if override != "" && old.IPv6 != override {
				m.rep.note("present v6 "+h.mac, h.fixedPos, "modem %s is already in the inventory: its IPv6 address is kept (the file says %s)", h.mac, override)
			}
			if prefix != "" && old.Prefix6 != prefix {
				m.rep.note("present prefix "+h.mac, h.prefixPos, "modem %s is already in the inventory: its reserved prefix is kept (the file says %s)", h.mac, prefix)
			}
			continue
		}
		if k := m.kindInStore(h.mac); k != "" {
			m.fail(h.pos, "%s is a modem in the file but already %s in the inventory", h.mac, kindWords[k])
			continue
		}
		cmts := ""
		switch {
		case h.subnet != nil:
			cmts = h.subnet.cmtsName
		case h.inShared != nil:
			cmts = h.inShared.name
		}
		it := &modemItem{m: store.Modem{MAC: h.mac, Enabled: true, IPv6: override, Prefix6: prefix, Notes: fmt.Sprintf("imported from host %s (%s)", h.name, h.pos)},
			cmts: cmts, plan: plan, pos: h.pos}
		if plan == "" {
			it.plan = DefaultPlanName
			planNeeded++
		}
		m.b.modems = append(m.b.modems, it)
		m.rep.Created.Modems++
	}
	if planNeeded > 0 {
		if p, ok := m.inv.plans[strings.ToLower(DefaultPlanName)]; ok {
			m.rep.Present.Plans++
			_ = p
		} else {
			desc := "Created by ip6m import dhcpd6 from " + m.file + ": network access only, no service flows. Edit its config before relying on it."
			m.b.plans = append(m.b.plans, &planItem{p: store.Plan{Name: DefaultPlanName, Description: desc, Config: planConfig, MaxCPE: 1}})
			m.rep.Created.Plans++
			m.rep.note("plan config", Pos{m.rep.File, 0}, "plan %q created with a minimal config, network access only, max CPE 1 (dhcpd6 allowed any number of devices behind a modem; the eRouter with its address and prefix is one): edit the plan, or import with --plan", DefaultPlanName)
		}
	}
	for _, name := range fileOrder {
		m.rep.Files = append(m.rep.Files, *files[name])
	}
	m.rep.CMFile, m.rep.MTAFile = cmFile, defaultMTAFile
	if mf := m.inv.settings[SettingMTAFile]; mf != "" {
		m.rep.MTAFile = mf
	}
}

func (m *mapper6) kindInStore(mac string) string {
	switch {
	case m.inv.mtas[mac].MAC != "":
		return store.KindMTA
	case m.inv.cpes[mac].MAC != "":
		return store.KindCPE
	}
	return ""
}

// summary notes what ip6m does differently from the file's dhcpd.
func (m *mapper6) summary() {
	for _, s := range m.w.subnets {
		if s.purpose == store.PurposeCM && len(s.ranges) > 0 {
			m.rep.note("cm range "+s.prefix.String(), s.ranges[0].pos, "subnet6 %s: dhcpd6 gave range6 addresses to any client on the link; ip6m gives them to the devices behind known modems (CPEs, eRouters) and refuses unknown modems (listed as refused in the UI)", s.prefix)
		}
	}
	slices.SortStableFunc(m.rep.Notes, func(a, b Note) int { return comparePos(a.Pos, b.Pos) })
}
