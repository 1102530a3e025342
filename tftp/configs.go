package tftp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ip6m/docsiscfg"
	"ip6m/store"
)

// ConfigSource is the inventory configs are built from; *store.Store
// implements it.
type ConfigSource interface {
	InventoryVersion() int64
	ModemByMAC(ctx context.Context, mac string) (store.Modem, error)
	MTAByMAC(ctx context.Context, mac string) (store.MTA, error)
	GetModem(ctx context.Context, id int64) (store.Modem, error)
	GetPlan(ctx context.Context, id int64) (store.Plan, error)
	GetCMTS(ctx context.Context, id int64) (store.CMTS, error)
	ListCMTS(ctx context.Context) ([]store.CMTS, error)
	GetCustomer(ctx context.Context, id int64) (store.Customer, error)
	ListCPEs(ctx context.Context, modemID int64, p store.Page) ([]store.CPE, int, error)
	ListNetworks(ctx context.Context, cmtsID int64) ([]store.Network, error)
	Lease4ByIP(ctx context.Context, ip string) (store.Lease4, error)
	Setting(ctx context.Context, key, def string) (string, error)
}

// Lease6Source is implemented by a ConfigSource that can tell who holds an
// IPv6 address (*store.Store does); with anti-theft on, a request from an
// IPv6 address is checked against its binding, and refused
// (ReasonV6Unverified) by a source that cannot tell.
type Lease6Source interface {
	Lease6ByAddress(ctx context.Context, addr string) (store.Lease6, error)
}

// Settings the TFTP server reads. The dhcp.* names and defaults are the
// DHCP server's (dhcp/inventory.go), which hands these names out.
const (
	SettingCMFile       = "dhcp.cm_file"       // config name of a modem; {mac} is its 12 lower-case hex digits
	SettingMTAFile      = "dhcp.mta_file"      // config name of an MTA
	SettingWalledFile   = "dhcp.walled_file"   // config of unknown and disabled modems
	SettingWalledConfig = "tftp.walled_config" // config text of the walled garden; empty: WalledConfig
	// The config of unknown modems that may register themselves, and its
	// text (empty: RegisterConfig); the server's address fills it in.
	SettingRegisterFile   = "dhcp.register_file"
	SettingRegisterConfig = "tftp.register_config"
	SettingServerIPv4     = "server.ipv4"

	DefaultCMFile       = "cm/{mac}.cfg"
	DefaultMTAFile      = "mta/{mac}.bin"
	DefaultWalledFile   = "cm/disabled.cfg"
	DefaultRegisterFile = "cm/register.cfg"
)

// RegisterConfig is the config of an unknown modem that may register
// itself: one CPE, whose traffic the modem's IP filters confine to DHCP and
// to ip6m (DNS, which answers every name with the registration page, and
// the page itself on port 80); everything else is dropped at the modem.
// {{index .Plan "Server"}} is the server's IPv4 address (setting
// server.ipv4).
const RegisterConfig = `Main
{
	NetworkAccess 1;
	MaxCPE 1;
	UsServiceFlow
	{
		UsServiceFlowRef 1;
		QosParamSetType 7;
		MaxRateSustained 256000;
	}
	DsServiceFlow
	{
		DsServiceFlowRef 2;
		QosParamSetType 7;
		MaxRateSustained 1024000;
	}
	/* Anything not accepted below is dropped. */
	SnmpMibObject docsDevFilterIpDefault.0 Integer 1; /* discard */
	/* From the CPE: DHCP to anyone (its DISCOVER is a broadcast). */
	SnmpMibObject docsDevFilterIpStatus.1 Integer 4; /* createAndGo */
	SnmpMibObject docsDevFilterIpControl.1 Integer 2; /* accept */
	SnmpMibObject docsDevFilterIpIfIndex.1 Integer 1; /* the CPE side */
	SnmpMibObject docsDevFilterIpDirection.1 Integer 1; /* inbound */
	SnmpMibObject docsDevFilterIpBroadcast.1 Integer 2; /* false: every packet */
	SnmpMibObject docsDevFilterIpProtocol.1 Integer 17; /* UDP */
	SnmpMibObject docsDevFilterIpDestPortLow.1 Integer 67;
	SnmpMibObject docsDevFilterIpDestPortHigh.1 Integer 67;
	/* From the CPE: anything to ip6m (DNS and the registration page). */
	SnmpMibObject docsDevFilterIpStatus.2 Integer 4;
	SnmpMibObject docsDevFilterIpControl.2 Integer 2;
	SnmpMibObject docsDevFilterIpIfIndex.2 Integer 1;
	SnmpMibObject docsDevFilterIpDirection.2 Integer 1;
	SnmpMibObject docsDevFilterIpBroadcast.2 Integer 2;
	SnmpMibObject docsDevFilterIpDaddr.2 IPAddress {{index .Plan "Server"}};
	SnmpMibObject docsDevFilterIpDmask.2 IPAddress 255.255.255.255;
	SnmpMibObject docsDevFilterIpProtocol.2 Integer 256; /* any */
	/* To the CPE: DHCP answers and what ip6m sends. */
	SnmpMibObject docsDevFilterIpStatus.3 Integer 4;
	SnmpMibObject docsDevFilterIpControl.3 Integer 2;
	SnmpMibObject docsDevFilterIpIfIndex.3 Integer 1;
	SnmpMibObject docsDevFilterIpDirection.3 Integer 2; /* outbound */
	SnmpMibObject docsDevFilterIpBroadcast.3 Integer 2;
	SnmpMibObject docsDevFilterIpProtocol.3 Integer 17;
	SnmpMibObject docsDevFilterIpSourcePortLow.3 Integer 67;
	SnmpMibObject docsDevFilterIpSourcePortHigh.3 Integer 67;
	SnmpMibObject docsDevFilterIpStatus.4 Integer 4;
	SnmpMibObject docsDevFilterIpControl.4 Integer 2;
	SnmpMibObject docsDevFilterIpIfIndex.4 Integer 1;
	SnmpMibObject docsDevFilterIpDirection.4 Integer 2;
	SnmpMibObject docsDevFilterIpBroadcast.4 Integer 2;
	SnmpMibObject docsDevFilterIpSaddr.4 IPAddress {{index .Plan "Server"}};
	SnmpMibObject docsDevFilterIpSmask.4 IPAddress 255.255.255.255;
	SnmpMibObject docsDevFilterIpProtocol.4 Integer 256;
}
`

// WalledConfig is the walled-garden config: network access off for the
// CPEs, one small service flow each way so that the modem registers and
// stays reachable for SNMP and upgrades.
const WalledConfig = `Main
{
	NetworkAccess 0;
	MaxCPE 1;
	UsServiceFlow
	{
		UsServiceFlowRef 1;
		QosParamSetType 7;
		MaxRateSustained 64000;
	}
	DsServiceFlow
	{
		DsServiceFlowRef 2;
		QosParamSetType 7;
		MaxRateSustained 64000;
	}
}
`

// maxDevices bounds the per-version device cache; past it devices are
// looked up every time.
const maxDevices = 200_000

type builderOptions struct {
	now        func() time.Time
	antiTheft  bool
	stamp      bool
	bucket     time.Duration
	cacheBytes int
	log        *slog.Logger
}

// builder turns config names into compiled configs.
//
// Two caches keep a reboot storm cheap. A view holds, for one inventory
// version (store.InventoryVersion, bumped by every inventory or settings
// change), the name patterns and each device's resolved plan template,
// variables and key, so a repeated request costs one lease lookup. The
// compiled bytes are cached by everything they depend on: the template
// text (by a number given to each distinct text of a plan), the variables,
// the key, the TLV 19 time bucket and the requester's address (TLV 20); a
// plan edit gives a new text and so a new key, and a new inventory version
// makes every device resolve again. Concurrent requests for the same bytes
// compile once.
type builder struct {
	src  ConfigSource
	opts builderOptions

	compiles, hits atomic.Uint64

	mu       sync.Mutex
	view     *view
	plans    map[int64]*planTmpl // by plan id; -1 is the walled garden
	nextTmpl uint64
	inflight map[string]*call
	cache    *byteCache
}

type view struct {
	version   int64
	cm        string // name patterns
	mta       string
	walled    string
	walledT   *planTmpl
	walledErr error // the walled text does not parse
	// The registration config: its name, template, and the server's
	// address it is filled in with.
	register    string
	registerT   *planTmpl
	registerErr error
	server      string
	noKey       atomic.Bool // the empty-key warning was logged for this version

	mu      sync.Mutex
	devices map[string]*device // "cm|mac" / "mta|mac"
}

// device is a modem or MTA resolved for one inventory version.
type device struct {
	mac     string // canonical
	enabled bool
	tmpl    *planTmpl // nil: its plan has no config of this kind
	vars    docsiscfg.Vars
	key     []byte
	ident   string // vars and key, serialised for the cache key
}

type planTmpl struct {
	id   uint64
	text string
	t    *docsiscfg.Template
}

type call struct {
	wg   sync.WaitGroup
	data []byte
	err  error
}

func newBuilder(src ConfigSource, opts builderOptions) *builder {
	return &builder{src: src, opts: opts, plans: map[int64]*planTmpl{}, inflight: map[string]*call{}, cache: newByteCache(opts.cacheBytes)}
}

// build returns the config that name stands for, nil (and no error) if name
// is no config name, or a *refusal.
func (b *builder) build(ctx context.Context, name string, from netip.Addr) (built, error) {
	vw, err := b.currentView(ctx)
	if err != nil {
		return built{}, err
	}
	if name == vw.walled {
		data, err := b.walled(ctx, vw, from)
		return built{data: data, kind: "walled"}, err
	}
	if name == vw.register {
		data, err := b.registration(ctx, vw, from)
		return built{data: data, kind: "walled"}, err
	}
	if mac, ok := matchPattern(vw.cm, name); ok {
		data, mac, err := b.device(ctx, vw, "cm", mac, from)
		return built{data: data, kind: "cm", mac: mac}, err
	}
	if mac, ok := matchPattern(vw.mta, name); ok {
		data, mac, err := b.device(ctx, vw, "mta", mac, from)
		return built{data: data, kind: "mta", mac: mac}, err
	}
	return built{}, nil
}

// built is a config built for a request: nil data when the name is no
// config name.
type built struct {
	data []byte
	kind string // "cm", "mta" or "walled"
	mac  string // the device's, canonical; "" for the walled garden
}

// matchPattern reports whether name is pattern with {mac} replaced by 12
// hex digits, and returns the MAC in canonical form. A pattern without
// {mac} matches only itself and returns "": the device is then the one
// holding the requester's lease.
func matchPattern(pattern, name string) (string, bool) {
	pre, suf, has := strings.Cut(pattern, "{mac}")
	if !has {
		return "", name == pattern && pattern != ""
	}
	if len(name) != len(pre)+12+len(suf) || !strings.HasPrefix(name, pre) || !strings.HasSuffix(name, suf) {
		return "", false
	}
	hex := name[len(pre) : len(pre)+12]
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", false
		}
	}
	mac, err := store.NormalizeMAC(hex)
	return mac, err == nil
}

// currentView returns the view of the current inventory version, loading
// the settings when the version has changed.
func (b *builder) currentView(ctx context.Context) (*view, error) {
	v := b.src.InventoryVersion()
	b.mu.Lock()
	cur := b.view
	b.mu.Unlock()
	if cur != nil && cur.version == v {
		return cur, nil
	}
	nv := &view{version: v, devices: map[string]*device{}}
	var err error
	setting := func(key, def string) string {
		if err != nil {
			return def
		}
		var s string
		s, err = b.src.Setting(ctx, key, def)
		if strings.TrimSpace(s) == "" {
			return def
		}
		return strings.TrimSpace(s)
	}
	nv.cm = setting(SettingCMFile, DefaultCMFile)
	nv.mta = setting(SettingMTAFile, DefaultMTAFile)
	nv.walled = setting(SettingWalledFile, DefaultWalledFile)
	text := setting(SettingWalledConfig, WalledConfig)
	nv.register = setting(SettingRegisterFile, DefaultRegisterFile)
	regText := setting(SettingRegisterConfig, RegisterConfig)
	nv.server = setting(SettingServerIPv4, "")
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	// A walled-garden text that does not parse fails only the walled
	// requests, not every modem's.
	if nv.walledT, err = b.template(-1, "walled garden", text); err != nil {
		nv.walledErr = fmt.Errorf("setting %s: %w", SettingWalledConfig, err)
	}
	if nv.registerT, err = b.template(0, "registration", regText); err != nil {
		nv.registerErr = fmt.Errorf("setting %s: %w", SettingRegisterConfig, err)
	}
	if a, perr := netip.ParseAddr(nv.server); nv.registerErr == nil && (perr != nil || !a.Is4()) {
		nv.registerErr = fmt.Errorf("the registration config needs the server's IPv4 address (setting %s), which the modem lets the CPE reach", SettingServerIPv4)
	}
	err = nil
	b.mu.Lock()
	if b.view == nil || b.view.version != v {
		b.view = nv
	}
	cur = b.view
	b.mu.Unlock()
	return cur, nil
}

// template returns the parsed template of a plan's text, parsing it only
// when the text is new.
func (b *builder) template(planID int64, name, text string) (*planTmpl, error) {
	b.mu.Lock()
	p := b.plans[planID]
	b.mu.Unlock()
	if p != nil && p.text == text {
		return p, nil
	}
	t, err := docsiscfg.ParseTemplate(name, text)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.plans[planID]; p != nil && p.text == text {
		return p, nil
	}
	b.nextTmpl++
	p = &planTmpl{id: b.nextTmpl, text: text, t: t}
	b.plans[planID] = p
	return p, nil
}

// device answers a modem's (kind "cm") or an MTA's config name. With
// anti-theft on, the lease is checked first, so that a requester learns
// nothing (not even whether the device exists) about devices it does not
// hold the lease of.
func (b *builder) device(ctx context.Context, vw *view, kind, mac string, from netip.Addr) ([]byte, string, error) {
	switch {
	case mac == "":
		holder, err := b.holder(ctx, from)
		if err != nil {
			return nil, "", err
		}
		if mac, err = store.NormalizeMAC(holder); err != nil {
			return nil, "", fmt.Errorf("lease of %s: %w", from, err)
		}
	case b.opts.antiTheft:
		holder, err := b.holder(ctx, from)
		if err != nil {
			return nil, "", err
		}
		if !sameMAC(holder, mac) {
			return nil, "", refuse(ReasonNotLeaseHolder, "%s holds the lease of %s, not of %s %s", from, holder, kindName(kind), mac)
		}
	}
	d, err := b.resolve(ctx, vw, kind, mac)
	if err != nil {
		return nil, "", err
	}
	if !d.enabled {
		return nil, "", refuse(ReasonDisabled, "%s %s is disabled", kindName(kind), mac)
	}
	if d.tmpl == nil {
		return nil, "", refuse(ReasonNotFound, "the plan of %s %s has no %s config", kindName(kind), d.mac, kindName(kind))
	}
	opts := docsiscfg.Options{Key: d.key}
	var ck strings.Builder
	ck.WriteString(kind)
	ck.WriteByte('|')
	ck.WriteString(strconv.FormatUint(d.tmpl.id, 10))
	ck.WriteByte('|')
	ck.WriteString(d.ident)
	if kind == "mta" {
		opts.Mode, opts.Hash = docsiscfg.ModeMTA, docsiscfg.HashNA
	} else {
		b.stamp(&opts, &ck, from)
	}
	data, err := b.compile(ck.String(), d.tmpl, d.vars, opts)
	return data, d.mac, err
}

func kindName(kind string) string {
	if kind == "mta" {
		return "MTA"
	}
	return "modem"
}

// stamp adds TLV 19 and 20 to opts and their values to the cache key.
func (b *builder) stamp(opts *docsiscfg.Options, ck *strings.Builder, from netip.Addr) {
	if !b.opts.stamp {
		return
	}
	opts.TFTPTimestamp = b.opts.now().Truncate(b.opts.bucket)
	opts.TFTPModemAddress = from.Unmap()
	ck.WriteString("|t")
	ck.WriteString(strconv.FormatInt(opts.TFTPTimestamp.Unix(), 10))
	ck.WriteString("|a")
	ck.WriteString(opts.TFTPModemAddress.String())
}

// resolve finds a device's plan template, variables and key, once per
// inventory version.
func (b *builder) resolve(ctx context.Context, vw *view, kind, mac string) (*device, error) {
	k := kind + "|" + mac
	vw.mu.Lock()
	d := vw.devices[k]
	vw.mu.Unlock()
	if d != nil {
		return d, nil
	}
	var err error
	if kind == "mta" {
		d, err = b.resolveMTA(ctx, mac)
	} else {
		d, err = b.resolveCM(ctx, mac)
	}
	if err != nil {
		return nil, err
	}
	d.ident = identity(d.vars, d.key)
	vw.mu.Lock()
	if len(vw.devices) < maxDevices {
		vw.devices[k] = d
	}
	vw.mu.Unlock()
	return d, nil
}

func (b *builder) resolveCM(ctx context.Context, mac string) (*device, error) {
	m, err := b.src.ModemByMAC(ctx, mac)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(ReasonUnknownDevice, "no modem %s in the inventory", mac)
	}
	if err != nil {
		return nil, err
	}
	d := &device{mac: m.MAC, enabled: m.Enabled}
	plan, err := b.src.GetPlan(ctx, m.PlanID)
	if err != nil {
		return nil, fmt.Errorf("plan of modem %s: %w", m.MAC, err)
	}
	if d.tmpl, err = b.template(plan.ID, plan.Name, plan.Config); err != nil {
		return nil, err
	}
	if m.CMTSID != 0 {
		c, err := b.src.GetCMTS(ctx, m.CMTSID)
		if err != nil {
			return nil, fmt.Errorf("CMTS of modem %s: %w", m.MAC, err)
		}
		d.key = []byte(c.SharedSecret)
	}
	d.vars = docsiscfg.Vars{MAC: m.MAC, MaxCPE: int(plan.MaxCPE)}
	if d.vars.Customer, err = b.customer(ctx, m.CustomerID); err != nil {
		return nil, err
	}
	cpes, _, err := b.src.ListCPEs(ctx, m.ID, store.Page{})
	if err != nil {
		return nil, fmt.Errorf("CPEs of modem %s: %w", m.MAC, err)
	}
	for _, c := range cpes {
		d.vars.CPEMACs = append(d.vars.CPEMACs, c.MAC)
		if c.FixedIPv4 != "" {
			d.vars.FixedIPs = append(d.vars.FixedIPs, c.FixedIPv4)
		}
	}
	return d, nil
}

func (b *builder) resolveMTA(ctx context.Context, mac string) (*device, error) {
	mta, err := b.src.MTAByMAC(ctx, mac)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(ReasonUnknownDevice, "no MTA %s in the inventory", mac)
	}
	if err != nil {
		return nil, err
	}
	m, err := b.src.GetModem(ctx, mta.ModemID)
	if err != nil {
		return nil, fmt.Errorf("modem of MTA %s: %w", mta.MAC, err)
	}
	d := &device{mac: mta.MAC, enabled: m.Enabled}
	planID := mta.PlanID
	if planID == 0 {
		planID = m.PlanID
	}
	plan, err := b.src.GetPlan(ctx, planID)
	if err != nil {
		return nil, fmt.Errorf("plan of MTA %s: %w", mta.MAC, err)
	}
	if strings.TrimSpace(plan.MTAConfig) != "" {
		if d.tmpl, err = b.template(-2-plan.ID, plan.Name+" (MTA)", plan.MTAConfig); err != nil {
			return nil, err
		}
	}
	d.vars = docsiscfg.Vars{MAC: mta.MAC, MaxCPE: int(plan.MaxCPE),
		Plan: map[string]string{"ModemMAC": m.MAC, "PhoneLines": mta.PhoneLines}}
	if d.vars.Customer, err = b.customer(ctx, m.CustomerID); err != nil {
		return nil, err
	}
	return d, nil
}

func (b *builder) customer(ctx context.Context, id int64) (string, error) {
	if id == 0 {
		return "", nil
	}
	c, err := b.src.GetCustomer(ctx, id)
	if err != nil {
		return "", fmt.Errorf("customer %d: %w", id, err)
	}
	return c.Name, nil
}

// walled answers the walled-garden name: the walled config, compiled with
// the key of the CMTS the requester is behind. That CMTS is, in order: the
// CMTS of the modem holding the requester's lease (a disabled modem), the
// CMTS whose network holds the relay address (giaddr) of that lease (an
// unknown modem), the only CMTS if there is one. Without any, the config
// gets an empty key, which a CMTS checking the CMTS MIC rejects (logged at
// Warn). Anti-theft does not apply: the file gives no access.
func (b *builder) walled(ctx context.Context, vw *view, from netip.Addr) ([]byte, error) {
	if vw.walledErr != nil {
		return nil, vw.walledErr
	}
	return b.garden(ctx, vw, from, "walled", vw.walledT, docsiscfg.Vars{MaxCPE: 1})
}

// registration answers the registration config's name: built like the
// walled garden's, the server's address filled in.
func (b *builder) registration(ctx context.Context, vw *view, from netip.Addr) ([]byte, error) {
	if vw.registerErr != nil {
		return nil, vw.registerErr
	}
	return b.garden(ctx, vw, from, "register|"+vw.server, vw.registerT, docsiscfg.Vars{MaxCPE: 1, Plan: map[string]string{"Server": vw.server}})
}

// garden compiles a config given to modems the inventory does not let in
// (t with vars; what is the cache key's part for t's kind and variables),
// with the key of the CMTS the requester is behind and the request's stamps.
func (b *builder) garden(ctx context.Context, vw *view, from netip.Addr, what string, t *planTmpl, vars docsiscfg.Vars) ([]byte, error) {
	key, err := b.walledKey(ctx, from)
	if err != nil {
		return nil, err
	}
	if key == nil && vw.noKey.CompareAndSwap(false, true) {
		b.opts.log.Warn("walled-garden config for a requester behind no known CMTS: compiled with an empty key (logged once per inventory version)", "from", from.String())
	}
	var ck strings.Builder
	ck.WriteString(what)
	ck.WriteByte('|')
	ck.WriteString(strconv.FormatUint(t.id, 10))
	ck.WriteByte('|')
	ck.WriteString(identity(docsiscfg.Vars{}, key))
	opts := docsiscfg.Options{Key: key}
	b.stamp(&opts, &ck, from)
	return b.compile(ck.String(), t, vars, opts)
}

func (b *builder) walledKey(ctx context.Context, from netip.Addr) ([]byte, error) {
	if from.Is4() {
		l, err := b.src.Lease4ByIP(ctx, from.String())
		switch {
		case err == nil:
			if m, err := b.src.ModemByMAC(ctx, l.MAC); err == nil && m.CMTSID != 0 {
				c, err := b.src.GetCMTS(ctx, m.CMTSID)
				if err != nil {
					return nil, fmt.Errorf("CMTS of modem %s: %w", m.MAC, err)
				}
				return []byte(c.SharedSecret), nil
			}
			if relay, err := netip.ParseAddr(l.GiAddr); err == nil {
				nets, err := b.src.ListNetworks(ctx, 0)
				if err != nil {
					return nil, err
				}
				if k, ok, err := b.relayKey(ctx, nets, relay); err != nil || ok {
					return k, err
				}
			}
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	all, err := b.src.ListCMTS(ctx)
	if err != nil {
		return nil, err
	}
	if len(all) == 1 {
		return []byte(all[0].SharedSecret), nil
	}
	return nil, nil
}

// relayKey returns the shared secret of the CMTS whose network most
// narrowly contains relay.
func (b *builder) relayKey(ctx context.Context, nets []store.Network, relay netip.Addr) ([]byte, bool, error) {
	cmts := store.CMTSOf(nets, relay)
	if cmts == 0 {
		return nil, false, nil
	}
	c, err := b.src.GetCMTS(ctx, cmts)
	if err != nil {
		return nil, false, fmt.Errorf("CMTS %d: %w", cmts, err)
	}
	return []byte(c.SharedSecret), true, nil
}

// holder returns the MAC that holds from's active lease, or a refusal.
func (b *builder) holder(ctx context.Context, from netip.Addr) (string, error) {
	now := b.opts.now()
	if from.Is6() {
		l6, ok := b.src.(Lease6Source)
		if !ok {
			return "", refuse(ReasonV6Unverified, "the inventory cannot yet tell who holds %s", from)
		}
		l, err := l6.Lease6ByAddress(ctx, from.String())
		if errors.Is(err, store.ErrNotFound) {
			return "", refuse(ReasonNoLease, "%s holds no lease", from)
		}
		if err != nil {
			return "", fmt.Errorf("lease of %s: %w", from, err)
		}
		if l.State != store.StateActive || !l.Ends.After(now) {
			return "", refuse(ReasonNoLease, "the lease of %s (%s) is %s, ending %s", from, l.MAC, l.State, l.Ends.Format(time.RFC3339))
		}
		return l.MAC, nil
	}
	l, err := b.src.Lease4ByIP(ctx, from.String())
	if errors.Is(err, store.ErrNotFound) {
		return "", refuse(ReasonNoLease, "%s holds no lease", from)
	}
	if err != nil {
		return "", fmt.Errorf("lease of %s: %w", from, err)
	}
	if l.State != store.StateActive || !l.Ends.After(now) {
		return "", refuse(ReasonNoLease, "the lease of %s (%s) is %s, ending %s", from, l.MAC, l.State, l.Ends.Format(time.RFC3339))
	}
	return l.MAC, nil
}

func sameMAC(a, b string) bool {
	x, err1 := store.MACBytes(a)
	y, err2 := store.MACBytes(b)
	return err1 == nil && err2 == nil && x == y
}

// identity serialises what a compile depends on besides the template and
// the stamp: every variable and the key, length-prefixed so no two
// different inputs give the same string.
func identity(v docsiscfg.Vars, key []byte) string {
	var b []byte
	str := func(s string) {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	list := func(l []string) {
		b = strconv.AppendInt(b, int64(len(l)), 10)
		b = append(b, '[')
		for _, s := range l {
			str(s)
		}
	}
	str(v.MAC)
	str(v.Customer)
	b = strconv.AppendInt(append(b, '#'), int64(v.MaxCPE), 10)
	list(v.CPEMACs)
	list(v.FixedIPs)
	b = strconv.AppendUint(append(b, '#'), v.DownBps, 10)
	b = strconv.AppendUint(append(b, '#'), v.UpBps, 10)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range v.Plan {
			if !yield(k) {
				return
			}
		}
	})
	b = strconv.AppendInt(append(b, '{'), int64(len(keys)), 10)
	for _, k := range keys {
		str(k)
		str(v.Plan[k])
	}
	str(string(key))
	return string(b)
}

// compile returns the cached bytes for ck or compiles them once.
func (b *builder) compile(ck string, t *planTmpl, vars docsiscfg.Vars, opts docsiscfg.Options) ([]byte, error) {
	if data, ok := b.cache.get(ck); ok {
		b.hits.Add(1)
		return data, nil
	}
	b.mu.Lock()
	if c, ok := b.inflight[ck]; ok {
		b.mu.Unlock()
		c.wg.Wait()
		if c.err == nil {
			b.hits.Add(1)
		}
		return c.data, c.err
	}
	c := &call{}
	c.wg.Add(1)
	b.inflight[ck] = c
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.inflight, ck)
		b.mu.Unlock()
		c.wg.Done()
	}()
	c.err = errors.New("panic while compiling") // replaced unless Encode panics
	c.data, c.err = t.t.Encode(vars, opts)
	b.compiles.Add(1)
	if c.err == nil {
		b.cache.put(ck, c.data)
	}
	return c.data, c.err
}

// byteCache is a size-bounded map evicting the oldest insertions first.
type byteCache struct {
	mu    sync.Mutex
	max   int
	size  int
	m     map[string][]byte
	order []string
	head  int
}

func newByteCache(max int) *byteCache {
	return &byteCache{max: max, m: map[string][]byte{}}
}

func (c *byteCache) get(k string) ([]byte, bool) {
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	return v, ok
}

func (c *byteCache) put(k string, v []byte) {
	cost := len(k) + len(v) + 64
	if cost > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	c.m[k] = v
	c.size += cost
	c.order = append(c.order, k)
	for c.size > c.max && c.head < len(c.order) {
		old := c.order[c.head]
		c.order[c.head] = ""
		c.head++
		c.size -= len(old) + len(c.m[old]) + 64
		delete(c.m, old)
	}
	if c.head > 1024 && c.head > len(c.order)/2 {
		c.order = append([]string(nil), c.order[c.head:]...)
		c.head = 0
	}
}

func (c *byteCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Preview compiles the config the cable modem with this MAC gets from its
// plan now, through the same builder and cache as a TFTP request, but
// without the per-request stamps (TLV 19 time, TLV 20 address) and without
// the lease check: it is for the operator's view, not for the modem.
func (s *Server) Preview(ctx context.Context, mac string) ([]byte, error) {
	if s.build == nil {
		return nil, errors.New("tftp: no config source")
	}
	norm, err := store.NormalizeMAC(mac)
	if err != nil {
		return nil, err
	}
	b := s.build
	vw, err := b.currentView(ctx)
	if err != nil {
		return nil, err
	}
	d, err := b.resolve(ctx, vw, "cm", norm)
	if err != nil {
		return nil, err
	}
	if !d.enabled {
		return nil, fmt.Errorf("modem %s is disabled: it gets the walled-garden config", norm)
	}
	if d.tmpl == nil {
		return nil, fmt.Errorf("the plan of modem %s has no config", norm)
	}
	ck := "preview|cm|" + strconv.FormatUint(d.tmpl.id, 10) + "|" + d.ident
	return b.compile(ck, d.tmpl, d.vars, docsiscfg.Options{Key: d.key})
}

// PreviewPlan compiles what the cable modem with this MAC would get from
// plan (a plan being edited, or one of its old versions) instead of its own:
// the modem's own variables and its CMTS's shared secret, resolved as for a
// TFTP request, without the per-request stamps. Nothing is cached.
func (s *Server) PreviewPlan(ctx context.Context, mac string, plan store.Plan) ([]byte, error) {
	if s.build == nil {
		return nil, errors.New("tftp: no config source")
	}
	norm, err := store.NormalizeMAC(mac)
	if err != nil {
		return nil, err
	}
	d, err := s.build.resolveCM(ctx, norm)
	if err != nil {
		return nil, err
	}
	t, err := docsiscfg.ParseTemplate(plan.Name, plan.Config)
	if err != nil {
		return nil, err
	}
	vars := d.vars
	vars.MaxCPE = int(plan.MaxCPE)
	return t.Encode(vars, docsiscfg.Options{Key: d.key})
}
