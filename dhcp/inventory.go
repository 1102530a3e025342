// Package dhcp is ip6m's DHCP server for DOCSIS networks: relayed requests
// from CMTSes for cable modems, MTAs and the CPEs behind them, classified
// from the inventory and answered with durable leases.
//
// The server keeps a read-only snapshot of the inventory (modems, MTAs,
// CPEs, plans, networks and settings, a few MB for 10,000 modems) so that a
// request is classified without touching the database; the snapshot is
// rebuilt when the store's inventory version changes. Leases live in memory
// for allocation and in the store for durability: a lease is committed
// (group commit, fsync) before the ACK leaves.
package dhcp

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"ip6m/store"
)

// Inventory is what the server reads to classify requests; *store.Store
// implements it.
type Inventory interface {
	InventoryVersion() int64
	ListNetworks(ctx context.Context, cmtsID int64) ([]store.Network, error)
	ListPlans(ctx context.Context) ([]store.Plan, error)
	ListModems(ctx context.Context, f store.ModemFilter, p store.Page) ([]store.ModemRow, int, error)
	ListMTAs(ctx context.Context, modemID int64, p store.Page) ([]store.MTA, int, error)
	ListCPEs(ctx context.Context, modemID int64, p store.Page) ([]store.CPE, int, error)
	Setting(ctx context.Context, key, def string) (string, error)
}

// LeaseStore makes leases durable; *store.Store implements it.
type LeaseStore interface {
	CommitLeases(ctx context.Context, ops ...store.LeaseOp) error
	CommitLeasesThen(ctx context.Context, ops []store.LeaseOp, then func(error)) error
	Leases4(ctx context.Context, since time.Time) ([]store.Lease4, error)
}

// Settings keys the DHCP server reads.
const (
	SettingServerIPv4 = "server.ipv4"   // server identifier (option 54); empty: the address the request came to
	SettingTFTPIPv4   = "tftp.ipv4"     // siaddr for modems and MTAs; empty: the server identifier
	SettingServerIPv6 = "server.ipv6"   // this server's IPv6 address, for the v6 TFTP/time/syslog options
	SettingTFTPIPv6   = "tftp.ipv6"     // v6 TFTP server (sub-option 32); empty: server.ipv6
	SettingServerDUID = "dhcp6.duid"    // the DHCPv6 server DUID, hex; made once
	SettingCMFile     = "dhcp.cm_file"  // config name pattern for modems; {mac} is the 12 hex digits
	SettingMTAFile    = "dhcp.mta_file" // config name pattern for MTAs
	SettingWalledFile = "dhcp.walled_file"
	// SettingRegisterFile names the config of unknown modems that may
	// register themselves.
	SettingRegisterFile = "dhcp.register_file"
	SettingPktcRealm    = "pktc.realm"       // Kerberos realm (option 122.6)
	SettingPktcProv     = "pktc.provisioner" // provisioning server, IPv4 or FQDN (option 122.3)
)

// Default config names: the TFTP server builds these on the fly.
const (
	DefaultCMFile     = "cm/{mac}.cfg"
	DefaultMTAFile    = "mta/{mac}.bin"
	DefaultWalledFile = "cm/disabled.cfg"
	// DefaultRegisterFile is the config of unknown modems on a network
	// that lets them register themselves: one CPE, reaching only ip6m.
	DefaultRegisterFile = "cm/register.cfg"
)

type modemInfo struct {
	id, planID, cmtsID, customerID int64
	mac                            [6]byte
	macText                        string
	enabled                        bool
	fixed                          netip.Addr
	fixed6                         netip.Addr   // the IPv6 override; zero: derived from the MAC
	prefix6                        netip.Prefix // the delegated prefix reserved for its router
}

type deviceInfo struct {
	modemID int64
	fixed   netip.Addr
}

type planInfo struct {
	name   string
	maxCPE int
}

// network4 is a v4 network with its values parsed for the hot path.
type network4 struct {
	id, cmtsID int64
	name       string
	purpose    string
	prefix     netip.Prefix
	gateway    netip.Addr
	ranges     []addrRange
	leaseTime  time.Duration
	dns, time  []netip.Addr
	log        []netip.Addr
	timeOffset int32
	domain     string
	walled     bool // unknown/disabled modems get the walled-garden config
	// selfRegister: unknown modems get the registration config, and a
	// CPE behind one the registration portal (walled is set too).
	selfRegister bool
	broadcast    netip.Addr
	maskBits     int
	serverLocal  bool // a server network: direct (non-relayed) clients
}

type addrRange struct{ first, last netip.Addr }

func (r addrRange) contains(a netip.Addr) bool {
	return r.first.Compare(a) <= 0 && a.Compare(r.last) <= 0
}

// snapshot is the inventory as the server sees it between rebuilds.
type snapshot struct {
	version  int64
	modems   map[[6]byte]*modemInfo
	modemsID map[int64]*modemInfo
	mtas     map[[6]byte]*deviceInfo
	cpes     map[[6]byte]*deviceInfo
	plans    map[int64]planInfo
	nets     []*network4
	nets6    []*network6
	reserved map[netip.Addr][6]byte // every fixed v4 address and whose it is
	// reservedPD are the delegated prefixes reserved for modems' routers
	// (by modem id): the pools never hand them to anyone else.
	reservedPD map[netip.Prefix]int64

	serverID   netip.Addr
	tftp       netip.Addr
	server6    netip.Addr // this server's IPv6 address (TFTP and time options)
	tftp6      netip.Addr
	tftpOpt6   *dhcpv6.OptionGeneric // CableLabs sub-option 32: tftp6, else server6
	cmFile     string
	mtaFile    string
	walledFile string
	// registerFile is the config name of unknown modems that may register.
	registerFile string
	pktcRealm    string
	pktcProv     string
	pktcTimers   pktcTimers
}

// loadSnapshot reads the whole inventory.
func loadSnapshot(ctx context.Context, inv Inventory) (*snapshot, error) {
	sn := &snapshot{
		version:    inv.InventoryVersion(),
		modems:     map[[6]byte]*modemInfo{},
		modemsID:   map[int64]*modemInfo{},
		mtas:       map[[6]byte]*deviceInfo{},
		cpes:       map[[6]byte]*deviceInfo{},
		plans:      map[int64]planInfo{},
		reserved:   map[netip.Addr][6]byte{},
		reservedPD: map[netip.Prefix]int64{},
	}
	modems, _, err := inv.ListModems(ctx, store.ModemFilter{}, store.Page{})
	if err != nil {
		return nil, fmt.Errorf("load modems: %w", err)
	}
	for _, m := range modems {
		mac, err := store.MACBytes(m.MAC)
		if err != nil {
			return nil, fmt.Errorf("modem %d: %w", m.ID, err)
		}
		mi := &modemInfo{id: m.ID, planID: m.PlanID, cmtsID: m.CMTSID, customerID: m.CustomerID, mac: mac, macText: m.MAC, enabled: m.Enabled}
		if a, err := netip.ParseAddr(m.FixedIPv4); err == nil {
			mi.fixed = a
			sn.reserved[a] = mac
		}
		if a, err := netip.ParseAddr(m.IPv6); err == nil {
			mi.fixed6 = a
		}
		if p, err := netip.ParsePrefix(m.Prefix6); err == nil {
			mi.prefix6 = p.Masked()
			sn.reservedPD[mi.prefix6] = m.ID
		}
		sn.modems[mac] = mi
		sn.modemsID[m.ID] = mi
	}
	mtas, _, err := inv.ListMTAs(ctx, 0, store.Page{})
	if err != nil {
		return nil, fmt.Errorf("load MTAs: %w", err)
	}
	for _, d := range mtas {
		if err := sn.addDevice(sn.mtas, d.MAC, d.ModemID, d.FixedIPv4); err != nil {
			return nil, err
		}
	}
	cpes, _, err := inv.ListCPEs(ctx, 0, store.Page{})
	if err != nil {
		return nil, fmt.Errorf("load CPEs: %w", err)
	}
	for _, d := range cpes {
		if err := sn.addDevice(sn.cpes, d.MAC, d.ModemID, d.FixedIPv4); err != nil {
			return nil, err
		}
	}
	plans, err := inv.ListPlans(ctx)
	if err != nil {
		return nil, fmt.Errorf("load plans: %w", err)
	}
	for _, p := range plans {
		sn.plans[p.ID] = planInfo{name: p.Name, maxCPE: int(p.MaxCPE)}
	}
	nets, err := inv.ListNetworks(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("load networks: %w", err)
	}
	for _, n := range nets {
		if n.Family == 6 {
			nw, err := parseNetwork6(n)
			if err != nil {
				return nil, err
			}
			sn.nets6 = append(sn.nets6, nw)
			continue
		}
		nw, err := parseNetwork4(n)
		if err != nil {
			return nil, err
		}
		sn.nets = append(sn.nets, nw)
	}
	setting := func(key, def string) string {
		if err != nil {
			return def
		}
		var v string
		v, err = inv.Setting(ctx, key, def)
		if strings.TrimSpace(v) == "" {
			return def
		}
		return strings.TrimSpace(v)
	}
	sid := setting(SettingServerIPv4, "")
	tftp := setting(SettingTFTPIPv4, "")
	sid6 := setting(SettingServerIPv6, "")
	tftp6 := setting(SettingTFTPIPv6, "")
	sn.cmFile = setting(SettingCMFile, DefaultCMFile)
	sn.mtaFile = setting(SettingMTAFile, DefaultMTAFile)
	sn.walledFile = setting(SettingWalledFile, DefaultWalledFile)
	sn.registerFile = setting(SettingRegisterFile, DefaultRegisterFile)
	sn.pktcRealm = setting(SettingPktcRealm, "BASIC.1")
	sn.pktcProv = setting(SettingPktcProv, "")
	asBackoff := setting(SettingPktcASBackoff, "")
	apBackoff := setting(SettingPktcAPBackoff, "")
	provTimer := setting(SettingPktcProvTimer, "")
	if err != nil {
		return nil, fmt.Errorf("load settings: %w", err)
	}
	if sn.pktcTimers.as, err = parseBackoff(asBackoff); err != nil {
		return nil, fmt.Errorf("setting %s: %w", SettingPktcASBackoff, err)
	}
	if sn.pktcTimers.ap, err = parseBackoff(apBackoff); err != nil {
		return nil, fmt.Errorf("setting %s: %w", SettingPktcAPBackoff, err)
	}
	if sn.pktcTimers.provTimer, sn.pktcTimers.provSet, err = parseProvTimer(provTimer); err != nil {
		return nil, fmt.Errorf("setting %s: %w", SettingPktcProvTimer, err)
	}
	if sid != "" {
		if sn.serverID, err = netip.ParseAddr(sid); err != nil || !sn.serverID.Is4() {
			return nil, fmt.Errorf("setting %s: %q is not an IPv4 address", SettingServerIPv4, sid)
		}
	}
	if tftp != "" {
		if sn.tftp, err = netip.ParseAddr(tftp); err != nil || !sn.tftp.Is4() {
			return nil, fmt.Errorf("setting %s: %q is not an IPv4 address", SettingTFTPIPv4, tftp)
		}
	}
	for _, v6 := range []struct {
		key, val string
		dst      *netip.Addr
	}{{SettingServerIPv6, sid6, &sn.server6}, {SettingTFTPIPv6, tftp6, &sn.tftp6}} {
		if v6.val == "" {
			continue
		}
		a, err := netip.ParseAddr(v6.val)
		if err != nil || !a.Is6() || a.Is4In6() {
			return nil, fmt.Errorf("setting %s: %q is not an IPv6 address", v6.key, v6.val)
		}
		*v6.dst = a
	}
	if a := sn.tftp6; a.IsValid() {
		sn.tftpOpt6 = clSubOption(clTFTPServers, a.AsSlice())
	} else if a := sn.server6; a.IsValid() {
		sn.tftpOpt6 = clSubOption(clTFTPServers, a.AsSlice())
	}
	return sn, nil
}

func (sn *snapshot) addDevice(m map[[6]byte]*deviceInfo, macText string, modemID int64, fixed string) error {
	mac, err := store.MACBytes(macText)
	if err != nil {
		return fmt.Errorf("device %s: %w", macText, err)
	}
	d := &deviceInfo{modemID: modemID}
	if a, err := netip.ParseAddr(fixed); err == nil {
		d.fixed = a
		sn.reserved[a] = mac
	}
	m[mac] = d
	return nil
}

func parseNetwork4(n store.Network) (*network4, error) {
	p, err := netip.ParsePrefix(n.Prefix)
	if err != nil {
		return nil, fmt.Errorf("network %d: %w", n.ID, err)
	}
	nw := &network4{id: n.ID, cmtsID: n.CMTSID, name: n.Name, purpose: n.Purpose, prefix: p.Masked(), maskBits: p.Bits(),
		leaseTime: time.Duration(n.LeaseTime) * time.Second, timeOffset: int32(n.TimeOffset), domain: n.Domain,
		walled: n.UnknownPolicy == store.PolicyWalled, serverLocal: n.Purpose == store.PurposeServer}
	nw.selfRegister = nw.walled && n.SelfRegister
	nw.gateway, _ = netip.ParseAddr(n.Gateway)
	for _, r := range n.Ranges {
		a, err1 := netip.ParseAddr(r.First)
		b, err2 := netip.ParseAddr(r.Last)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("network %s: bad range %s - %s", n.Prefix, r.First, r.Last)
		}
		nw.ranges = append(nw.ranges, addrRange{a, b})
	}
	if err := parseServers(n, &nw.dns, &nw.time, &nw.log); err != nil {
		return nil, err
	}
	// Broadcast address: all host bits set.
	b := nw.prefix.Addr().As4()
	for i := nw.maskBits; i < 32; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	nw.broadcast = netip.AddrFrom4(b)
	return nw, nil
}

// parseServers reads a network's DNS, time and log server lists.
func parseServers(n store.Network, dns, tm, log *[]netip.Addr) error {
	for _, l := range []struct {
		dst *[]netip.Addr
		s   string
	}{{dns, n.DNSServers}, {tm, n.TimeServers}, {log, n.LogServers}} {
		for _, item := range store.SplitList(l.s) {
			a, err := netip.ParseAddr(item)
			if err != nil {
				return fmt.Errorf("network %s: bad server address %q", n.Prefix, item)
			}
			*l.dst = append(*l.dst, a)
		}
	}
	return nil
}

// networkFor returns the network containing a (the relay's giaddr, or the
// server's own address for direct clients).
func (sn *snapshot) networkFor(a netip.Addr) *network4 {
	var best *network4
	for _, n := range sn.nets {
		if n.prefix.Contains(a) && (best == nil || n.prefix.Bits() > best.prefix.Bits()) {
			best = n
		}
	}
	return best
}

// networkOf returns the CMTS's network of the given purpose, preferring the
// one that contains hint.
func (sn *snapshot) networkOf(cmtsID int64, purpose string, hint netip.Addr) *network4 {
	var first *network4
	for _, n := range sn.nets {
		if n.cmtsID != cmtsID || n.purpose != purpose || len(n.ranges) == 0 && purpose != store.PurposeCM {
			continue
		}
		if hint.IsValid() && n.prefix.Contains(hint) {
			return n
		}
		if first == nil {
			first = n
		}
	}
	return first
}

// configName fills a config name pattern for a device.
func configName(pattern string, mac [6]byte) string {
	const hexdig = "0123456789abcdef"
	var h [12]byte
	for i, b := range mac {
		h[2*i], h[2*i+1] = hexdig[b>>4], hexdig[b&0xf]
	}
	return strings.ReplaceAll(pattern, "{mac}", string(h[:]))
}
