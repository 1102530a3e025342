// Package snmpsim simulates DOCSIS cable modems and a CMTS answering SNMP
// v2c, for the poller's tests and for load runs (cmd/snmpsim).
//
// Every modem has its own loopback address (127.1.0.1, 127.1.0.2, ...,
// skipping x.y.z.0 and x.y.z.255) and all of them share one UDP socket and
// port: the socket is bound to the wildcard address with IP_PKTINFO, learns
// which address each request was sent to, and answers from that address.
// Requests from outside 127.0.0.0/8 or to addresses it does not simulate
// are ignored. The CMTS has an address of its own (default 127.0.1.1).
//
// Modems answer GET, GETNEXT and GETBULK for sysUpTime, ifType, the IF-MIB
// octet counters, the DOCS-IF-MIB downstream/signal quality/CM status
// columns, DOCS-IF3 per-upstream transmit power, DOCS-IF31 OFDM/OFDMA
// power, and SET of docsDevResetNow.0 (with the write community), which
// is recorded and reboots the modem. Values vary slowly (a sine of a few
// tenths of a dB over ten minutes) around a per-modem profile drawn from
// Config.Seed; counters grow at a per-modem rate from a random offset, so
// 32-bit ones wrap. A modem can be alive, slow (answers after SlowDelay),
// mute (never answers, but online at the CMTS) or dead (never answers,
// offline at the CMTS), and can be rebooted (sysUpTime and counters
// restart).
package snmpsim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// State is how a simulated modem behaves.
type State int32

const (
	Alive State = iota
	Slow        // answers after Config.SlowDelay
	Mute        // never answers; online at the CMTS
	Dead        // never answers; offline at the CMTS
)

// Config configures a simulator. Zero values take the defaults.
type Config struct {
	Modems         int
	Port           uint16     // 0: any free port
	FirstAddr      netip.Addr // default 127.1.0.1
	CMTSAddr       netip.Addr // default 127.0.1.1; the zero value of NoCMTS disables it
	NoCMTS         bool
	NoIF3          bool   // the CMTS has no DOCS-IF3 tables
	Community      string // default "public"
	WriteCommunity string // default "private"

	Dead, Slow   float64 // shares of modems dead / slow from the start
	MultiChannel float64 // share of DOCSIS 3.0 modems (8 downstream, 4 upstream)
	OFDM         float64 // share of those with DOCSIS 3.1 OFDM/OFDMA channels too
	Legacy       float64 // share of single-channel modems without 64-bit counters
	SlowDelay    time.Duration
	// Shapes, if set, gives modem i the layout Shapes[i%len(Shapes)]
	// instead of drawing it from the shares above.
	Shapes []Shape
	// Static keeps every value at its profile (tests); else values vary slowly.
	Static bool
	Seed   uint64
	Now    func() time.Time
	// Readers is the number of goroutines reading the socket, default 2.
	Readers int
	// MaxGetVarbinds, if positive, answers tooBig to a GET asking more.
	MaxGetVarbinds int
}

// Profile is a modem's level around which its values vary.
type Profile struct {
	MAC      net.HardwareAddr
	DsPower  float64 // dBmV, first channel; later ones +0.3 dB each
	DsSNR    float64 // dB
	Micro    int     // -dBc
	UsTx     float64 // dBmV
	UsRx     float64 // dBmV at the CMTS
	UsSNR    float64 // dB at the CMTS
	InRate   float64 // bytes/s
	OutRate  float64 // bytes/s
	CorrRate float64 // codewords/s per channel
	UncRate  float64 // codewords/s per channel
}

type modem struct {
	addr    netip.Addr
	shape   Shape
	view    view
	profile atomic.Pointer[Profile]
	offset  atomic.Uint64 // counter start
	reqs    atomic.Uint64
	phase   float64
	state   atomic.Int32
	boot    atomic.Int64 // unix nanos
}

// SetRecord is one SET the simulator received.
type SetRecord struct {
	Addr      netip.Addr
	Community string
	OID       string
	Value     any
}

// Sim is a running simulator.
type Sim struct {
	cfg    Config
	conn   *net.UDPConn
	port   uint16
	modems []*modem
	byAddr map[netip.Addr]int // modem index; -1 the CMTS
	cmts   view

	mu   sync.Mutex
	sets []SetRecord

	Requests atomic.Uint64 // requests answered or dropped on purpose
}

// New builds the modems and binds the socket.
func New(cfg Config) (*Sim, error) {
	if cfg.FirstAddr == (netip.Addr{}) {
		cfg.FirstAddr = netip.MustParseAddr("127.1.0.1")
	}
	if cfg.CMTSAddr == (netip.Addr{}) {
		cfg.CMTSAddr = netip.MustParseAddr("127.0.1.1")
	}
	if !cfg.FirstAddr.Is4() || !cfg.FirstAddr.IsLoopback() || !cfg.CMTSAddr.Is4() || !cfg.CMTSAddr.IsLoopback() {
		return nil, errors.New("snmpsim: addresses must be in 127.0.0.0/8")
	}
	if cfg.Community == "" {
		cfg.Community = "public"
	}
	if cfg.WriteCommunity == "" {
		cfg.WriteCommunity = "private"
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = 300 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Readers <= 0 {
		cfg.Readers = 2
	}
	s := &Sim{cfg: cfg, byAddr: make(map[netip.Addr]int, cfg.Modems+1)}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x1p6))
	views := map[Shape]view{}
	a := cfg.FirstAddr
	boot := cfg.Now().Add(-time.Duration(rng.IntN(86400)) * time.Second).UnixNano()
	for i := range cfg.Modems {
		for {
			b := a.As4()
			if b[3] != 0 && b[3] != 255 && a != cfg.CMTSAddr {
				break
			}
			a = a.Next()
		}
		if !a.IsLoopback() {
			return nil, fmt.Errorf("snmpsim: %d modems do not fit in 127.0.0.0/8 from %s", cfg.Modems, cfg.FirstAddr)
		}
		m := &modem{addr: a, phase: rng.Float64() * 2 * math.Pi}
		m.offset.Store(rng.Uint64N(1 << 32))
		m.shape = Shape{Down: 1, Up: 1}
		switch r := rng.Float64(); {
		case len(cfg.Shapes) > 0:
			m.shape = cfg.Shapes[i%len(cfg.Shapes)]
		case r < cfg.MultiChannel:
			m.shape = Shape{Down: 8, Up: 4, OFDM: rng.Float64() < cfg.OFDM}
		case r < cfg.MultiChannel+cfg.Legacy:
			m.shape.No64BitCtr = true
		}
		if views[m.shape] == nil {
			views[m.shape] = modemView(m.shape)
		}
		m.view = views[m.shape]
		prof := randomProfile(rng, i)
		m.profile.Store(&prof)
		switch r := rng.Float64(); {
		case r < cfg.Dead:
			m.state.Store(int32(Dead))
		case r < cfg.Dead+cfg.Slow:
			m.state.Store(int32(Slow))
		}
		m.boot.Store(boot)
		s.modems = append(s.modems, m)
		s.byAddr[a] = i
		a = a.Next()
	}
	if !cfg.NoCMTS {
		s.byAddr[cfg.CMTSAddr] = -1
		s.cmts = cmtsView(s.modems, !cfg.NoIF3)
	}
	conn, err := listen(cfg.Port)
	if err != nil {
		return nil, fmt.Errorf("snmpsim: %w", err)
	}
	s.conn = conn
	s.port = uint16(conn.LocalAddr().(*net.UDPAddr).Port)
	return s, nil
}

func randomProfile(rng *rand.Rand, i int) Profile {
	p := Profile{
		MAC:      net.HardwareAddr{0x02, 0x1b, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)},
		DsPower:  math.Round((rng.Float64()*12-6)*10) / 10,
		DsSNR:    math.Round((34+rng.Float64()*6)*10) / 10,
		Micro:    25 + rng.IntN(15),
		UsTx:     math.Round((38+rng.Float64()*10)*10) / 10,
		UsRx:     math.Round((rng.Float64()*2-1)*10) / 10,
		UsSNR:    math.Round((31+rng.Float64()*7)*10) / 10,
		InRate:   float64(1000 + rng.IntN(1_000_000)),
		OutRate:  float64(100 + rng.IntN(100_000)),
		CorrRate: float64(rng.IntN(50)),
	}
	switch rng.IntN(20) { // one in twenty is sick in some way
	case 0:
		p.DsPower = 12 + rng.Float64()*5
	case 1:
		p.DsSNR = 27 + rng.Float64()*3
	case 2:
		p.UsTx = 52 + rng.Float64()*3
	case 3:
		p.UncRate = 0.5 + rng.Float64()*5
	case 4:
		p.UsSNR = 22 + rng.Float64()*3
	}
	return p
}

// Port is the UDP port every simulated device listens on.
func (s *Sim) Port() uint16 { return s.port }

// Len is the number of modems.
func (s *Sim) Len() int { return len(s.modems) }

// Addr is modem i's agent address.
func (s *Sim) Addr(i int) netip.AddrPort { return netip.AddrPortFrom(s.modems[i].addr, s.port) }

// CMTSAddr is the CMTS's agent address.
func (s *Sim) CMTSAddr() netip.AddrPort { return netip.AddrPortFrom(s.cfg.CMTSAddr, s.port) }

// Profile returns modem i's levels.
func (s *Sim) Profile(i int) Profile { return *s.modems[i].profile.Load() }

// SetProfile replaces modem i's levels (keeping its MAC).
func (s *Sim) SetProfile(i int, p Profile) {
	p.MAC = s.modems[i].profile.Load().MAC
	s.modems[i].profile.Store(&p)
}

// Shape returns modem i's interface layout.
func (s *Sim) Shape(i int) Shape { return s.modems[i].shape }

// DownIfIndex and UpIfIndex are the ifIndex of modem i's channel ch.
func (s *Sim) DownIfIndex(ch int) uint32 { return Shape{}.downIf(ch) }
func (s *Sim) UpIfIndex(ch int) uint32   { return Shape{}.upIf(ch) }

// RequestsTo is the number of requests modem i received.
func (s *Sim) RequestsTo(i int) uint64 { return s.modems[i].reqs.Load() }

// Index returns the modem at addr.
func (s *Sim) Index(addr netip.Addr) (int, bool) {
	i, ok := s.byAddr[addr]
	return i, ok && i >= 0
}

// State returns modem i's behaviour.
func (s *Sim) State(i int) State { return State(s.modems[i].state.Load()) }

// SetState changes modem i's behaviour.
func (s *Sim) SetState(i int, st State) { s.modems[i].state.Store(int32(st)) }

// Reboot restarts modem i: sysUpTime and its counters start from zero.
func (s *Sim) Reboot(i int) {
	m := s.modems[i]
	m.offset.Store(0)
	m.boot.Store(s.cfg.Now().UnixNano())
}

// Sets returns the SETs received so far.
func (s *Sim) Sets() []SetRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SetRecord(nil), s.sets...)
}

// Run answers requests until ctx is done, then closes the socket.
func (s *Sim) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range s.cfg.Readers {
		wg.Go(s.read)
	}
	<-ctx.Done()
	s.conn.Close()
	wg.Wait()
	return nil
}

// Close releases the socket of a simulator that was never Run.
func (s *Sim) Close() error { return s.conn.Close() }

func (s *Sim) read() {
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
	buf := make([]byte, 65536)
	for {
		n, from, dst, err := readFrom(s.conn, buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !from.Addr().Unmap().IsLoopback() {
			continue
		}
		s.handle(dec, append([]byte(nil), buf[:n]...), unmapAP(from), dst.Unmap())
	}
}

func unmapAP(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// handle answers one request; a bad one is ignored, as agents do.
func (s *Sim) handle(dec *gosnmp.GoSNMP, b []byte, from netip.AddrPort, dst netip.Addr) {
	defer func() { _ = recover() }()
	idx, ok := s.byAddr[dst]
	if !ok {
		return
	}
	req, err := dec.SnmpDecodePacket(b)
	if err != nil || req.Version != gosnmp.Version2c {
		return
	}
	s.Requests.Add(1)
	var m *modem
	v := s.cmts
	if idx >= 0 {
		m = s.modems[idx]
		v = m.view
		m.reqs.Add(1)
		switch State(m.state.Load()) {
		case Mute, Dead:
			return
		}
	}
	write := req.Community == s.cfg.WriteCommunity
	if req.Community != s.cfg.Community && !write {
		return // wrong community: no answer
	}
	now := s.cfg.Now()
	resp := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: req.Community, PDUType: gosnmp.GetResponse, RequestID: req.RequestID}
	switch req.PDUType {
	case gosnmp.GetRequest:
		if n := s.cfg.MaxGetVarbinds; n > 0 && len(req.Variables) > n {
			resp.Error = gosnmp.TooBig
			break
		}
		for _, vb := range req.Variables {
			resp.Variables = append(resp.Variables, s.get(v, m, vb.Name, now))
		}
	case gosnmp.GetNextRequest:
		for _, vb := range req.Variables {
			resp.Variables = append(resp.Variables, s.next(v, m, vb.Name, now))
		}
	case gosnmp.GetBulkRequest:
		resp.Variables = s.bulk(v, m, req, now)
	case gosnmp.SetRequest:
		resp.Variables = req.Variables
		if !write {
			resp.Error, resp.ErrorIndex = gosnmp.NoAccess, 1
			break
		}
		reset := false
		for i, vb := range req.Variables {
			o, err := parseOID(vb.Name)
			if err != nil || m == nil || !o.hasPrefix(docsDevResetNow0) || len(o) != len(docsDevResetNow0) {
				resp.Error, resp.ErrorIndex = gosnmp.NotWritable, uint8(i+1)
				break
			}
			if vb.Type != gosnmp.Integer || (vb.Value != 1 && vb.Value != 2) {
				resp.Error, resp.ErrorIndex = gosnmp.WrongValue, uint8(i+1)
				break
			}
			reset = vb.Value == 1
		}
		s.mu.Lock()
		for _, vb := range req.Variables {
			s.sets = append(s.sets, SetRecord{Addr: dst, Community: req.Community, OID: vb.Name, Value: vb.Value})
		}
		s.mu.Unlock()
		if reset && resp.Error == gosnmp.NoError {
			// Before the reply: a GET the manager sends once it has the
			// reply must see the modem rebooted (deferred, the reboot
			// raced that GET, which other goroutines serve).
			s.Reboot(idx)
		}
	default:
		return
	}
	out, err := resp.MarshalMsg()
	if err != nil {
		return
	}
	send := func() { _ = writeFrom(s.conn, out, from, dst) }
	if m != nil && State(m.state.Load()) == Slow {
		time.AfterFunc(s.cfg.SlowDelay, send)
		return
	}
	send()
}

func (s *Sim) get(v view, m *modem, name string, now time.Time) gosnmp.SnmpPDU {
	o, err := parseOID(name)
	if err != nil {
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.NoSuchObject}
	}
	e, ok := v.get(o)
	if !ok {
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.NoSuchObject}
	}
	return s.value(e, m, now)
}

func (s *Sim) next(v view, m *modem, name string, now time.Time) gosnmp.SnmpPDU {
	o, err := parseOID(name)
	if err != nil {
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.EndOfMibView}
	}
	e, ok := v.next(o)
	if !ok {
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.EndOfMibView}
	}
	return s.value(e, m, now)
}

// maxBulkVarbinds bounds a GETBULK answer (about 40 KB).
const maxBulkVarbinds = 1000

func (s *Sim) bulk(v view, m *modem, req *gosnmp.SnmpPacket, now time.Time) []gosnmp.SnmpPDU {
	nonRep := min(int(req.NonRepeaters), len(req.Variables))
	var out []gosnmp.SnmpPDU
	for _, vb := range req.Variables[:nonRep] {
		out = append(out, s.next(v, m, vb.Name, now))
	}
	rep := req.Variables[nonRep:]
	cur := make([]string, len(rep))
	for i, vb := range rep {
		cur[i] = vb.Name
	}
	for r := 0; r < int(req.MaxRepetitions) && len(rep) > 0; r++ {
		if len(out)+len(rep) > maxBulkVarbinds {
			break
		}
		allEnd := true
		for i := range rep {
			pdu := s.next(v, m, cur[i], now)
			if pdu.Type != gosnmp.EndOfMibView {
				allEnd = false
			}
			cur[i] = pdu.Name
			out = append(out, pdu)
		}
		if allEnd {
			break
		}
	}
	return out
}

// vary is a slow sine around base, amp dB over ten minutes.
func (s *Sim) vary(m *modem, base, amp float64, now time.Time) float64 {
	if s.cfg.Static {
		return base
	}
	t := float64(now.UnixNano()) / float64(10*time.Minute)
	return base + amp*math.Sin(2*math.Pi*t+m.phase)
}

func tenths(v float64) int { return int(math.Round(v * 10)) }

func (s *Sim) value(e entry, m *modem, now time.Time) gosnmp.SnmpPDU {
	name := e.oid.String()
	if m == nil {
		return s.cmtsValue(e, name, now)
	}
	p := m.profile.Load()
	up := now.Sub(time.Unix(0, m.boot.Load())).Seconds()
	off := m.offset.Load()
	ctr := func(rate float64) uint64 { return off + uint64(rate*up) }
	i := func(n int) gosnmp.SnmpPDU { return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Integer, Value: n} }
	c32 := func(v uint64) gosnmp.SnmpPDU {
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Counter32, Value: uint(uint32(v))}
	}
	c64 := func(v uint64) gosnmp.SnmpPDU { return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Counter64, Value: v} }
	ch := float64(e.ch)
	switch e.kind {
	case kUptime:
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.TimeTicks, Value: uint32(up * 100)}
	case kIfType:
		return i(int(e.ch))
	case kInOctets:
		return c32(ctr(p.InRate))
	case kOutOctets:
		return c32(ctr(p.OutRate))
	case kHCIn:
		return c64(ctr(p.InRate))
	case kHCOut:
		return c64(ctr(p.OutRate))
	case kDsPower:
		return i(tenths(s.vary(m, p.DsPower+0.3*ch, 0.4, now)))
	case kOfdmPower:
		return i(tenths(s.vary(m, p.DsPower-1, 0.4, now)))
	case kSNR:
		return i(tenths(s.vary(m, p.DsSNR-0.1*ch, 0.3, now)))
	case kMicro:
		return i(p.Micro)
	case kCorr:
		return c32(ctr(p.CorrRate))
	case kUncorr:
		return c32(ctr(p.UncRate))
	case kExtCorr:
		return c64(ctr(p.CorrRate))
	case kExtUncorr:
		return c64(ctr(p.UncRate))
	case kCmTx:
		return i(tenths(s.vary(m, p.UsTx, 0.5, now)))
	case kUsTx:
		return i(tenths(s.vary(m, p.UsTx+0.5*ch, 0.5, now)))
	case kOfdmaTx:
		return i(tenths(s.vary(m, p.UsTx+2, 0.5, now)))
	case kResetNow:
		return i(2) // false(2): reading it never resets
	}
	return gosnmp.SnmpPDU{Name: name, Type: gosnmp.NoSuchObject}
}

func (s *Sim) cmtsValue(e entry, name string, now time.Time) gosnmp.SnmpPDU {
	m := s.modems[e.mi]
	p := m.profile.Load()
	i := func(n int) gosnmp.SnmpPDU { return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Integer, Value: n} }
	switch e.kind {
	case kCmtsRegMac:
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.OctetString, Value: []byte(p.MAC)}
	case kCmtsUsRx:
		return i(tenths(s.vary(m, p.UsRx+0.2*float64(e.ch), 0.3, now)))
	case kCmtsUsSNR:
		return i(tenths(s.vary(m, p.UsSNR-0.2*float64(e.ch), 0.3, now)))
	}
	addr := m.addr.As4()
	switch e.ch {
	case cmtsColMac:
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.OctetString, Value: []byte(p.MAC)}
	case cmtsColIP:
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.IPAddress, Value: m.addr.String()}
	case cmtsColDownIf:
		return i(3)
	case cmtsColUpIf:
		return i(1000)
	case cmtsColRxPower:
		return i(tenths(s.vary(m, p.UsRx, 0.3, now)))
	case cmtsColValue:
		if State(m.state.Load()) == Dead {
			return i(1) // other: offline
		}
		return i(8) // operational
	case cmtsColSNR:
		return i(tenths(s.vary(m, p.UsSNR, 0.3, now)))
	case cmtsColInetType:
		return i(1) // ipv4
	case cmtsColInetAddr:
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.OctetString, Value: addr[:]}
	}
	return gosnmp.SnmpPDU{Name: name, Type: gosnmp.NoSuchObject}
}
