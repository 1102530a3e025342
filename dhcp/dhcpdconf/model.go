package dhcpdconf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"ip6m/store"
)

// This file walks the statement tree into declarations (subnets, pools,
// classes, hosts) with dhcpd's scoping: a parameter set in a scope applies
// to every scope inside it that does not set it itself, whatever the order
// of the statements.

// scope is one block that can hold parameters: the file itself, a
// shared-network, group, subnet, pool, class or host.
type scope struct {
	parent *scope
	own    params
}

// params are the parameters one scope sets itself.
type params struct {
	routers, dns, timeSrv, logSrv  *addrsAt
	timeOffset, defLease, maxLease *intAt
	domain, filename               *textAt
	denyBooting                    bool
	denyUnknown                    bool // deny unknown-clients outside any pool
	pktc                           bool // packetcable options: the scope is for MTAs
}

type addrsAt struct {
	pos   Pos
	addrs []netip.Addr
}

type intAt struct {
	pos Pos
	v   int64
}

type textAt struct {
	pos Pos
	v   string
}

// lookup walks up the scopes to the first that sets what get returns.
func lookup[T any](s *scope, get func(*params) *T) *T {
	for ; s != nil; s = s.parent {
		if v := get(&s.own); v != nil {
			return v
		}
	}
	return nil
}

func (s *scope) pktc() bool {
	for ; s != nil; s = s.parent {
		if s.own.pktc {
			return true
		}
	}
	return false
}

type sharedNet struct {
	pos  Pos
	name string
}

type subnetDecl struct {
	pos    Pos
	prefix netip.Prefix
	shared *sharedNet
	sc     *scope
	pools  []*poolDecl
	// access is the subnet's own allow/deny (for ranges outside pools).
	access access

	// Decided later.
	purpose  string
	why      string
	cmtsName string
	hosts    []*hostDecl // hosts whose fixed address is inside
}

// access is what a pool's allow/deny statements say.
type access struct {
	allowClasses, denyClasses []string
	unknown                   int // +1 allow unknown-clients, -1 deny, 0 unsaid
	known                     int
}

type poolDecl struct {
	pos    Pos
	subnet *subnetDecl // nil for a pool directly in a shared-network
	shared *sharedNet
	sc     *scope
	ranges []rangeDecl
	access access
}

type rangeDecl struct {
	pos         Pos
	first, last netip.Addr
}

type classDecl struct {
	pos       Pos
	name      string
	kind      string // store.PurposeCPE (remote-id), PurposeCM (docsis), PurposeMTA (pktc), "" unknown
	byRemote  bool   // match if … agent.remote-id = literal …: the class lists modems (the seed's "CMTS-1")
	spawn     bool   // match/spawn with option agent.remote-id: CPEs per modem, subclasses are modems
	byHW      bool   // match hardware: subclasses are devices
	limit     *intAt // lease limit: CPEs per modem
	members   []member
	rules     []remoteRule
	unmatched *Stmt // a match if … with no meaning for ip6m
}

type member struct {
	pos Pos
	mac string
}

// remoteRule is one "(option agent.remote-id = M) and (option
// dhcp-client-identifier != X) …" conjunct: CPEs behind modem M, except
// the devices X (the modem's MTA).
type remoteRule struct {
	pos     Pos
	modem   string
	exclude []string
}

type hostDecl struct {
	pos      Pos
	name     string
	sc       *scope
	mac      string
	macPos   Pos
	fixed    netip.Addr
	fixedPos Pos
	// Where the block sits (dhcpd does not care; a hint for the CMTS).
	inSubnet *subnetDecl
	inShared *sharedNet
	// Decided later.
	kind   string // store.KindCM, KindMTA, KindCPE
	why    string
	modem  string // for MTAs and CPEs
	subnet *subnetDecl
}

// walker turns statements into declarations.
type walker struct {
	rep      *Report
	global   *scope
	shared   []*sharedNet
	subnets  []*subnetDecl
	pools    []*poolDecl
	classes  map[string]*classDecl
	classOrd []*classDecl
	hosts    []*hostDecl
	// Server-wide values, first seen wins; later different ones are noted.
	settings map[string]*textAt
	setOrder []string
	opt66    *textAt // option tftp-server-name with an address
	primary  *textAt // option packetcable.primary-dhcp-server
	errs     []Note
}

func newWalker(rep *Report) *walker {
	return &walker{rep: rep, global: &scope{}, classes: map[string]*classDecl{}, settings: map[string]*textAt{}}
}

func (w *walker) fail(pos Pos, format string, args ...any) {
	w.errs = append(w.errs, Note{Pos: pos, Count: 1, Text: fmt.Sprintf(format, args...)})
}

// where is the kind of block a statement sits in.
type where struct {
	sc     *scope
	shared *sharedNet
	subnet *subnetDecl
	pool   *poolDecl
	host   *hostDecl
	class  *classDecl
}

func (w *walker) walk(stmts []*Stmt, in where) {
	for _, s := range stmts {
		w.stmt(s, in)
	}
}

func (w *walker) stmt(s *Stmt, in where) {
	a := s.Args
	if len(a) == 0 {
		w.unmapped(s, "a block without a name")
		return
	}
	kw := strings.ToLower(a[0].Text)
	if a[0].Kind != Word {
		kw = ""
	}
	if s.HasBlock {
		switch kw {
		case "shared-network", "subnet", "pool", "group", "host", "class", "subclass":
		case "if", "elsif", "else":
			w.rep.note("if", s.Pos, "if/else blocks are skipped: ip6m decides from the inventory, not from expressions (check what they did by hand)")
			return
		case "on":
			w.rep.note("on", s.Pos, "event blocks (on commit/expiry/release) are skipped: ip6m records every grant, renewal and expiry in its lease history itself")
			return
		case "subnet6", "pool6", "shared-network6":
			w.rep.note("v6", s.Pos, "DHCPv6 declarations are skipped: this importer reads a DHCPv4 dhcpd.conf (ip6m derives modem IPv6 addresses from its v6 networks)")
			return
		default:
			w.unmapped(s, "")
			return
		}
	}
	switch kw {
	case "shared-network":
		if len(a) != 2 || (a[1].Kind != Word && a[1].Kind != String) || !s.HasBlock {
			w.fail(s.Pos, "shared-network needs a name and a block: shared-network NAME { … }")
			return
		}
		sn := &sharedNet{pos: s.Pos, name: a[1].Text}
		w.shared = append(w.shared, sn)
		w.walk(s.Block, where{sc: &scope{parent: in.sc}, shared: sn})
	case "subnet":
		w.subnet(s, in)
	case "pool":
		if !s.HasBlock || len(a) != 1 || (in.subnet == nil && in.shared == nil) || in.pool != nil || in.host != nil || in.class != nil {
			w.fail(s.Pos, "pool { … } belongs in a subnet or a shared-network")
			return
		}
		p := &poolDecl{pos: s.Pos, subnet: in.subnet, shared: in.shared, sc: &scope{parent: in.sc}}
		w.pools = append(w.pools, p)
		if in.subnet != nil {
			in.subnet.pools = append(in.subnet.pools, p)
		}
		w.walk(s.Block, where{sc: p.sc, shared: in.shared, subnet: in.subnet, pool: p})
	case "group":
		if !s.HasBlock || in.host != nil || in.class != nil || in.pool != nil {
			w.fail(s.Pos, "group { … } belongs at the top, or in a shared-network or subnet")
			return
		}
		in.sc = &scope{parent: in.sc}
		w.walk(s.Block, in)
	case "host":
		w.host(s, in)
	case "class":
		w.class(s, in)
	case "subclass":
		w.subclass(s, in)
	case "range":
		w.rangeStmt(s, in)
	case "allow", "deny", "ignore":
		w.accessStmt(s, in, kw)
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
	case "filename":
		if len(a) != 2 || a[1].Kind != String {
			w.fail(s.Pos, `filename needs one quoted name: filename "cm/cm-2.cfg";`)
			return
		}
		in.sc.own.filename = &textAt{s.Pos, a[1].Text}
	case "next-server", "server-identifier":
		addr, ok := w.oneAddr(s, kw)
		if !ok {
			return
		}
		key := SettingTFTPIPv4
		if kw == "server-identifier" {
			key = SettingServerIPv4
		}
		w.setting(key, s.Pos, addr.String(), kw)
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
		if in.host.mac != "" && in.host.mac != mac {
			w.fail(s.Pos, "host %s has a second hardware ethernet %s (first %s at line %d)", in.host.name, mac, in.host.mac, in.host.macPos.Line)
			return
		}
		in.host.mac, in.host.macPos = mac, s.Pos
	case "fixed-address":
		if in.host == nil {
			w.unmapped(s, "fixed-address outside a host block")
			return
		}
		var addrs []netip.Addr
		for _, t := range a[1:] {
			if t.is(Punct, ",") {
				continue
			}
			ad, err := netip.ParseAddr(t.Text)
			if err != nil || !ad.Is4() || t.Kind != Word {
				w.fail(s.Pos, "fixed-address %s is not an IPv4 address (host names are not resolved on import)", t.Text)
				return
			}
			addrs = append(addrs, ad)
		}
		if len(addrs) == 0 {
			w.fail(s.Pos, "fixed-address without an address")
			return
		}
		if len(addrs) > 1 {
			w.rep.note("fixed-many", s.Pos, "host %s has %d fixed addresses; ip6m keeps one per device, the first (%s)", in.host.name, len(addrs), addrs[0])
		}
		in.host.fixed, in.host.fixedPos = addrs[0], s.Pos
	case "lease":
		if in.class != nil && len(a) == 3 && a[1].isWord("limit") && a[2].Kind == Number {
			v, err := strconv.ParseInt(a[2].Text, 10, 64)
			if err != nil || v < 0 {
				w.fail(s.Pos, "lease limit %s is not a count", a[2].Text)
				return
			}
			in.class.limit = &intAt{s.Pos, v}
			return
		}
		w.unmapped(s, "")
	case "match", "spawn":
		if in.class == nil {
			w.unmapped(s, kw+" outside a class")
			return
		}
		w.match(s, in.class)
	case "include":
		w.fail(s.Pos, `include needs one quoted file name: include "file";`)
	case "if", "elsif", "else":
		w.rep.note("if", s.Pos, "if/else blocks are skipped: ip6m decides from the inventory, not from expressions (check what they did by hand)")
	case "fixed-address6", "range6", "prefix6", "subnet6":
		w.rep.note("v6", s.Pos, "DHCPv6 declarations are skipped: this importer reads a DHCPv4 dhcpd.conf (ip6m derives modem IPv6 addresses from its v6 networks)")
	default:
		if why, ok := ignored[kw]; ok {
			w.rep.note("ignored "+kw, s.Pos, "%s: not needed, %s", statementName(s), why)
			return
		}
		w.unmapped(s, "")
	}
}

// ignored are server-wide statements ip6m does not need, and why.
var ignored = map[string]string{
	"authoritative":              "ip6m answers authoritatively on the networks it knows",
	"not":                        "ip6m answers authoritatively on the networks it knows",
	"ddns-update-style":          "ip6m does not update DNS zones",
	"ddns-updates":               "ip6m does not update DNS zones",
	"log-facility":               "ip6m logs through its own logger",
	"log":                        "ip6m logs every grant itself (LEASE LOG|ip|remote-id|client-id) and keeps a lease history",
	"omapi-port":                 "ip6m has its own web UI and API",
	"omapi-key":                  "ip6m has its own web UI and API",
	"key":                        "ip6m has its own web UI and API",
	"use-host-decl-names":        "ip6m names devices by MAC",
	"one-lease-per-client":       "ip6m keeps one lease per client",
	"ping-check":                 "ip6m tracks its own leases",
	"ping-timeout":               "ip6m tracks its own leases",
	"lease-file-name":            "ip6m keeps leases in its database",
	"pid-file-name":              "ip6m runs as one process",
	"db-time-format":             "ip6m keeps leases in its database",
	"update-static-leases":       "ip6m records leases of fixed addresses too",
	"stash-agent-options":        "ip6m reads option 82 from every request",
	"always-reply-rfc1048":       "ip6m always answers with options",
	"get-lease-hostnames":        "ip6m does not look up host names",
	"local-port":                 "ip6m's listen address is a flag of ip6m serve",
	"local-address":              "ip6m's listen address is a flag of ip6m serve",
	"min-lease-time":             "ip6m uses the network's lease time (less if the client asks)",
	"boot-unknown-clients":       "ip6m's unknown-modem policy is per network",
	"dynamic-bootp-lease-length": "ip6m does not serve BOOTP",
}

// statementName is a statement's first words, for notes: "option option-120".
func statementName(s *Stmt) string {
	n := 1
	if len(s.Args) > 1 && (s.Args[0].isWord("option") || s.Args[0].isWord("not")) {
		n = 2
	}
	parts := make([]string, 0, n)
	for _, t := range s.Args[:min(n, len(s.Args))] {
		parts = append(parts, tokenText(t))
	}
	return strings.Join(parts, " ")
}

// unmapped records a statement the importer has no mapping for.
func (w *walker) unmapped(s *Stmt, why string) {
	name := "(empty)"
	if len(s.Args) > 0 {
		name = statementName(s)
	}
	if why == "" {
		why = "ip6m has no equivalent"
	}
	w.rep.note("unmapped "+name, s.Pos, "%s: not mapped (%s)", name, why)
}

func (w *walker) oneAddr(s *Stmt, what string) (netip.Addr, bool) {
	if len(s.Args) != 2 {
		w.fail(s.Pos, "%s needs one IPv4 address", what)
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s.Args[1].Text)
	if err != nil || !a.Is4() || s.Args[1].Kind != Word {
		w.fail(s.Pos, "%s %s is not an IPv4 address (host names are not resolved on import)", what, s.Args[1].Text)
		return netip.Addr{}, false
	}
	return a, true
}

// setting remembers a server-wide value; ip6m has one of each.
func (w *walker) setting(key string, pos Pos, v, what string) {
	if old, ok := w.settings[key]; ok {
		if old.v != v {
			w.rep.note("setting "+key+" "+v, pos, "%s %s differs from %s at %s; ip6m has one %s, the first is kept", what, v, old.v, old.pos, key)
		}
		return
	}
	w.settings[key] = &textAt{pos, v}
	w.setOrder = append(w.setOrder, key)
}

func (w *walker) subnet(s *Stmt, in where) {
	a := s.Args
	if len(a) != 4 || !a[2].isWord("netmask") || !s.HasBlock {
		w.fail(s.Pos, "subnet needs an address, a netmask and a block: subnet 10.1.0.0 netmask 255.255.0.0 { … }")
		return
	}
	if in.pool != nil || in.host != nil || in.class != nil || in.subnet != nil {
		w.fail(s.Pos, "a subnet cannot sit inside another declaration")
		return
	}
	addr, err1 := netip.ParseAddr(a[1].Text)
	mask, err2 := netip.ParseAddr(a[3].Text)
	if err1 != nil || err2 != nil || !addr.Is4() || !mask.Is4() {
		w.fail(s.Pos, "subnet %s netmask %s: not IPv4 addresses", a[1].Text, a[3].Text)
		return
	}
	bits, ok := maskBits(mask)
	if !ok {
		w.fail(s.Pos, "netmask %s is not a contiguous mask", mask)
		return
	}
	pfx := netip.PrefixFrom(addr, bits)
	if pfx.Masked() != pfx {
		w.fail(s.Pos, "subnet %s netmask %s has host bits set; did you mean %s?", addr, mask, pfx.Masked().Addr())
		return
	}
	for _, o := range w.subnets {
		if o.prefix == pfx {
			w.fail(s.Pos, "subnet %s is declared twice (first at %s)", pfx, o.pos)
			return
		}
	}
	sd := &subnetDecl{pos: s.Pos, prefix: pfx, shared: in.shared, sc: &scope{parent: in.sc}}
	w.subnets = append(w.subnets, sd)
	w.walk(s.Block, where{sc: sd.sc, shared: in.shared, subnet: sd})
}

func maskBits(m netip.Addr) (int, bool) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}

func (w *walker) rangeStmt(s *Stmt, in where) {
	if in.subnet == nil && in.pool == nil {
		w.fail(s.Pos, "range belongs in a subnet or a pool")
		return
	}
	var addrs []netip.Addr
	for _, t := range s.Args[1:] {
		if t.isWord("dynamic-bootp") {
			w.rep.note("bootp", s.Pos, "range dynamic-bootp: ip6m does not serve BOOTP; the range is imported for DHCP")
			continue
		}
		a, err := netip.ParseAddr(t.Text)
		if err != nil || !a.Is4() || t.Kind != Word {
			w.fail(s.Pos, "range: %s is not an IPv4 address", tokenText(t))
			return
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 1 {
		addrs = append(addrs, addrs[0])
	}
	if len(addrs) != 2 {
		w.fail(s.Pos, "range needs a first and a last address")
		return
	}
	if addrs[1].Less(addrs[0]) {
		w.fail(s.Pos, "range %s %s: the first address is after the last", addrs[0], addrs[1])
		return
	}
	r := rangeDecl{pos: s.Pos, first: addrs[0], last: addrs[1]}
	if in.pool == nil {
		// A range outside pools is a pool with the subnet's own access.
		p := &poolDecl{pos: s.Pos, subnet: in.subnet, shared: in.shared, sc: in.sc, ranges: []rangeDecl{r}}
		w.pools = append(w.pools, p)
		in.subnet.pools = append(in.subnet.pools, p)
		return
	}
	in.pool.ranges = append(in.pool.ranges, r)
}

func (w *walker) accessStmt(s *Stmt, in where, kw string) {
	a := s.Args
	allow := kw == "allow"
	var acc *access
	switch {
	case in.pool != nil:
		acc = &in.pool.access
	case in.subnet != nil && in.host == nil && in.class == nil:
		acc = &in.subnet.access
	}
	sign := -1
	if allow {
		sign = 1
	}
	switch {
	case len(a) == 2 && a[1].isWord("booting"):
		if in.pool == nil && in.class == nil && !allow {
			in.sc.own.denyBooting = true // the hosts in this scope are disabled
			return
		}
		if !allow || in.pool != nil || in.class != nil {
			w.rep.note("deny booting", s.Pos, "%s booting in a pool or class: not mapped (ip6m disables modems one by one)", kw)
		}
	case len(a) == 2 && (a[1].isWord("unknown-clients") || a[1].isWord("known-clients")) && acc != nil:
		if a[1].isWord("unknown-clients") {
			acc.unknown = sign
		} else {
			acc.known = sign
		}
	case len(a) == 2 && (a[1].isWord("unknown-clients") || a[1].isWord("known-clients")) && in.host == nil && in.class == nil:
		w.rep.note("access global", s.Pos, "%s %s outside a subnet or pool: applied to every pool that says nothing itself", kw, a[1].Text)
		if a[1].isWord("unknown-clients") && sign < 0 {
			in.sc.own.denyUnknown = true
		}
	case len(a) == 4 && a[1].isWord("members") && a[2].isWord("of") && a[3].Kind == String && acc != nil:
		if allow {
			acc.allowClasses = append(acc.allowClasses, a[3].Text)
		} else {
			acc.denyClasses = append(acc.denyClasses, a[3].Text)
		}
	default:
		w.unmapped(s, "")
	}
}

func (w *walker) host(s *Stmt, in where) {
	if !s.HasBlock || len(s.Args) != 2 {
		w.fail(s.Pos, "host needs a name and a block: host NAME { … }")
		return
	}
	if in.host != nil || in.class != nil || in.pool != nil {
		w.fail(s.Pos, "a host cannot sit inside a host, class or pool")
		return
	}
	h := &hostDecl{pos: s.Pos, name: s.Args[1].Text, sc: &scope{parent: in.sc}, inSubnet: in.subnet, inShared: in.shared}
	w.walk(s.Block, where{sc: h.sc, shared: in.shared, subnet: in.subnet, host: h})
	w.scopedOptions(h.sc, "host "+h.name, s.Pos)
	if h.mac == "" {
		w.rep.note("host without mac", s.Pos, "host %s has no hardware ethernet: not imported (ip6m knows devices by MAC)", h.name)
		return
	}
	w.hosts = append(w.hosts, h)
}

func (w *walker) class(s *Stmt, in where) {
	if len(s.Args) != 2 || (s.Args[1].Kind != String && s.Args[1].Kind != Word) || !s.HasBlock {
		w.fail(s.Pos, `class needs a quoted name and a block: class "NAME" { … }`)
		return
	}
	name := s.Args[1].Text
	if _, dup := w.classes[name]; dup {
		w.fail(s.Pos, "class %q is declared twice", name)
		return
	}
	c := &classDecl{pos: s.Pos, name: name}
	w.classes[name] = c
	w.classOrd = append(w.classOrd, c)
	sc := &scope{parent: in.sc}
	w.walk(s.Block, where{sc: sc, class: c})
	w.scopedOptions(sc, fmt.Sprintf("class %q", name), s.Pos)
	if c.unmatched != nil && c.kind == "" {
		w.unmapped(c.unmatched, "ip6m classifies devices from the inventory; this match expression has no equivalent")
	}
	if sc.own.pktc && c.kind == "" {
		c.kind = store.PurposeMTA
	}
	if c.kind == "" && strings.HasPrefix(name, "cpe-plan-") {
		c.kind = store.PurposeCPE
	}
}

// scopedOptions notes network options set for one host or class: ip6m
// keeps them per network.
func (w *walker) scopedOptions(sc *scope, what string, pos Pos) {
	o := sc.own
	if o.routers != nil || o.dns != nil || o.timeSrv != nil || o.logSrv != nil || o.timeOffset != nil || o.domain != nil || o.defLease != nil || o.maxLease != nil {
		w.rep.note("scoped options", pos, "network options inside %s: not mapped (ip6m sets them per network, from the subnet and the file)", what)
	}
}

// match reads a class's match/spawn statement.
func (w *walker) match(s *Stmt, c *classDecl) {
	a := s.Args
	has := func(word string) bool {
		for _, t := range a {
			if t.isWord(word) {
				return true
			}
		}
		return false
	}
	// match option agent.remote-id; spawn with option agent.remote-id;
	if len(a) >= 3 && a[len(a)-2].isWord("option") && a[len(a)-1].isWord("agent.remote-id") && !has("if") {
		c.spawn, c.kind = true, store.PurposeCPE
		return
	}
	if len(a) == 2 && a[1].isWord("hardware") {
		c.byHW = true
		return
	}
	if !has("if") {
		w.unmapped(s, "only match if …, match hardware and match/spawn with option agent.remote-id are understood")
		return
	}
	for i, t := range a {
		if t.Kind == String && i >= 2 && a[i-1].is(Punct, "=") && has("vendor-class-identifier") {
			switch v := strings.ToLower(t.Text); {
			case strings.HasPrefix(v, "docsis"):
				c.kind = store.PurposeCM
			case strings.HasPrefix(v, "pktc"):
				c.kind = store.PurposeMTA
			}
		}
	}
	// The seed's rule: conjuncts separated by "or", each naming a modem by
	// remote-id and excluding its MTA by client identifier.
	var cur *remoteRule
	var pending []string
	for i := 0; i < len(a); i++ {
		t := a[i]
		if t.isWord("or") {
			if cur != nil {
				c.rules = append(c.rules, *cur)
			}
			cur, pending = nil, nil
			continue
		}
		if !t.isWord("option") || i+3 >= len(a) {
			continue
		}
		opt, op, val := a[i+1], a[i+2], a[i+3]
		switch {
		case opt.isWord("agent.remote-id") && op.is(Punct, "="):
			mac, err := macFromKey(val)
			if err != nil {
				w.fail(s.Pos, "class %q: agent.remote-id %s is not a modem MAC", c.name, tokenText(val))
				return
			}
			if cur != nil {
				c.rules = append(c.rules, *cur)
			}
			cur = &remoteRule{pos: Pos{s.Pos.File, val.Line}, modem: mac, exclude: pending}
			pending = nil
			c.byRemote, c.kind = true, store.PurposeCPE
			i += 3
		case opt.isWord("dhcp-client-identifier") && op.is(Punct, "!="):
			mac, ok := macFromClientID(val)
			if !ok {
				w.rep.note("client-id "+val.Text, Pos{s.Pos.File, val.Line}, "class %q: client identifier %s is not a MAC (1:MAC or RFC 4361 ff:…): not mapped", c.name, tokenText(val))
				i += 3
				continue
			}
			if cur != nil {
				cur.exclude = append(cur.exclude, mac)
			} else {
				pending = append(pending, mac)
			}
			i += 3
		}
	}
	if cur != nil {
		c.rules = append(c.rules, *cur)
	}
	if c.kind == "" && !c.byRemote && c.unmatched == nil {
		c.unmatched = s // noted at the class's end unless spawn gives it a meaning
	}
}

func (w *walker) subclass(s *Stmt, in where) {
	a := s.Args
	if len(a) != 3 || (a[1].Kind != String && a[1].Kind != Word) {
		w.fail(s.Pos, `subclass needs a class name and a key: subclass "NAME" KEY;`)
		return
	}
	c := w.classes[a[1].Text]
	if c == nil {
		w.fail(s.Pos, "subclass of class %q, which is not declared before it", a[1].Text)
		return
	}
	if s.HasBlock && len(s.Block) > 0 {
		w.rep.note("subclass block", s.Pos, "statements inside subclass blocks are not mapped")
	}
	mac, err := macFromKey(a[2])
	if !c.spawn && !c.byHW || err != nil {
		w.rep.note("subclass "+c.name, s.Pos, "subclass %q %s: only subclasses keyed by a modem MAC (remote-id or hardware) are mapped", c.name, tokenText(a[2]))
		return
	}
	c.members = append(c.members, member{pos: s.Pos, mac: mac})
}

// macFromKey reads a MAC from a remote-id or subclass key: colon hex (one
// or two digits a group, with or without the hardware type 1 in front), or
// a quoted six-byte string.
func macFromKey(t Token) (string, error) {
	switch t.Kind {
	case Hex:
		b, ok := hexBytes(t.Text)
		if ok && len(b) == 7 && b[0] == 1 {
			b = b[1:]
		}
		if ok && len(b) == 6 {
			return macString(b), nil
		}
	case String:
		if len(t.Text) == 6 {
			return macString([]byte(t.Text)), nil
		}
	}
	return store.NormalizeMAC(t.Text)
}

// macFromClientID reads the MAC from a client identifier: type 1 and the
// MAC, the MAC alone, or RFC 4361's ff, IAID and a DUID-LL/LLT.
func macFromClientID(t Token) (string, bool) {
	var b []byte
	switch t.Kind {
	case Hex:
		var ok bool
		if b, ok = hexBytes(t.Text); !ok {
			return "", false
		}
	case String:
		b = []byte(t.Text)
	default:
		return "", false
	}
	switch {
	case len(b) == 7 && b[0] == 1, len(b) == 6:
		return macString(b[len(b)-6:]), true
	case len(b) == 15 && b[0] == 0xff && b[5] == 0 && b[6] == 3 && b[7] == 0 && b[8] == 1: // DUID-LL, Ethernet
		return macString(b[9:]), true
	case len(b) == 19 && b[0] == 0xff && b[5] == 0 && b[6] == 1 && b[7] == 0 && b[8] == 1: // DUID-LLT, Ethernet
		return macString(b[13:]), true
	}
	return "", false
}

func hexBytes(s string) ([]byte, bool) {
	var out []byte
	for _, g := range strings.Split(s, ":") {
		if len(g) < 1 || len(g) > 2 {
			return nil, false
		}
		v := 0
		for i := 0; i < len(g); i++ {
			if !isHexDigit(g[i]) {
				return nil, false
			}
			v = v*16 + hexVal(g[i])
		}
		out = append(out, byte(v))
	}
	return out, true
}

func macString(b []byte) string {
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
