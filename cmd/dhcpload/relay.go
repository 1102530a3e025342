package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"golang.org/x/net/ipv4"
)

// Config is one load run. Every run is bounded: Count exchanges at most and
// Duration of wall time at most, whichever comes first.
type Config struct {
	Server    netip.AddrPort // where the relayed requests go
	Giaddr    netip.Addr     // the relay (CMTS) address: giaddr of every request
	RelayPort uint16         // port bound on Giaddr, where the server answers (67 for Kea/ISC)
	// Conn, if set, is used instead of binding Giaddr:RelayPort; Run closes it.
	Conn *net.UDPConn
	// RFC8357 adds the relay source port sub-option (82.19), asking the
	// server to answer to the port the relay sent from.
	RFC8357 bool

	Modems     []MAC
	Count      int           // exchanges to start (full DORA each)
	Duration   time.Duration // hard time limit of the whole run
	Window     int           // exchanges in flight at once
	Rate       float64       // exchanges started per second; 0 = as fast as the window allows
	Timeout    time.Duration // wait for a reply before retransmitting
	Retries    int           // retransmissions per packet before the exchange is given up
	MTAPercent int           // share of exchanges made by MTAs (MAC+1)
	CPEPercent int           // share made by CPEs behind the modems (MAC+2)
	Seed       uint64        // picks device kinds and the first xid; same seed, same run

	// RecordACKs keeps every address ACKed (Result.ACKed), for a crash test
	// that checks each of them is in the server's database after a restart.
	RecordACKs bool

	// ServerPID, if set, is the server process whose CPU time (utime+stime
	// from /proc/PID/stat) is measured over the run.
	ServerPID int

	Log *slog.Logger // debug per odd packet; nil = discard
}

func (c *Config) validate() error {
	switch {
	case !c.Server.IsValid() || !c.Server.Addr().Is4():
		return fmt.Errorf("server %v: want an IPv4 address and port", c.Server)
	case c.Server.Port() == 0:
		return fmt.Errorf("server %v: port 0", c.Server)
	case !c.Giaddr.Is4() || c.Giaddr.IsUnspecified():
		return fmt.Errorf("relay address %v: want a unicast IPv4 address", c.Giaddr)
	case len(c.Modems) == 0:
		return errNoPopulation
	case c.Count <= 0:
		return fmt.Errorf("count %d: want at least 1", c.Count)
	case c.Duration <= 0:
		return fmt.Errorf("time limit %v: want a positive duration", c.Duration)
	case c.Window <= 0:
		return fmt.Errorf("window %d: want at least 1", c.Window)
	case c.Rate < 0:
		return fmt.Errorf("rate %v: want 0 (unlimited) or more", c.Rate)
	case c.Timeout <= 0:
		return fmt.Errorf("timeout %v: want a positive duration", c.Timeout)
	case c.Retries < 0:
		return fmt.Errorf("retries %d: want 0 or more", c.Retries)
	case c.MTAPercent < 0 || c.CPEPercent < 0 || c.MTAPercent+c.CPEPercent > 100:
		return fmt.Errorf("mix: MTA %d%% + CPE %d%% must be within 0..100", c.MTAPercent, c.CPEPercent)
	}
	return nil
}

type exchangeState uint8

const (
	selecting  exchangeState = iota // DISCOVER sent, waiting for an OFFER
	requesting                      // REQUEST sent, waiting for ACK/NAK
)

// exchange is one DORA in flight, keyed by its xid.
type exchange struct {
	msg     message
	state   exchangeState
	start   time.Time // first DISCOVER: latency is measured from here to the ACK
	sent    time.Time // last transmission of pkt
	tries   int       // transmissions of pkt so far
	pkt     []byte    // the packet to retransmit
	offered netip.Addr
}

// Relay plays a CMTS relay agent for one run. Build it with NewRelay and
// call Run once.
type Relay struct {
	cfg     Config
	builder packetBuilder
	log     *slog.Logger
	conn    *net.UDPConn
	batch   *ipv4.PacketConn // recvmmsg/sendmmsg on conn: one syscall for many packets
	server  *net.UDPAddr
	slots   chan struct{} // window: one token per exchange in flight
	done    chan struct{} // closed when every started exchange has ended
	firstID uint32

	mu         sync.Mutex
	inflight   map[uint32]*exchange
	launchDone bool
	doneClosed bool
	c          Counters
	latencies  []time.Duration
	acked      []Lease

	sent       atomic.Int64
	sendErrors atomic.Int64
}

// NewRelay checks cfg; no socket is opened before Run.
func NewRelay(cfg Config) (*Relay, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gi := cfg.Giaddr.As4()
	r := &Relay{
		cfg:      cfg,
		builder:  packetBuilder{giaddr: net.IP(gi[:]), rfc8357: cfg.RFC8357},
		log:      log,
		slots:    make(chan struct{}, cfg.Window),
		done:     make(chan struct{}),
		inflight: make(map[uint32]*exchange, cfg.Window),
		c:        Counters{CompletedBy: make(map[string]int, numKinds)},
	}
	return r, nil
}

// Counters are what a run counts; the JSON names are the report's.
type Counters struct {
	Started     int            `json:"started"`
	Completed   int            `json:"completed"`
	CompletedBy map[string]int `json:"completed_by_kind"`
	NAKs        int            `json:"naks"`
	Timeouts    int            `json:"timeouts"`   // exchanges given up after every retry
	Unfinished  int            `json:"unfinished"` // still in flight at the time limit
	Sent        int64          `json:"sent"`
	Discovers   int            `json:"sent_discover"`
	Requests    int            `json:"sent_request"`
	Retransmits int            `json:"retransmits"`
	SendErrors  int64          `json:"send_errors"`
	Received    int            `json:"received"`
	Offers      int            `json:"offers"`
	ACKs        int            `json:"acks"`
	Drops       int            `json:"drops"`        // requests whose reply did not come within the timeout
	Late        int            `json:"late"`         // replies to an exchange already past that step or ended
	Unexpected  int            `json:"unexpected"`   // not ours: unknown xid, wrong chaddr/giaddr/op/type
	Malformed   int            `json:"malformed"`    // not a DHCPv4 packet
	BadOption82 int            `json:"bad_option82"` // reply without a byte-exact echo of our option 82
}

// Run sends the load and returns when every exchange has ended or the time
// limit (or ctx) stops it, after closing its socket.
func (r *Relay) Run(ctx context.Context) (Result, error) {
	conn := r.cfg.Conn
	if conn == nil {
		var err error
		conn, err = bindRelay(r.cfg.Giaddr, r.cfg.RelayPort)
		if err != nil {
			return Result{}, err
		}
	}
	r.conn = conn
	r.batch = ipv4.NewPacketConn(conn)
	r.server = net.UDPAddrFromAddrPort(r.cfg.Server)
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)

	ctx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()

	seeds := rand.New(rand.NewPCG(r.cfg.Seed, 0x5eed))
	r.firstID = seeds.Uint32()
	var serverBefore time.Duration
	if r.cfg.ServerPID > 0 {
		var err error
		if serverBefore, err = procCPU(r.cfg.ServerPID); err != nil {
			conn.Close()
			return Result{}, fmt.Errorf("server cpu: %w", err)
		}
	}
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()

	var wg sync.WaitGroup
	readErr := make(chan error, 1)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := r.readLoop(); err != nil {
			readErr <- err
			cancel()
		}
	}()
	stopTimer := make(chan struct{})
	go func() { defer wg.Done(); r.retransmitLoop(stopTimer) }()

	r.launch(ctx, seeds)

	var err error
	select {
	case <-r.done:
	case <-ctx.Done():
	case err = <-readErr:
	}
	end := time.Now()
	close(stopTimer)
	conn.Close()
	wg.Wait()
	if err == nil {
		select {
		case err = <-readErr:
		default:
		}
	}

	var after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	serverCPU := time.Duration(-1)
	if r.cfg.ServerPID > 0 {
		if serverAfter, perr := settledCPU(r.cfg.ServerPID); perr != nil {
			r.log.Warn("no server cpu time: did the server exit during the run?", "pid", r.cfg.ServerPID, "err", perr)
		} else {
			serverCPU = serverAfter - serverBefore
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.c
	c.Unfinished = len(r.inflight)
	c.Sent = r.sent.Load()
	c.SendErrors = r.sendErrors.Load()
	res := newResult(r.cfg, c, r.latencies, end.Sub(start))
	res.LoadCPU = newCPU(cpuTime(after)-cpuTime(before), c.Completed)
	res.ACKed = r.acked
	if serverCPU >= 0 {
		res.ServerCPU = newCPU(serverCPU, c.Completed)
	}
	return res, err
}

func cpuTime(u syscall.Rusage) time.Duration {
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

func bindRelay(addr netip.Addr, port uint16) (*net.UDPConn, error) {
	ap := netip.AddrPortFrom(addr, port)
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		if errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("bind relay %v: %w (ports below 1024 need root or CAP_NET_BIND_SERVICE; use --relay-port with a server whose relay reply port is configurable, or run in a network namespace)", ap, err)
		}
		return nil, fmt.Errorf("bind relay %v: %w", ap, err)
	}
	return conn, nil
}

// launch starts exchanges until Count have started or ctx ends, keeping at
// most Window in flight and, with Rate, pacing the starts.
func (r *Relay) launch(ctx context.Context, rng *rand.Rand) {
	defer func() {
		r.mu.Lock()
		r.launchDone = true
		r.maybeDone()
		r.mu.Unlock()
	}()
	var interval time.Duration
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) / r.cfg.Rate)
	}
	start := time.Now()
	pkts := make([][]byte, 0, maxBatch)
	for i := 0; i < r.cfg.Count && ctx.Err() == nil; {
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
		if interval > 0 {
			if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					<-r.slots
					return
				}
			}
		} else {
			// Unpaced: take every free slot at once and send the
			// DISCOVERs in one sendmmsg.
		more:
			for n < maxBatch && i+n < r.cfg.Count {
				select {
				case r.slots <- struct{}{}:
					n++
				default:
					break more
				}
			}
		}
		pkts = pkts[:0]
		exs := make([]*exchange, n)
		for j := range n {
			modem := (i + j) % len(r.cfg.Modems)
			cl := newClient(r.pickKind(rng), r.cfg.Modems[modem], modem)
			msg := r.builder.newMessage(r.firstID+uint32(i+j), cl)
			pkt := r.builder.discover(msg)
			exs[j] = &exchange{msg: msg, state: selecting, tries: 1, pkt: pkt}
			pkts = append(pkts, pkt)
		}
		now := time.Now()
		r.mu.Lock()
		for _, ex := range exs {
			ex.start, ex.sent = now, now
			r.inflight[ex.msg.xid] = ex
		}
		r.c.Started += n
		r.c.Discovers += n
		r.mu.Unlock()
		r.send(pkts)
		i += n
	}
}

func (r *Relay) pickKind(rng *rand.Rand) Kind {
	if r.cfg.MTAPercent == 0 && r.cfg.CPEPercent == 0 {
		return KindCM
	}
	switch n := rng.IntN(100); {
	case n < r.cfg.MTAPercent:
		return KindMTA
	case n < r.cfg.MTAPercent+r.cfg.CPEPercent:
		return KindCPE
	}
	return KindCM
}

// maxBatch is the most packets one recvmmsg or sendmmsg moves.
const maxBatch = 64

// send sends pkts to the server, as few system calls as it takes.
func (r *Relay) send(pkts [][]byte) {
	if len(pkts) == 0 {
		return
	}
	var ms [maxBatch]ipv4.Message
	var bufs [maxBatch][1][]byte
	for len(pkts) > 0 {
		n := min(len(pkts), maxBatch)
		for i := range n {
			bufs[i][0] = pkts[i]
			ms[i] = ipv4.Message{Buffers: bufs[i][:], Addr: r.server}
		}
		sent, err := r.batch.WriteBatch(ms[:n], 0)
		if err != nil {
			// The first packet failed (sendmmsg reports an error only
			// when nothing was sent): count it and go on with the rest.
			r.sendErrors.Add(1)
			r.log.Debug("send", "err", err)
			sent = 1
		}
		r.sent.Add(int64(sent))
		pkts = pkts[sent:]
	}
}

// finish ends ex; the caller holds r.mu.
func (r *Relay) finish(ex *exchange) {
	delete(r.inflight, ex.msg.xid)
	<-r.slots
	r.maybeDone()
}

func (r *Relay) maybeDone() {
	if r.launchDone && len(r.inflight) == 0 && !r.doneClosed {
		r.doneClosed = true
		close(r.done)
	}
}

// ours tells whether xid was handed out by this run (so a reply for it that
// matches no exchange in flight is late, not foreign).
func (r *Relay) ours(xid uint32) bool {
	return xid-r.firstID < uint32(r.c.Started)
}

// readLoop reads replies until the socket is closed.
func (r *Relay) readLoop() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reply handler panic: %v", p)
		}
	}()
	ms := make([]ipv4.Message, maxBatch)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, 1<<16)}
	}
	var out [][]byte
	for failures := 0; ; {
		n, err := r.batch.ReadBatch(ms, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// A stray ICMP error can fail one read; a socket that fails
			// every read ends the run instead of spinning.
			if failures++; failures > 100 {
				return fmt.Errorf("read replies: %w", err)
			}
			r.log.Debug("read", "err", err)
			continue
		}
		failures = 0
		now := time.Now()
		out = out[:0]
		for _, m := range ms[:n] {
			var from netip.AddrPort
			if ua, ok := m.Addr.(*net.UDPAddr); ok {
				from = ua.AddrPort()
			}
			if pkt := r.handleReply(m.Buffers[0][:m.N], from, now); pkt != nil {
				out = append(out, pkt)
			}
		}
		r.send(out)
	}
}

// handleReply matches one reply to its exchange and moves the exchange on;
// it returns the REQUEST to send after an OFFER, else nil.
func (r *Relay) handleReply(b []byte, from netip.AddrPort, now time.Time) []byte {
	msg, err := dhcpv4.FromBytes(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.c.Received++
	if err != nil {
		r.c.Malformed++
		r.log.Debug("malformed reply", "from", from, "err", err)
		return nil
	}
	xid := binary.BigEndian.Uint32(msg.TransactionID[:])
	ex := r.inflight[xid]
	switch {
	case ex == nil && r.ours(xid):
		r.c.Late++
		return nil
	case ex == nil:
		r.c.Unexpected++
		r.log.Debug("reply for unknown xid", "xid", xid, "from", from)
		return nil
	case msg.OpCode != dhcpv4.OpcodeBootReply,
		!bytes.Equal(msg.ClientHWAddr, ex.msg.client.mac[:]),
		!msg.GatewayIPAddr.Equal(r.builder.giaddr):
		r.c.Unexpected++
		r.log.Debug("reply does not match its exchange", "xid", xid, "op", msg.OpCode, "chaddr", msg.ClientHWAddr, "giaddr", msg.GatewayIPAddr)
		return nil
	}
	if !bytes.Equal(msg.Options.Get(dhcpv4.OptionRelayAgentInformation), ex.msg.opt82) {
		r.c.BadOption82++
	}
	switch mt := msg.MessageType(); mt {
	case dhcpv4.MessageTypeOffer:
		if ex.state != selecting {
			r.c.Late++ // a second OFFER, answering a retransmitted DISCOVER
			return nil
		}
		yi, ok := netip.AddrFromSlice(msg.YourIPAddr.To4())
		if !ok || yi.IsUnspecified() {
			r.c.Unexpected++
			return nil
		}
		sid, ok := netip.AddrFromSlice(msg.ServerIdentifier().To4())
		if !ok {
			sid = from.Addr().Unmap() // RFC 2131 wants option 54; fall back to the source
		}
		r.c.Offers++
		ex.state, ex.offered, ex.tries, ex.sent = requesting, yi, 1, now
		ex.pkt = r.builder.request(ex.msg, yi, sid)
		r.c.Requests++
		return ex.pkt
	case dhcpv4.MessageTypeAck:
		if ex.state != requesting {
			r.c.Unexpected++ // an ACK to a DISCOVER: rapid commit was not asked for
			return nil
		}
		r.c.ACKs++
		r.c.Completed++
		if r.cfg.RecordACKs {
			ip, _ := netip.AddrFromSlice(msg.YourIPAddr.To4())
			r.acked = append(r.acked, Lease{Kind: ex.msg.client.kind, MAC: ex.msg.client.mac, Modem: ex.msg.client.modem, IP: ip})
		}
		r.c.CompletedBy[ex.msg.client.kind.String()]++
		r.latencies = append(r.latencies, now.Sub(ex.start))
		r.finish(ex)
	case dhcpv4.MessageTypeNak:
		r.c.NAKs++
		r.finish(ex)
	default:
		r.c.Unexpected++
		r.log.Debug("unexpected message type", "xid", xid, "type", mt)
	}
	return nil
}

// retransmitLoop resends every packet whose reply is overdue and gives up an
// exchange after Retries retransmissions.
func (r *Relay) retransmitLoop(stop <-chan struct{}) {
	tick := min(max(r.cfg.Timeout/10, time.Millisecond), 50*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	var resend [][]byte
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			resend = resend[:0]
			r.mu.Lock()
			for _, ex := range r.inflight {
				if now.Sub(ex.sent) < r.cfg.Timeout {
					continue
				}
				r.c.Drops++
				if ex.tries > r.cfg.Retries {
					r.c.Timeouts++
					r.finish(ex)
					continue
				}
				ex.tries++
				ex.sent = now
				r.c.Retransmits++
				resend = append(resend, ex.pkt)
			}
			r.mu.Unlock()
			r.send(resend)
		}
	}
}

// percentile returns the nearest-rank percentile of sorted, given in per
// mille (500 = p50, 990 = p99, 1000 = max); integer arithmetic, so p90 of
// ten samples is the ninth, not a rounding accident.
func percentile(sorted []time.Duration, permille int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := min(max((len(sorted)*permille+999)/1000, 1), len(sorted))
	return sorted[rank-1]
}

func sortedCopy(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}
