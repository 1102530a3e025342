package dhcp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"ip6m/store"
)

// CableLabs vendor option 17 (enterprise 4491) sub-options
// (CL-SP-CANN-DHCP-Reg).
const (
	clEnterprise     = 4491
	clORO            = 1
	clDeviceType     = 2
	clTFTPServers    = 32
	clConfigFile     = 33
	clSyslogServers  = 34
	clDeviceID       = 36
	clTimeServers    = 37
	clTimeOffset     = 38
	maxRelayHops     = 32
	defaultValidLife = 24 * time.Hour
)

// Settings6 is what the v6 server needs beyond the inventory: somewhere to
// keep its DUID; *store.Store implements it.
type Settings6 interface {
	Setting(ctx context.Context, key, def string) (string, error)
	SetSetting(ctx context.Context, actor, key, value string) error
}

// LeaseStore6 makes bindings durable; *store.Store implements it.
type LeaseStore6 interface {
	CommitLeases(ctx context.Context, ops ...store.LeaseOp) error
	CommitLeasesThen(ctx context.Context, ops []store.LeaseOp, then func(error)) error
	Leases6(ctx context.Context, since time.Time) ([]store.Lease6, error)
}

// Config6 is what New6 needs.
type Config6 struct {
	Addr      string // e.g. ":547"
	Inventory Inventory
	Leases    LeaseStore6
	Settings  Settings6
	Logger    *slog.Logger
	Now       func() time.Time
	Refresh   time.Duration
}

// Server6 is the DHCPv6 server.
type Server6 struct {
	base
	cfg   Config6
	conn  *net.UDPConn
	duid  dhcpv6.DUID
	duidB []byte // duid packed
	binds *bindings
}

// New6 loads the inventory and bindings, makes or loads the server DUID and
// binds the socket.
func New6(ctx context.Context, cfg Config6) (*Server6, error) {
	if cfg.Inventory == nil || cfg.Leases == nil || cfg.Settings == nil {
		return nil, errors.New("dhcp6: no inventory, lease store or settings")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Refresh == 0 {
		cfg.Refresh = time.Second
	}
	s := &Server6{cfg: cfg, binds: newBindings()}
	// The DUID first: storing a new one changes the settings, and so the
	// inventory version, which the snapshot loaded next then already has
	// (otherwise the first start reloads the whole inventory a second
	// later, in the middle of whatever storm it is answering).
	var err error
	if s.duid, err = serverDUID(ctx, cfg.Settings); err != nil {
		return nil, fmt.Errorf("dhcp6: %w", err)
	}
	s.duidB = s.duid.ToBytes()
	if err := s.base.init(ctx, cfg.Inventory, cfg.Logger.With("component", "dhcp6"), cfg.Now, cfg.Refresh); err != nil {
		return nil, fmt.Errorf("dhcp6: %w", err)
	}
	sn := s.snap.Load()
	list, err := cfg.Leases.Leases6(ctx, s.now().Add(-declineQuarantine))
	if err != nil {
		return nil, fmt.Errorf("dhcp6: %w", err)
	}
	s.binds.load(list, s.now())
	ua, err := net.ResolveUDPAddr("udp6", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dhcp6 listen %s: %w", cfg.Addr, err)
	}
	if s.conn, err = net.ListenUDP("udp6", ua); err != nil {
		return nil, fmt.Errorf("dhcp6 listen %s: %w", cfg.Addr, err)
	}
	s.conn.SetReadBuffer(8 << 20) // reboot storms come in bursts
	s.conn.SetWriteBuffer(4 << 20)
	s.log.Info("DHCPv6 ready", "addr", s.conn.LocalAddr().String(), "bindings", len(list), "networks", len(sn.nets6))
	return s, nil
}

// serverDUID loads the server's DUID or makes a DUID-UUID-like DUID-EN
// once and stores it, so clients see the same server across restarts.
func serverDUID(ctx context.Context, st Settings6) (dhcpv6.DUID, error) {
	h, err := st.Setting(ctx, SettingServerDUID, "")
	if err != nil {
		return nil, err
	}
	if h != "" {
		b, err := hex.DecodeString(h)
		if err == nil {
			if d, err := dhcpv6.DUIDFromBytes(b); err == nil {
				return d, nil
			}
		}
		return nil, fmt.Errorf("setting %s: %q is not a DUID", SettingServerDUID, h)
	}
	id := make([]byte, 12)
	rand.Read(id)
	d := &dhcpv6.DUIDEN{EnterpriseNumber: clEnterprise, EnterpriseIdentifier: id}
	if err := st.SetSetting(ctx, "dhcp6", SettingServerDUID, hex.EncodeToString(d.ToBytes())); err != nil {
		return nil, err
	}
	return d, nil
}

// Addr is the bound address.
func (s *Server6) Addr() net.Addr { return s.conn.LocalAddr() }

// Run serves until ctx is done.
func (s *Server6) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.maintain(ctx, s.Sweep) }()
	// Stopping ends the reads; the socket closes once the replies being
	// committed are sent.
	go func() { defer wg.Done(); <-ctx.Done(); s.conn.SetReadDeadline(time.Now()) }()
	defer s.conn.Close()
	buf := make([]byte, 65536)
	for {
		n, src, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			s.log.Warn("read", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.stats.received.Add(1)
		s.serve(ctx, buf[:n], src)
	}
	s.drain()
	wg.Wait()
	s.log.Info("DHCPv6 stopped", "received", s.stats.received.Load(), "replied", s.stats.replied.Load())
	return nil
}

// serve answers one packet. pkt is not kept past the call. A reply that
// grants bindings leaves once they are durable: the lease store's committer
// sends it, right after the sync, so no goroutine waits for the disk.
func (s *Server6) serve(ctx context.Context, pkt []byte, src netip.AddrPort) {
	defer func() {
		if v := recover(); v != nil {
			s.countDrop("panic")
			s.log.Error("panic handling a request", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	buf := replyBufs6.Get().(*[]byte)
	out, ops, err := s.prepare6(pkt, (*buf)[:0])
	if out != nil && cap(out) <= 64<<10 {
		*buf = out[:0] // grown, perhaps: keep the larger one
	}
	if err != nil {
		replyBufs6.Put(buf)
		var d errDrop
		if errors.As(err, &d) {
			s.countDrop(dropKind(d.reason))
			s.log.Debug("no reply", "src", src, "why", d.reason)
			return
		}
		s.countDrop("error")
		s.log.Error("request failed", "src", src, "err", err)
		return
	}
	if len(ops) == 0 {
		s.send(out, src)
		replyBufs6.Put(buf)
		return
	}
	s.committing.Add(1)
	err = s.cfg.Leases.CommitLeasesThen(ctx, ops, func(err error) {
		defer s.committing.Done()
		defer replyBufs6.Put(buf)
		if err != nil {
			s.countDrop("error")
			s.log.Error("request failed", "src", src, "err", fmt.Errorf("commit bindings: %w", err))
			return
		}
		s.stats.leasesCommitted.Add(int64(len(ops)))
		s.send(out, src)
	})
	if err != nil {
		s.committing.Done()
		replyBufs6.Put(buf)
		s.countDrop("error")
		s.log.Error("request failed", "src", src, "err", fmt.Errorf("commit bindings: %w", err))
	}
}

// send sends a reply back where its message came from: the relay agent
// (its port is 547, or the one RFC 8357 lets it choose) or the client.
func (s *Server6) send(out []byte, src netip.AddrPort) {
	if _, err := s.conn.WriteToUDPAddrPort(out, src); err != nil {
		s.countDrop("send")
		return
	}
	s.stats.replied.Add(1)
}

// Sweep expires bindings whose valid lifetime is over.
func (s *Server6) Sweep(ctx context.Context) {
	expired := s.binds.sweep(s.now())
	if len(expired) == 0 {
		return
	}
	sn := s.snap.Load()
	ops := make([]store.LeaseOp, 0, len(expired))
	for i := range expired {
		op := store.LeaseOp{Event: store.EventExpire, V6: expired[i].record()}
		if m := sn.modemsID[expired[i].modemID]; m != nil {
			op.ModemMAC, op.CustomerID = m.macText, m.customerID
		}
		ops = append(ops, op)
	}
	if err := s.cfg.Leases.CommitLeases(ctx, ops...); err != nil {
		s.log.Error("record expired bindings", "count", len(ops), "err", err)
	}
}

// request6 is a client message with what the relays said about it.
type request6 struct {
	msg      *dhcpv6.Message
	relays   []*dhcpv6.RelayMessage // outermost first
	link     netip.Addr             // the innermost relay's link-address
	remoteID []byte                 // option 37's data, innermost relay that sent one
	mac      [6]byte                // the client's MAC, if it could be found
	macOK    bool
	vendor   string // option 16 (4491) data
	duid     []byte
	oro      []uint16 // CableLabs ORO (17/4491 sub-option 1)
	wantDNS  bool
}

// handle6 decodes one packet and returns the reply packet (wrapped back in
// Relay-Reply through every relay level) once the bindings it grants are
// durable. It touches no socket.
func (s *Server6) handle6(ctx context.Context, pkt []byte) ([]byte, error) {
	out, ops, err := s.prepare6(pkt, make([]byte, 0, 512))
	if err != nil || len(ops) == 0 {
		return out, err
	}
	if err := s.cfg.Leases.CommitLeases(ctx, ops...); err != nil {
		return nil, fmt.Errorf("commit bindings: %w", err)
	}
	s.stats.leasesCommitted.Add(int64(len(ops)))
	return out, nil
}

// replyBufs6 are buffers for replies on their way to the socket.
var replyBufs6 = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// prepare6 decodes one packet, appends the reply packet to dst and returns
// it with the binding changes that must be durable before it leaves.
func (s *Server6) prepare6(pkt []byte, dst []byte) ([]byte, []store.LeaseOp, error) {
	d, err := parse6(pkt)
	if err != nil {
		return nil, nil, drop("malformed: %v", err)
	}
	var r request6
	cur := d
	for cur.IsRelay() {
		rm := cur.(*dhcpv6.RelayMessage)
		if rm.MessageType != dhcpv6.MessageTypeRelayForward {
			return nil, nil, drop("message type %v", rm.MessageType)
		}
		if len(r.relays) >= maxRelayHops || rm.HopCount > maxRelayHops {
			return nil, nil, drop("relay loop: over %d hops", maxRelayHops)
		}
		r.relays = append(r.relays, rm)
		if a, ok := netip.AddrFromSlice(rm.LinkAddr); ok && !a.IsUnspecified() {
			r.link = a.Unmap()
		}
		if rid := rm.Options.RemoteID(); rid != nil {
			r.remoteID = rid.RemoteID
		}
		if _, ll := rm.Options.ClientLinkLayerAddress(); len(ll) == 6 && !r.macOK {
			copy(r.mac[:], ll)
			r.macOK = true
		}
		inner := rm.Options.RelayMessage()
		if inner == nil {
			return nil, nil, drop("relay-forward without a relay message")
		}
		cur = inner
	}
	msg, ok := cur.(*dhcpv6.Message)
	if !ok {
		return nil, nil, drop("no client message inside the relays")
	}
	r.msg = msg
	// One pass over the client's options for what the answer needs (the
	// library's getters each make a slice of matches).
	cid, sid := msg.Options.ClientID(), msg.Options.ServerID()
	var vendorOpts, vendorClass bool // the first of each for CableLabs counts
	for _, o := range msg.Options.Options {
		switch o := o.(type) {
		case *dhcpv6.OptVendorOpts:
			// The MAC: device-id (17/4491 sub-option 36), else the DUID's
			// link-layer address, else option 79 from the relay (kept
			// above).
			if o.EnterpriseNumber != clEnterprise || vendorOpts {
				continue
			}
			vendorOpts = true
			for _, v := range o.VendorOpts {
				b := v.ToBytes()
				switch v.Code() {
				case clDeviceID:
					if len(b) == 6 {
						copy(r.mac[:], b)
						r.macOK = true
					}
				case clORO:
					if r.oro == nil {
						r.oro = make([]uint16, 0, len(b)/2)
					}
					for i := 0; i+1 < len(b); i += 2 {
						r.oro = append(r.oro, binary.BigEndian.Uint16(b[i:]))
					}
				}
			}
		case *dhcpv6.OptVendorClass:
			if o.EnterpriseNumber == clEnterprise && !vendorClass {
				vendorClass = true
				if len(o.Data) > 0 {
					r.vendor = string(o.Data[0])
				}
			}
		case interface {
			dhcpv6.Option
			Contains(dhcpv6.OptionCode) bool
		}: // the ORO
			if o.Code() == dhcpv6.OptionORO && o.Contains(dhcpv6.OptionDNSRecursiveNameServer) {
				r.wantDNS = true
			}
		}
	}
	if cid == nil && msg.MessageType != dhcpv6.MessageTypeInformationRequest {
		return nil, nil, drop("message type %v without a client id", msg.MessageType)
	}
	if cid != nil {
		r.duid = appendDUID(make([]byte, 0, 24), cid)
	}
	if !r.macOK {
		switch v := cid.(type) {
		case *dhcpv6.DUIDLL:
			if len(v.LinkLayerAddr) == 6 {
				copy(r.mac[:], v.LinkLayerAddr)
				r.macOK = true
			}
		case *dhcpv6.DUIDLLT:
			if len(v.LinkLayerAddr) == 6 {
				copy(r.mac[:], v.LinkLayerAddr)
				r.macOK = true
			}
		}
	}
	if sid != nil {
		switch msg.MessageType {
		case dhcpv6.MessageTypeSolicit, dhcpv6.MessageTypeConfirm, dhcpv6.MessageTypeRebind:
			return nil, nil, drop("%v with a server id", msg.MessageType)
		}
		var buf [32]byte
		if b := appendDUID(buf[:0], sid); string(b) != string(s.duidB) {
			return nil, nil, drop("client chose server %x", b)
		}
	}
	reply, ops, err := s.answer(&r)
	if err != nil || reply == nil {
		return nil, nil, err
	}
	return appendReply6(dst, r.relays, reply), ops, nil
}

// decide6 classifies a v6 request like decide does a v4 one.
func (s *Server6) decide6(sn *snapshot, r *request6) decision6 {
	var d decision6
	remote, remoteOK := remoteMAC(r.remoteID)
	relayNet := sn.network6For(r.link)
	var relayCMTS int64
	if relayNet != nil {
		relayCMTS = relayNet.cmtsID
	}
	if m := sn.modems[r.mac]; r.macOK && m != nil {
		d.kind, d.modem = store.KindCM, m
		d.na = sn.network6Of(pick(m.cmtsID, relayCMTS), store.PurposeCM, r.link)
		if d.na == nil {
			d.refuse = "its CMTS has no IPv6 cable modem network"
			return d
		}
		if !m.enabled {
			if !d.na.walled {
				d.refuse = "the modem is disabled"
				return d
			}
			d.walled, d.file = true, sn.walledFile
			return d
		}
		d.fixed = m.fixed6
		if !d.fixed.IsValid() {
			if a, ok := store.DeriveIPv6From(d.na.prefix, m.mac); ok {
				d.fixed = a
			}
		}
		d.file = configName(sn.cmFile, m.mac)
		return d
	}
	owner := sn.modems[remote]
	if !remoteOK {
		owner = nil
	}
	if dev, ok := sn.mtas[r.mac]; (r.macOK && ok) || (owner != nil && strings.HasPrefix(strings.ToLower(r.vendor), "pktc")) {
		d.kind = store.KindMTA
		if ok && r.macOK {
			d.modem = sn.modemsID[dev.modemID]
		} else {
			d.modem = owner
		}
		if d.modem == nil || !d.modem.enabled {
			d.refuse = "the MTA's modem is unknown or disabled"
			return d
		}
		d.na = sn.network6Of(d.modem.cmtsID, store.PurposeMTA, r.link)
		if d.na == nil {
			d.refuse = "the CMTS has no IPv6 MTA network"
			return d
		}
		d.file = configName(sn.mtaFile, r.mac)
		return d
	}
	if owner != nil {
		d.kind, d.modem = store.KindCPE, owner
		if !owner.enabled {
			d.refuse = "its modem " + owner.macText + " is disabled"
			return d
		}
		d.maxCPE = sn.plans[owner.planID].maxCPE
		d.na = sn.network6Of(pick(owner.cmtsID, relayCMTS), store.PurposeCPE, r.link)
		if d.na == nil {
			// The seed's layout: one subnet6 for the modems, whose range6
			// serves the devices behind them.
			if n := sn.network6Of(pick(owner.cmtsID, relayCMTS), store.PurposeCM, r.link); n != nil && len(n.ranges) > 0 {
				d.na = n
			}
		}
		d.pd = sn.pdPoolsOf(pick(owner.cmtsID, relayCMTS))
		if d.na == nil && len(d.pd) == 0 {
			d.refuse = "the CMTS has no IPv6 CPE network or prefix pool"
		}
		return d
	}
	// A cable modem the inventory does not know, if it says it is one (or
	// the CMTS relays it as one): the walled garden where its network says
	// so, as in v4, else refused as an unknown modem.
	if r.macOK && (strings.HasPrefix(strings.ToLower(r.vendor), "docsis") || (remoteOK && remote == r.mac)) {
		d.kind = store.KindUnknown
		if d.na = sn.network6Of(relayCMTS, store.PurposeCM, r.link); d.na == nil || !d.na.walled {
			d.na, d.refuse = nil, "unknown modem "+macText(r.mac)
			return d
		}
		d.walled, d.file = true, sn.walledFile
		if d.na.selfRegister {
			d.file = sn.registerFile
		}
		return d
	}
	if relayNet != nil && relayNet.purpose == store.PurposeServer && len(r.relays) == 0 {
		d.kind, d.na = store.KindUnknown, relayNet
		return d
	}
	d.kind, d.refuse = store.KindUnknown, "unknown device"
	if r.macOK {
		d.refuse += " " + macText(r.mac)
	}
	return d
}

type decision6 struct {
	kind   string
	modem  *modemInfo
	na     *network6   // IA_NA from here
	pd     []*network6 // IA_PD from these networks' pools
	fixed  netip.Addr
	file   string
	walled bool
	maxCPE int // for CPEs: the modem's plan's limit (checked at allocation)
	refuse string
	// reservedPD are the prefixes reserved for modems' routers (the
	// snapshot's): a CPE behind such a modem gets its one, nobody else does.
	reservedPD map[netip.Prefix]int64
}

// appendDUID appends a DUID's wire form: a cable device's DUID-LL or
// DUID-LLT and our DUID-EN here, any other through the library.
func appendDUID(b []byte, d dhcpv6.DUID) []byte {
	switch v := d.(type) {
	case *dhcpv6.DUIDLL:
		b = binary.BigEndian.AppendUint16(b, uint16(dhcpv6.DUID_LL))
		b = binary.BigEndian.AppendUint16(b, uint16(v.HWType))
		return append(b, v.LinkLayerAddr...)
	case *dhcpv6.DUIDLLT:
		b = binary.BigEndian.AppendUint16(b, uint16(dhcpv6.DUID_LLT))
		b = binary.BigEndian.AppendUint16(b, uint16(v.HWType))
		b = binary.BigEndian.AppendUint32(b, v.Time)
		return append(b, v.LinkLayerAddr...)
	case *dhcpv6.DUIDEN: // ours
		b = binary.BigEndian.AppendUint16(b, uint16(dhcpv6.DUID_EN))
		b = binary.BigEndian.AppendUint32(b, v.EnterpriseNumber)
		return append(b, v.EnterpriseIdentifier...)
	}
	return append(b, d.ToBytes()...)
}

// remoteMAC reads the modem's MAC from option 37's data: DOCSIS CMTSes send
// the 6-byte MAC (some with a type/length prefix, as in option 82).
func remoteMAC(b []byte) ([6]byte, bool) { return RemoteIDMAC(b) }

// answer builds the reply to a client message (RFC 8415 §18.3) and returns
// the binding changes that must be durable before it is sent.
func (s *Server6) answer(r *request6) (*dhcpv6.Message, []store.LeaseOp, error) {
	sn := s.snap.Load()
	msg := r.msg
	now := s.now()
	reply := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeReply, TransactionID: msg.TransactionID}
	// The client's DUID as it sent it, and ours packed once: the reply
	// goes straight to appendReply6, which copies their bytes.
	if r.duid != nil {
		reply.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionClientID, OptionData: r.duid})
	}
	reply.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionServerID, OptionData: s.duidB})

	d := s.decide6(sn, r)
	d.reservedPD = sn.reservedPD
	var ops []store.LeaseOp
	commit := false
	switch msg.MessageType {
	case dhcpv6.MessageTypeSolicit:
		if d.refuse != "" {
			s.refuseV6(r, d.refuse)
			return nil, nil, drop("refused: %s", d.refuse)
		}
		rapid := msg.GetOneOption(dhcpv6.OptionRapidCommit) != nil
		if rapid {
			reply.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionRapidCommit})
			commit = true
		} else {
			reply.MessageType = dhcpv6.MessageTypeAdvertise
		}
		var refused string
		if ops, refused = s.assign(r, d, reply, now, commit, false); refused != "" {
			// Over the modem's CPE limit: an Advertise whose IAs say so.
			s.refuseV6(r, refused)
			reply.MessageType = dhcpv6.MessageTypeAdvertise
			reply.Options.Del(dhcpv6.OptionRapidCommit)
			commit = false
		}
	case dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRebind:
		if d.refuse != "" {
			s.refuseV6(r, d.refuse)
			reply.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: d.refuse})
			break
		}
		commit = true
		var refused string
		if ops, refused = s.assign(r, d, reply, now, true, msg.MessageType != dhcpv6.MessageTypeRequest); refused != "" {
			s.refuseV6(r, refused)
		}
	case dhcpv6.MessageTypeRelease, dhcpv6.MessageTypeDecline:
		ops = s.release(r, d, reply, now, msg.MessageType == dhcpv6.MessageTypeDecline)
		commit = true
	case dhcpv6.MessageTypeConfirm:
		onLink := true
		for _, ia := range msg.Options.IANA() {
			for _, a := range ia.Options.Addresses() {
				ip, _ := netip.AddrFromSlice(a.IPv6Addr)
				if d.na == nil || !d.na.prefix.Contains(ip.Unmap()) {
					onLink = false
				}
			}
		}
		if onLink {
			reply.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusSuccess, StatusMessage: "all addresses on link"})
		} else {
			reply.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNotOnLink, StatusMessage: "an address is not on the client's link"})
		}
	case dhcpv6.MessageTypeInformationRequest:
	default:
		return nil, nil, drop("message type %v", msg.MessageType)
	}
	s.addOptions(sn, r, d, reply)
	if !commit {
		ops = nil
	}
	return reply, ops, nil
}

// refuseV6 records a refused v6 client.
func (s *Server6) refuseV6(r *request6, reason string) {
	mac := ""
	if r.macOK {
		mac = macText(r.mac)
	}
	relay := ""
	if r.link.IsValid() {
		relay = r.link.String()
	}
	s.refuse(mac, relay, reason)
}

// addOptions adds DNS when asked and the CableLabs sub-options the client
// listed in its vendor ORO (for eMTAs also the PacketCable 2170/2171).
func (s *Server6) addOptions(sn *snapshot, r *request6, d decision6, reply *dhcpv6.Message) {
	nw := d.na
	if nw == nil && len(d.pd) > 0 {
		nw = d.pd[0]
	}
	if nw == nil {
		return
	}
	if r.wantDNS && nw.dnsOpt != nil {
		reply.AddOption(nw.dnsOpt)
	}
	if len(r.oro) == 0 || (d.kind != store.KindCM && d.kind != store.KindMTA && !d.walled) {
		return
	}
	// Only what the client asked for, in its order. The network's and the
	// server's sub-options were made once (they are only read from here on).
	subs := make(dhcpv6.Options, 0, len(r.oro))
	add := func(o *dhcpv6.OptionGeneric) {
		if o != nil {
			subs = append(subs, o)
		}
	}
	for _, code := range r.oro {
		switch code {
		case clTFTPServers:
			add(sn.tftpOpt6)
		case clConfigFile:
			add(clSubOption(clConfigFile, []byte(d.file)))
		case clSyslogServers:
			add(nw.logOpt)
		case clTimeServers:
			add(nw.timeOpt)
		case clTimeOffset:
			add(nw.offsetOpt)
		case clCCC:
			if d.kind == store.KindMTA {
				add(clSubOption(clCCC, optionCCC(sn.serverID)))
			}
		case clCCCv6:
			if d.kind == store.KindMTA {
				add(clSubOption(clCCCv6, optionCCCv6(s.duidB, sn.server6, sn.pktcProv, sn.pktcRealm, sn.pktcTimers)))
			}
		}
	}
	if len(subs) > 0 {
		reply.AddOption(&dhcpv6.OptVendorOpts{EnterpriseNumber: clEnterprise, VendorOpts: subs})
	}
}

func ip6s(as []netip.Addr) []net.IP {
	out := make([]net.IP, len(as))
	for i, a := range as {
		out[i] = a.AsSlice()
	}
	return out
}

// Preview classifies a modem's Solicit as it would arrive through its
// CMTS (link-address in its CMTS's v6 CM prefix), for the UI.
func (s *Server6) Preview(mac string) (Preview, error) {
	b, err := store.MACBytes(mac)
	if err != nil {
		return Preview{}, err
	}
	sn := s.snap.Load()
	r := &request6{mac: b, macOK: true, remoteID: b[:], vendor: "docsis3.0"}
	if m := sn.modems[b]; m != nil {
		if n := sn.network6Of(m.cmtsID, store.PurposeCM, netip.Addr{}); n != nil {
			r.link = n.prefix.Addr().Next()
		}
	}
	d := s.decide6(sn, r)
	p := Preview{Kind: d.kind, File: d.file, Walled: d.walled, Refuse: d.refuse}
	if d.na != nil {
		p.Network = d.na.prefix.String()
		if d.na.name != "" {
			p.Network += " (" + d.na.name + ")"
		}
	}
	if d.fixed.IsValid() {
		p.Fixed = d.fixed.String()
		s.binds.mu.Lock()
		if bd := s.binds.byPrefix[netip.PrefixFrom(d.fixed, 128)]; bd != nil && bd.state == store.StateActive && bd.expires.After(s.now()) {
			p.Leased = d.fixed.String()
		}
		s.binds.mu.Unlock()
	}
	return p, nil
}
