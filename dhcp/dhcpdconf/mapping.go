package dhcpdconf

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"ip6m/store"
)

// How a dhcpd.conf maps onto the inventory:
//
//   - subnet A netmask M → a v4 network. Options come from the subnet or the
//     scopes around it (group, shared-network, the file): routers (the
//     first is the gateway), domain-name-servers, time-servers, log-servers,
//     time-offset, domain-name, default-/max-lease-time (dhcpd's defaults,
//     12 h and 24 h, when unset). Ranges in the subnet, its pools, or pools
//     of its shared-network become the network's ranges.
//   - Purpose: a pool allowing members of a remote-id class (the seed's
//     "CMTS-1", export's "cpe-plan-N", any class spawning by
//     agent.remote-id) → cpe; of a docsis vendor class → cm; of a pktc
//     class, or PacketCable options in the subnet or pool → mta. Failing
//     that, the hosts whose fixed addresses it holds (cm, mta, cpe); a
//     subnet without ranges that holds the server's address → server;
//     anything else → cm, with a note.
//   - Unknown-modem policy (cm networks): walled when a range's pool admits
//     clients no host declares (no deny unknown-clients, or members of a
//     docsis class), else ignore. Other networks: ignore.
//   - CMTS: the shared-network's name, else the remote-id class (named
//     after its CMTS, as the seed's) that a pool allows or that names the
//     subnet's modems, else Options.CMTS. Created when missing.
//   - host → a modem, unless it is an MTA (a class rule excludes its MAC as
//     a dhcp-client-identifier, 1:MAC or RFC 4361 ff:…, behind a modem's
//     remote-id; or its name or file says mta/pktc; or its address is in an
//     mta network) or a CPE (its name says cpe, or its address is in a cpe
//     network). An MTA's modem is the rule's remote-id, else the modem at
//     MAC−1; a CPE's, the modem at MAC−1…3. Modems are disabled by deny
//     booting or a disabled/no-access config file; their CMTS is their
//     subnet's (or their remote-id class's, or the only one).
//   - MACs that class rules or subclasses name, without a host, are modems
//     (the seed's known-modem list); excluded client identifiers without a
//     host are those modems' MTAs.
//   - Plans: Options.Plan, else "Imported from dhcpd.conf" with the CPE
//     classes' lease limit as max CPE (1 when none), and when classes have
//     different limits, one plan per other limit for its subclass modems.
//   - next-server (or option tftp-server-name holding an address) →
//     tftp.ipv4; server-identifier (or packetcable.primary-dhcp-server) →
//     server.ipv4; packetcable.kerberos-realm-name (DNS wire form) →
//     pktc.realm; packetcable.provisioning-server → pktc.provisioner.
//   - filename: ip6m names configs itself, so each distinct name is
//     reported once with its host count; everything else unmapped is
//     reported with its file and line, repeated statements once with a
//     count.

// mapper decides what the declarations become in ip6m's inventory.
type mapper struct {
	w    *walker
	inv  *inventory
	opts Options
	rep  *Report
	file string

	server  netip.Addr
	ranges  map[*subnetDecl][]poolRange
	strong  map[*subnetDecl]string // purpose from pools and classes alone
	byMAC   map[string]*hostDecl
	modems  map[string]*modemItem // every modem of the file, by MAC
	devices map[string]string     // MAC → kind, for everything imported
	fixed   map[netip.Addr]string // fixed address → MAC, file and store
	// remoteCMTS maps a modem to the remote-id class (named after its
	// CMTS, as the seed's "CMTS-1") whose rule names it.
	remoteCMTS map[string]string
	b          *batch
}

type poolRange struct {
	r    rangeDecl
	pool *poolDecl
}

func (m *mapper) fail(pos Pos, format string, args ...any) {
	m.rep.Errors = append(m.rep.Errors, Note{Pos: pos, Count: 1, Text: fmt.Sprintf(format, args...)})
}

func (m *mapper) run() *batch {
	m.b = &batch{}
	m.ranges = map[*subnetDecl][]poolRange{}
	m.strong = map[*subnetDecl]string{}
	m.byMAC = map[string]*hostDecl{}
	m.modems = map[string]*modemItem{}
	m.devices = map[string]string{}
	m.fixed = map[netip.Addr]string{}
	for a, mac := range m.inv.fixed {
		m.fixed[a] = mac
	}
	for _, p := range m.w.pools {
		if p.subnet != nil && p.sc == p.subnet.sc {
			p.access = p.subnet.access // a range outside pools: the subnet's allow/deny
		}
	}
	m.serverAddress()
	m.assignRanges()
	for _, s := range m.w.subnets {
		m.strong[s] = m.strongPurpose(s)
	}
	m.remoteCMTS = map[string]string{}
	for _, c := range m.w.classOrd {
		if c.byRemote && !c.spawn {
			for _, r := range c.rules {
				if _, ok := m.remoteCMTS[r.modem]; !ok {
					m.remoteCMTS[r.modem] = c.name
				}
			}
		}
	}
	m.classifyHosts()
	for _, s := range m.w.subnets {
		m.decideSubnet(s)
	}
	plans := m.plans()
	m.networks()
	m.settings()
	m.devicesOut(plans)
	m.summary()
	return m.b
}

// serverAddress is ip6m's own address: server-identifier, else the
// PacketCable primary DHCP server, else what the store says.
func (m *mapper) serverAddress() {
	if s, ok := m.w.settings[SettingServerIPv4]; ok {
		m.server = netip.MustParseAddr(s.v)
		return
	}
	if p := m.w.primary; p != nil {
		m.w.setting(SettingServerIPv4, p.pos, p.v, "packetcable.primary-dhcp-server")
		m.rep.note("server from pktc", p.pos, "no server-identifier: ip6m's address (server.ipv4) is taken from option packetcable.primary-dhcp-server %s", p.v)
		m.server = netip.MustParseAddr(p.v)
		return
	}
	if a, err := netip.ParseAddr(m.inv.settings[SettingServerIPv4]); err == nil {
		m.server = a
	}
}

func (m *mapper) subnetFor(a netip.Addr) *subnetDecl {
	var best *subnetDecl
	for _, s := range m.w.subnets {
		if s.prefix.Contains(a) && (best == nil || s.prefix.Bits() > best.prefix.Bits()) {
			best = s
		}
	}
	return best
}

// assignRanges gives every range to its subnet (a pool in a
// shared-network may hold ranges of any of its subnets).
func (m *mapper) assignRanges() {
	for _, p := range m.w.pools {
		for _, r := range p.ranges {
			s := p.subnet
			if s == nil {
				s = m.subnetFor(r.first)
			}
			if s == nil || !s.prefix.Contains(r.first) || !s.prefix.Contains(r.last) {
				where := "any subnet"
				if p.subnet != nil {
					where = "its subnet " + p.subnet.prefix.String()
				}
				m.fail(r.pos, "range %s %s is not inside %s", r.first, r.last, where)
				continue
			}
			m.ranges[s] = append(m.ranges[s], poolRange{r, p})
		}
	}
}

// poolKinds are the device kinds a pool's allowed classes name.
func (m *mapper) poolKinds(p *poolDecl) []string {
	var out []string
	for _, name := range p.access.allowClasses {
		c := m.w.classes[name]
		if c == nil {
			m.rep.note("undeclared class "+name, p.pos, "pool allows members of %q, which is not declared", name)
			continue
		}
		if c.kind != "" {
			out = append(out, c.kind)
		}
	}
	return out
}

// pktcBelow reports packetcable options in a scope below the file's own.
func pktcBelow(sc *scope) bool {
	for ; sc != nil && sc.parent != nil; sc = sc.parent {
		if sc.own.pktc {
			return true
		}
	}
	return false
}

// strongPurpose is what a subnet's pools and options say it is for.
func (m *mapper) strongPurpose(s *subnetDecl) string {
	count := map[string]int{}
	var order []string
	for _, pr := range m.ranges[s] {
		for _, k := range m.poolKinds(pr.pool) {
			if count[k] == 0 {
				order = append(order, k)
			}
			count[k]++
		}
		if pktcBelow(pr.pool.sc) && count[store.PurposeMTA] == 0 {
			order = append(order, store.PurposeMTA)
			count[store.PurposeMTA]++
		}
	}
	if len(order) == 0 && pktcBelow(s.sc) {
		return store.PurposeMTA
	}
	if len(order) > 1 {
		m.rep.note("mixed "+s.prefix.String(), s.pos, "subnet %s has pools for %s; ip6m gives a network one purpose: %s", s.prefix, strings.Join(order, " and "), order[0])
	}
	if len(order) > 0 {
		return order[0]
	}
	return ""
}

// containsAny reports whether s contains any of the words, ignoring case.
func containsAny(s string, words ...string) bool {
	s = strings.ToLower(s)
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// classifyHosts decides what each host is: an MTA when a class rule
// excludes its MAC as a client identifier behind a modem's remote-id, when
// its name or config file says mta/pktc, or when its fixed address is in
// an MTA network; a CPE when its name says cpe or its address is in a CPE
// network; otherwise a cable modem.
func (m *mapper) classifyHosts() {
	excluded := map[string]remoteRule{}
	remote := map[string]bool{}
	for _, c := range m.w.classOrd {
		for _, r := range c.rules {
			remote[r.modem] = true
			for _, x := range r.exclude {
				if _, ok := excluded[x]; !ok {
					excluded[x] = remoteRule{pos: r.pos, modem: r.modem}
				}
			}
		}
		for _, mem := range c.members {
			remote[mem.mac] = true
		}
	}
	for _, h := range m.w.hosts {
		if prev, dup := m.byMAC[h.mac]; dup {
			if prev.fixed != h.fixed && h.fixed.IsValid() {
				m.rep.note("dup host "+h.mac, h.pos, "host %s repeats hardware ethernet %s of host %s (%s) with another address; ip6m has one device per MAC, the first is kept", h.name, h.mac, prev.name, prev.pos)
			}
			continue
		}
		m.byMAC[h.mac] = h
		if h.fixed.IsValid() {
			h.subnet = m.subnetFor(h.fixed)
		}
		file := ""
		if f := lookup(h.sc, func(p *params) *textAt { return p.filename }); f != nil {
			file = f.v
		}
		strong := ""
		if h.subnet != nil {
			strong = m.strong[h.subnet]
		}
		switch r, ok := excluded[h.mac]; {
		case ok && !remote[h.mac]:
			h.kind, h.modem, h.why = store.KindMTA, r.modem, "excluded by client identifier behind remote-id "+r.modem
		case containsAny(h.name, "mta", "pktc", "emta") || containsAny(file, "mta", "pktc"):
			h.kind, h.why = store.KindMTA, "its name or config file says MTA"
		case strong == store.PurposeMTA:
			h.kind, h.why = store.KindMTA, "its address is in an MTA network"
		case containsAny(h.name, "cpe") && !remote[h.mac] || strong == store.PurposeCPE:
			h.kind, h.why = store.KindCPE, "its name or network says CPE"
		default:
			h.kind = store.KindCM
		}
		if h.subnet != nil {
			h.subnet.hosts = append(h.subnet.hosts, h)
		}
	}
}

// decideSubnet settles a subnet's purpose and CMTS.
func (m *mapper) decideSubnet(s *subnetDecl) {
	s.purpose = m.strong[s]
	if s.purpose == "" {
		kinds := map[string]int{}
		for _, h := range s.hosts {
			kinds[h.kind]++
		}
		switch {
		case kinds[store.KindCM] > 0:
			s.purpose = store.PurposeCM
		case kinds[store.KindMTA] > 0:
			s.purpose = store.PurposeMTA
		case kinds[store.KindCPE] > 0:
			s.purpose = store.PurposeCPE
		case len(m.ranges[s]) == 0 && m.server.IsValid() && s.prefix.Contains(m.server):
			s.purpose = store.PurposeServer
		default:
			s.purpose = store.PurposeCM
			m.rep.note("purpose "+s.prefix.String(), s.pos, "subnet %s: nothing says what it is for (no class in its pools, no hosts in it, not the server's); imported as a cable modem network", s.prefix)
		}
	}
	if s.purpose == store.PurposeServer {
		return
	}
	if s.shared != nil {
		s.cmtsName = s.shared.name
		return
	}
	for _, pr := range m.ranges[s] {
		for _, name := range pr.pool.access.allowClasses {
			if c := m.w.classes[name]; c != nil && c.byRemote && !c.spawn {
				s.cmtsName = c.name
				return
			}
		}
	}
	// A subnet of fixed addresses: the remote-id class naming its modems.
	for _, h := range s.hosts {
		if name, ok := m.remoteCMTS[h.mac]; ok {
			s.cmtsName = name
			return
		}
	}
	s.cmtsName = m.opts.CMTS
}

// plans decides the plans: Options.Plan for every modem, or the imported
// plan(s). It returns the plan name per modem MAC ("" key: the default).
func (m *mapper) plans() map[string]string {
	out := map[string]string{}
	if m.opts.Plan != "" {
		p, ok := m.inv.plans[strings.ToLower(m.opts.Plan)]
		if !ok {
			m.fail(Pos{m.rep.File, 0}, "plan %q does not exist (create it first, or leave --plan out to create %q)", m.opts.Plan, DefaultPlanName)
			return out
		}
		out[""] = p.Name
		for _, c := range m.w.classOrd {
			if c.limit != nil && c.limit.v != p.MaxCPE {
				m.rep.note("limit vs plan", c.limit.pos, "lease limit %d of class %q is not used: every modem goes on plan %q, which allows %d CPEs", c.limit.v, c.name, p.Name, p.MaxCPE)
			}
		}
		return out
	}
	// CPE classes with a lease limit: the CPEs a modem may have.
	var limited []*classDecl
	limits := map[int64]bool{}
	for _, c := range m.w.classOrd {
		if c.kind == store.PurposeCPE && c.limit != nil {
			limited = append(limited, c)
			limits[c.limit.v] = true
		}
	}
	def := int64(1)
	if len(limits) == 1 {
		def = limited[0].limit.v
	}
	if len(limits) == 0 {
		for _, c := range m.w.classOrd {
			if c.kind == store.PurposeCPE {
				m.rep.note("no limit", c.pos, "no CPE class sets a lease limit: the imported plan allows 1 CPE per modem (dhcpd allowed any number); raise the plan's max CPE if customers have more")
				break
			}
		}
	}
	m.addPlan(DefaultPlanName, def, "", "")
	out[""] = DefaultPlanName
	if len(limits) > 1 {
		// Several limits: a plan per class with a limit other than the
		// default plan's, its subclass modems on it.
		for _, c := range limited {
			if c.limit.v == def {
				continue
			}
			name := truncate("Imported: "+c.name, 64)
			m.addPlan(name, c.limit.v, c.name, c.limit.pos.String())
			for _, mem := range c.members {
				if _, ok := out[mem.mac]; !ok {
					out[mem.mac] = name
				}
			}
		}
	}
	return out
}

func (m *mapper) addPlan(name string, maxCPE int64, class, pos string) {
	if maxCPE > 254 {
		m.rep.note("limit "+class, Pos{m.rep.File, 0}, "lease limit %d of class %q is more than a DOCSIS config allows; the plan allows 254 CPEs", maxCPE, class)
		maxCPE = 254
	}
	if p, ok := m.inv.plans[strings.ToLower(name)]; ok {
		m.rep.Present.Plans++
		if p.MaxCPE != maxCPE {
			m.rep.note("plan present "+name, Pos{m.rep.File, 0}, "plan %q already exists with max CPE %d (the file says %d): kept as it is", p.Name, p.MaxCPE, maxCPE)
		}
		return
	}
	desc := "Created by ip6m import dhcpd from " + m.file + ": network access only, no service flows. Edit its config before relying on it."
	if class != "" {
		desc = fmt.Sprintf("Created by ip6m import dhcpd from %s for the modems of class %q (lease limit at %s): network access only. Edit its config.", m.file, class, pos)
	}
	cfg := planConfig
	if maxCPE == 0 {
		cfg = "Main { NetworkAccess 1; }" // a DOCSIS MaxCPE is 1..254
	}
	m.b.plans = append(m.b.plans, &planItem{p: store.Plan{Name: name, Description: desc, Config: cfg, MaxCPE: maxCPE}, class: class})
	m.rep.Created.Plans++
}

// networks builds one network per subnet.
func (m *mapper) networks() {
	newCMTS := map[string]bool{}
	for _, s := range m.w.subnets {
		if s.cmtsName != "" {
			if _, ok := m.inv.cmts[strings.ToLower(s.cmtsName)]; !ok && !newCMTS[strings.ToLower(s.cmtsName)] {
				if len(s.cmtsName) > 64 {
					m.fail(s.pos, "CMTS name %q is longer than 64 characters", s.cmtsName)
					continue
				}
				newCMTS[strings.ToLower(s.cmtsName)] = true
				m.b.cmts = append(m.b.cmts, &store.CMTS{Name: s.cmtsName, SNMPRead: "public", Notes: "created by ip6m import dhcpd from " + m.file})
				m.rep.Created.CMTS++
			} else if ok && !newCMTS[strings.ToLower(s.cmtsName)] {
				newCMTS[strings.ToLower(s.cmtsName)] = true
				m.rep.Present.CMTS++
			}
		}
		if old, ok := m.inv.nets[s.prefix]; ok {
			m.rep.Present.Networks++
			// Its modems follow the network as the inventory has it.
			s.cmtsName = ""
			for _, c := range m.inv.cmts {
				if c.ID == old.CMTSID {
					s.cmtsName = c.Name
				}
			}
			if old.Purpose != s.purpose {
				m.rep.note("net present "+s.prefix.String(), s.pos, "network %s already exists (purpose %s; the file says %s): kept as it is", s.prefix, old.Purpose, s.purpose)
			}
			continue
		}
		m.b.nets = append(m.b.nets, &netItem{n: m.network(s), cmts: s.cmtsName, pos: s.pos})
		m.rep.Created.Networks++
	}
}

func (m *mapper) network(s *subnetDecl) store.Network {
	n := store.Network{Prefix: s.prefix.String(), Purpose: s.purpose, Notes: "imported from " + s.pos.String()}
	switch {
	case s.purpose == store.PurposeServer:
		n.Name = "Server LAN"
	default:
		n.Name = truncate(s.cmtsName, 64-len(s.purpose)-1) + " " + s.purpose
	}
	sc := s.sc
	addrs := func(get func(*params) *addrsAt) []netip.Addr {
		if v := lookup(sc, get); v != nil {
			return v.addrs
		}
		return nil
	}
	if r := lookup(sc, func(p *params) *addrsAt { return p.routers }); r != nil && len(r.addrs) > 0 {
		if !s.prefix.Contains(r.addrs[0]) {
			m.fail(r.pos, "option routers %s is not inside subnet %s", r.addrs[0], s.prefix)
		}
		n.Gateway = r.addrs[0].String()
		if len(r.addrs) > 1 {
			m.rep.note("routers", r.pos, "option routers lists %d routers; ip6m sends one gateway per network (the first)", len(r.addrs))
		}
	}
	n.DNSServers = joinAddrs(addrs(func(p *params) *addrsAt { return p.dns }))
	n.TimeServers = joinAddrs(addrs(func(p *params) *addrsAt { return p.timeSrv }))
	n.LogServers = joinAddrs(addrs(func(p *params) *addrsAt { return p.logSrv }))
	if v := lookup(sc, func(p *params) *intAt { return p.timeOffset }); v != nil {
		n.TimeOffset = v.v
		if v.v < -86400 || v.v > 86400 {
			m.fail(v.pos, "option time-offset %d is more than a day", v.v)
		}
	}
	if v := lookup(sc, func(p *params) *textAt { return p.domain }); v != nil {
		n.Domain = v.v
		if len(v.v) > 253 {
			m.fail(v.pos, "option domain-name is longer than 253 characters")
		}
	}
	// dhcpd's defaults: 12 hours, at most a day.
	n.LeaseTime, n.MaxLeaseTime = 43200, 86400
	def := lookup(sc, func(p *params) *intAt { return p.defLease })
	mx := lookup(sc, func(p *params) *intAt { return p.maxLease })
	if def != nil {
		n.LeaseTime = def.v
	}
	if mx != nil {
		n.MaxLeaseTime = mx.v
	}
	if n.MaxLeaseTime < n.LeaseTime {
		pos := s.pos
		if mx != nil {
			pos = mx.pos
		}
		m.rep.note("maxlease "+s.prefix.String(), pos, "subnet %s: max-lease-time %d is less than default-lease-time %d; dhcpd grants at most the maximum, and so does ip6m", s.prefix, n.MaxLeaseTime, n.LeaseTime)
		n.LeaseTime = n.MaxLeaseTime
	}
	if n.LeaseTime < 60 || n.MaxLeaseTime > 365*86400 {
		pos := s.pos
		if def != nil {
			pos = def.pos
		}
		m.fail(pos, "subnet %s: lease times must be between 60 seconds and a year (default %d, max %d)", s.prefix, n.LeaseTime, n.MaxLeaseTime)
	}
	// Pools that set options of their own: ip6m has one set per network.
	seen := map[*poolDecl]bool{}
	for _, pr := range m.ranges[s] {
		p := pr.pool
		n.Ranges = append(n.Ranges, store.Range{First: pr.r.first.String(), Last: pr.r.last.String()})
		if seen[p] || p.sc == s.sc {
			continue
		}
		seen[p] = true
		o := p.sc.own
		if o.routers != nil || o.dns != nil || o.timeSrv != nil || o.logSrv != nil || o.timeOffset != nil || o.domain != nil || o.defLease != nil || o.maxLease != nil {
			m.rep.note("pool options", p.pos, "options set inside a pool: ip6m has one option set per network, the subnet's (and the file's) are used")
		}
	}
	n.UnknownPolicy = store.PolicyIgnore
	if s.purpose == store.PurposeCM {
		for _, pr := range m.ranges[s] {
			if m.admitsUnknown(pr.pool) {
				n.UnknownPolicy = store.PolicyWalled
				break
			}
		}
	}
	return n
}

// admitsUnknown reports whether a pool serves clients that no host
// declares: ip6m's walled garden for unknown modems.
func (m *mapper) admitsUnknown(p *poolDecl) bool {
	a := p.access
	if p.subnet != nil && p.sc != p.subnet.sc && a.unknown == 0 && len(a.allowClasses) == 0 && a.known == 0 {
		a = p.subnet.access // a pool that says nothing: the subnet's own allow/deny
	}
	switch {
	case a.unknown < 0:
		return false
	case a.unknown > 0:
		return true
	}
	for _, name := range a.allowClasses {
		if c := m.w.classes[name]; c != nil && c.kind == store.PurposeCM {
			return true // unknown modems are members of a vendor class
		}
	}
	if len(a.allowClasses) > 0 || a.known > 0 {
		return false
	}
	return !lookupBool(p.sc, func(p *params) bool { return p.denyUnknown })
}

func lookupBool(s *scope, get func(*params) bool) bool {
	for ; s != nil; s = s.parent {
		if get(&s.own) {
			return true
		}
	}
	return false
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// settings turns the server-wide values into ip6m settings.
func (m *mapper) settings() {
	if _, ok := m.w.settings[SettingTFTPIPv4]; !ok && m.w.opt66 != nil {
		m.w.setting(SettingTFTPIPv4, m.w.opt66.pos, m.w.opt66.v, "option tftp-server-name")
	}
	for _, key := range []string{SettingServerIPv4, SettingTFTPIPv4, SettingPktcRealm, SettingPktcProv} {
		v, ok := m.w.settings[key]
		if !ok {
			continue
		}
		if key == SettingPktcProv && m.server.IsValid() && v.v == m.server.String() {
			continue // ip6m names itself when the setting is empty
		}
		switch old := m.inv.settings[key]; {
		case old == v.v:
			m.rep.Present.Settings++
		default:
			if old != "" {
				m.rep.note("setting "+key, v.pos, "setting %s changes from %s to %s", key, old, v.v)
			}
			m.b.settings = append(m.b.settings, settingItem{key: key, value: v.v, pos: v.pos})
			m.rep.Created.Settings++
		}
	}
}

// claimFixed checks that a fixed address is nobody else's.
func (m *mapper) claimFixed(a netip.Addr, mac string, pos Pos) bool {
	if !a.IsValid() {
		return true
	}
	if other, ok := m.fixed[a]; ok && other != mac {
		m.fail(pos, "fixed-address %s of %s is already %s's", a, mac, other)
		return false
	}
	m.fixed[a] = mac
	return true
}

// kindInStore says what the store already has under a MAC.
func (m *mapper) kindInStore(mac string) string {
	switch {
	case m.inv.modems[mac].MAC != "":
		return store.KindCM
	case m.inv.mtas[mac].MAC != "":
		return store.KindMTA
	case m.inv.cpes[mac].MAC != "":
		return store.KindCPE
	}
	return ""
}

var kindWords = map[string]string{store.KindCM: "a modem", store.KindMTA: "an MTA", store.KindCPE: "a CPE"}

// devicesOut builds the modems, MTAs and CPEs.
func (m *mapper) devicesOut(plans map[string]string) {
	cmFile, mtaFile := m.inv.settings[SettingCMFile], m.inv.settings[SettingMTAFile]
	if cmFile == "" {
		cmFile = defaultCMFile
	}
	if mtaFile == "" {
		mtaFile = defaultMTAFile
	}
	single := ""
	{
		names := map[string]bool{}
		for _, s := range m.w.subnets {
			if s.cmtsName != "" {
				names[strings.ToLower(s.cmtsName)] = true
				single = s.cmtsName
			}
		}
		if len(names) != 1 {
			single = ""
		}
	}
	remoteCMTS := m.remoteCMTS
	known := map[string]bool{} // CMTSes that exist or are created
	for _, s := range m.w.subnets {
		known[strings.ToLower(s.cmtsName)] = s.cmtsName != ""
	}
	for name := range m.inv.cmts {
		known[name] = true
	}
	noCMTS := 0
	addModem := func(mac string, fixed netip.Addr, pos Pos, enabled bool, note, cmts string) {
		if k := m.kindInStore(mac); k != "" {
			if k != store.KindCM {
				m.fail(pos, "%s is a modem in the file but already %s in the inventory", mac, kindWords[k])
				return
			}
			m.rep.Present.Modems++
			m.devices[mac] = store.KindCM
			return
		}
		if !m.claimFixed(fixed, mac, pos) {
			return
		}
		if cmts == "" && known[strings.ToLower(remoteCMTS[mac])] {
			cmts = remoteCMTS[mac]
		}
		if cmts == "" {
			cmts = single
		}
		if cmts == "" {
			noCMTS++
		}
		plan := plans[mac]
		if plan == "" {
			plan = plans[""]
		}
		it := &modemItem{m: store.Modem{MAC: mac, Enabled: enabled, Notes: note}, cmts: cmts, plan: plan, pos: pos}
		if fixed.IsValid() {
			it.m.FixedIPv4 = fixed.String()
		}
		m.modems[mac] = it
		m.devices[mac] = store.KindCM
		m.b.modems = append(m.b.modems, it)
		m.rep.Created.Modems++
	}
	disabledFile := 0
	files := map[string]*FileUse{}
	var fileOrder []string
	useFile := func(h *hostDecl, pattern string) (disabled bool) {
		f := lookup(h.sc, func(p *params) *textAt { return p.filename })
		if f == nil {
			return false
		}
		mb, _ := store.MACBytes(h.mac)
		if f.v == configName(pattern, mb) {
			return false
		}
		if h.kind == store.KindCM && containsAny(baseName(f.v), "disabled", "noaccess", "no-access", "walled", "blocked", "denied") {
			disabledFile++
			return true
		}
		u := files[f.v]
		if u == nil {
			u = &FileUse{Name: f.v, First: f.pos, Kind: h.kind}
			files[f.v] = u
			fileOrder = append(fileOrder, f.v)
		}
		u.Hosts++
		return false
	}
	// Hosts that are modems.
	for _, h := range m.w.hosts {
		if m.byMAC[h.mac] != h || h.kind != store.KindCM {
			continue
		}
		disabled := useFile(h, cmFile)
		deny := lookupBool(h.sc, func(p *params) bool { return p.denyBooting })
		cmts := ""
		switch {
		case h.subnet != nil:
			cmts = h.subnet.cmtsName
		case !h.fixed.IsValid() && h.inSubnet != nil:
			cmts = h.inSubnet.cmtsName // declared inside the subnet
		case !h.fixed.IsValid() && h.inShared != nil:
			cmts = h.inShared.name
		case h.fixed.IsValid():
			cmts = m.opts.CMTS
			m.rep.note("fixed outside", h.fixedPos, "host %s: fixed-address %s is in no subnet of the file; the modem is put on CMTS %s", h.name, h.fixed, cmts)
		}
		addModem(h.mac, h.fixed, h.pos, !deny && !disabled, fmt.Sprintf("imported from host %s (%s)", h.name, h.pos), cmts)
	}
	// Modems named only by class rules and subclasses: the known-modem list.
	classOnly := 0
	var firstClassOnly Pos
	for _, c := range m.w.classOrd {
		add := func(mac string, pos Pos) {
			if _, done := m.devices[mac]; done {
				return
			}
			if h := m.byMAC[mac]; h != nil {
				return // a host that is an MTA or CPE
			}
			if classOnly == 0 {
				firstClassOnly = pos
			}
			classOnly++
			addModem(mac, netip.Addr{}, pos, true, fmt.Sprintf("imported from class %q (%s)", c.name, pos), "")
		}
		for _, r := range c.rules {
			add(r.modem, r.pos)
		}
		for _, mem := range c.members {
			add(mem.mac, mem.pos)
		}
	}
	if classOnly > 0 {
		m.rep.note("class modems", firstClassOnly, "%s named only by class rules or subclasses (no host block): imported as enabled modems without a fixed address", plural(classOnly, "modem"))
	}
	if disabledFile > 0 {
		m.rep.note("disabled file", Pos{m.rep.File, 0}, "%s whose config file is a disabled/no-access config: imported as disabled (ip6m serves them its walled-garden config or nothing, per network)", plural(disabledFile, "modem"))
	}
	// MTAs: their hosts, and MACs that class rules exclude behind a modem.
	findModem := func(mac string, back int) string {
		b, err := store.MACBytes(mac)
		if err != nil {
			return ""
		}
		for d := 1; d <= back; d++ {
			v := (int(b[3])<<16 | int(b[4])<<8 | int(b[5])) - d
			if v < 0 {
				return ""
			}
			c := b
			c[3], c[4], c[5] = byte(v>>16), byte(v>>8), byte(v)
			cand := macString(c[:])
			if m.devices[cand] == store.KindCM || m.inv.modems[cand].MAC != "" {
				return cand
			}
		}
		return ""
	}
	addDevice := func(kind, mac string, fixed netip.Addr, modem string, pos Pos, note string) {
		if k := m.kindInStore(mac); k != "" {
			if k != kind {
				m.fail(pos, "%s is %s in the file but already %s in the inventory", mac, kindWords[kind], kindWords[k])
				return
			}
			if kind == store.KindMTA {
				m.rep.Present.MTAs++
			} else {
				m.rep.Present.CPEs++
			}
			m.devices[mac] = kind
			return
		}
		if _, done := m.devices[mac]; done {
			return
		}
		if modem == "" || m.devices[modem] != store.KindCM && m.inv.modems[modem].MAC == "" {
			m.rep.note("orphan "+kind, pos, "%s %s (%s): no modem found for it (no class rule names one, and no modem has a MAC just below it): not imported", strings.ToUpper(kind), mac, note)
			return
		}
		if !m.claimFixed(fixed, mac, pos) {
			return
		}
		m.devices[mac] = kind
		f := ""
		if fixed.IsValid() {
			f = fixed.String()
		}
		if kind == store.KindMTA {
			m.b.mtas = append(m.b.mtas, &mtaItem{d: store.MTA{MAC: mac, FixedIPv4: f, Notes: note}, modem: modem, pos: pos})
			m.rep.Created.MTAs++
		} else {
			m.b.cpes = append(m.b.cpes, &cpeItem{d: store.CPE{MAC: mac, FixedIPv4: f, Notes: note}, modem: modem, pos: pos})
			m.rep.Created.CPEs++
		}
	}
	for _, h := range m.w.hosts {
		if m.byMAC[h.mac] != h || h.kind == store.KindCM {
			continue
		}
		modem := h.modem
		if h.kind == store.KindMTA {
			useFile(h, mtaFile)
			if modem == "" {
				modem = findModem(h.mac, 1)
			}
		} else {
			if f := lookup(h.sc, func(p *params) *textAt { return p.filename }); f != nil && h.sc.own.filename != nil {
				m.rep.note("cpe file", f.pos, "host %s (a CPE): filename is not mapped (ip6m sends config files to modems and MTAs only)", h.name)
			}
			if modem == "" {
				modem = findModem(h.mac, 3)
			}
		}
		addDevice(h.kind, h.mac, h.fixed, modem, h.pos, fmt.Sprintf("imported from host %s (%s), %s", h.name, h.pos, h.why))
	}
	mtaOnly := 0
	var firstMTAOnly Pos
	for _, c := range m.w.classOrd {
		for _, r := range c.rules {
			for _, x := range r.exclude {
				if _, done := m.devices[x]; done || m.byMAC[x] != nil {
					continue
				}
				if mtaOnly == 0 {
					firstMTAOnly = r.pos
				}
				mtaOnly++
				addDevice(store.KindMTA, x, netip.Addr{}, r.modem, r.pos, fmt.Sprintf("imported from class %q (%s): excluded from the CPEs of modem %s", c.name, r.pos, r.modem))
			}
		}
	}
	if mtaOnly > 0 {
		m.rep.note("class mtas", firstMTAOnly, "%s excluded from the CPE classes (the modems' MTAs) without a host block: imported as MTAs of their modems, so ip6m does not count them as CPEs", plural(mtaOnly, "client identifier"))
	}
	if noCMTS > 0 {
		m.rep.note("no cmts", Pos{m.rep.File, 0}, "%s without a fixed address: the file does not say which CMTS they are on, so it is left open and ip6m serves them through whichever CMTS relays them", plural(noCMTS, "modem"))
	}
	for _, name := range fileOrder {
		m.rep.Files = append(m.rep.Files, *files[name])
	}
	m.rep.CMFile, m.rep.MTAFile = cmFile, mtaFile
}

// baseName returns a config name's last element.
func baseName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// configName fills ip6m's config name pattern ({mac}: 12 hex digits).
func configName(pattern string, mac [6]byte) string {
	return strings.ReplaceAll(pattern, "{mac}", strings.ReplaceAll(macString(mac[:]), ":", ""))
}

// summary adds notes about what ip6m will and will not do after the import.
func (m *mapper) summary() {
	type key struct{ cmts, purpose string }
	has := map[key]*subnetDecl{}
	for _, s := range m.w.subnets {
		k := key{strings.ToLower(s.cmtsName), s.purpose}
		if len(m.ranges[s]) > 0 || has[k] == nil {
			has[k] = s
		}
	}
	for _, n := range m.inv.nets {
		if n.Family == 4 {
			for name, c := range m.inv.cmts {
				if c.ID == n.CMTSID {
					if has[key{name, n.Purpose}] == nil {
						has[key{name, n.Purpose}] = &subnetDecl{}
					}
				}
			}
		}
	}
	anyMTA := false
	for k := range has {
		anyMTA = anyMTA || k.purpose == store.PurposeMTA
	}
	mtaModems := 0
	for _, d := range m.b.mtas {
		it := m.modems[d.modem]
		if it != nil && (it.cmts != "" && has[key{strings.ToLower(it.cmts), store.PurposeMTA}] == nil || it.cmts == "" && !anyMTA) {
			mtaModems++
		}
	}
	if mtaModems > 0 {
		m.rep.note("no mta net", Pos{m.rep.File, 0}, "%s on CMTSes without an MTA network: ip6m will not answer them until one is added (dhcpd served them only through other classes or hosts)", plural(mtaModems, "MTA"))
	}
	stuck := 0
	for _, it := range m.b.modems {
		if it.m.FixedIPv4 != "" {
			continue
		}
		s := has[key{strings.ToLower(it.cmts), store.PurposeCM}]
		if it.cmts != "" && (s == nil || s.prefix.IsValid() && len(m.ranges[s]) == 0) {
			stuck++
		}
	}
	if stuck > 0 {
		m.rep.note("no cm range", Pos{m.rep.File, 0}, "%s without a fixed address on a CMTS whose cable modem network has no range: ip6m, like dhcpd, gives them no address until a range or fixed addresses are added", plural(stuck, "modem"))
	}
	if len(m.b.plans) > 0 {
		names := make([]string, len(m.b.plans))
		for i, p := range m.b.plans {
			names[i] = fmt.Sprintf("%q (max CPE %d)", p.p.Name, p.p.MaxCPE)
		}
		m.rep.note("plan config", Pos{m.rep.File, 0}, "plans created with a minimal config, network access only (%s): %s. The speeds of the old config files are not imported: edit the plans, or import with --plan", planConfig, strings.Join(names, ", "))
	}
	slices.SortStableFunc(m.rep.Notes, func(a, b Note) int { return comparePos(a.Pos, b.Pos) })
}

// plural is "1 modem", "2 modems".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// truncate shortens s to at most n bytes, at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
