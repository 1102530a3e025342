package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"golang.org/x/net/ipv6"
)

// DHCPv6 mode (--v6): dhcpload plays a CMTS as a DHCPv6 relay agent. Every
// client message goes to the server inside a Relay-Forward (link-address
// in the modems' prefix, peer-address the client's link-local address,
// interface-id, remote-id 4491 = the modem MAC, and the relay source port
// option 135 of RFC 8357, so that the server answers to the port dhcpload
// listens on, not 547: Kea honours it, ip6m answers every message to its
// source). Each exchange is Solicit → Advertise → Request → Reply. Cable
// modems send IA_NA, vendor class docsis3.0 and option 17 with the
// CableLabs ORO (32 33 34 37 38) and device-id; eRouters behind them
// (--cpe percent, modem MAC+2) send IA_NA and IA_PD.

// Config6 is one DHCPv6 load run, bounded like Config: Count exchanges and
// Duration of wall time at most.
type Config6 struct {
	Server     netip.AddrPort // where the Relay-Forwards go
	Bind       netip.AddrPort // the relay's own address and port (port 0: any)
	Link       netip.Addr     // link-address of every Relay-Forward: an address in the modems' prefix
	Modems     []MAC
	Count      int
	Duration   time.Duration
	Window     int
	Timeout    time.Duration
	Retries    int
	CPEPercent int // share of exchanges made by eRouters (IA_NA + IA_PD)
	Seed       uint64
	ServerPID  int
	Log        *slog.Logger
}

func (c *Config6) validate() error {
	switch {
	case !c.Server.IsValid() || !c.Server.Addr().Is6() || c.Server.Addr().Is4In6() || c.Server.Port() == 0:
		return fmt.Errorf("server %v: want an IPv6 address and port", c.Server)
	case !c.Bind.Addr().Is6() || c.Bind.Addr().Is4In6():
		return fmt.Errorf("relay address %v: want an IPv6 address", c.Bind)
	case !c.Link.Is6() || c.Link.IsUnspecified():
		return fmt.Errorf("link-address %v: want an IPv6 address in the modems' prefix", c.Link)
	case len(c.Modems) == 0:
		return errNoPopulation
	case c.Count <= 0 || c.Duration <= 0 || c.Window <= 0 || c.Timeout <= 0 || c.Retries < 0:
		return fmt.Errorf("count %d, duration %v, window %d, timeout %v, retries %d: want positive bounds", c.Count, c.Duration, c.Window, c.Timeout, c.Retries)
	case c.CPEPercent < 0 || c.CPEPercent > 100:
		return fmt.Errorf("cpe %d%%: want 0..100", c.CPEPercent)
	}
	return nil
}

type exchange6 struct {
	xid     uint32
	kind    Kind
	mac     MAC
	modem   MAC
	state   exchangeState // selecting: Solicit sent; requesting: Request sent
	start   time.Time
	sent    time.Time
	tries   int
	pkt     []byte
	solOpts []byte // the Solicit's options but its IAs (solicitOptions6)
}

// Counters6 are what a v6 run counts.
type Counters6 struct {
	Started     int            `json:"started"`
	Completed   int            `json:"completed"`
	CompletedBy map[string]int `json:"completed_by_kind"`
	Refused     int            `json:"refused"` // Reply or Advertise whose IAs carry a status, not an address
	Timeouts    int            `json:"timeouts"`
	Unfinished  int            `json:"unfinished"`
	Sent        int64          `json:"sent"`
	Solicits    int            `json:"sent_solicit"`
	Requests    int            `json:"sent_request"`
	Retransmits int            `json:"retransmits"`
	SendErrors  int64          `json:"send_errors"`
	Received    int            `json:"received"`
	Advertises  int            `json:"advertises"`
	Replies     int            `json:"replies"`
	Drops       int            `json:"drops"`
	Late        int            `json:"late"`
	Unexpected  int            `json:"unexpected"`
	Malformed   int            `json:"malformed"`
	BadRelay    int            `json:"bad_relay"`      // Relay-Reply without our interface-id echoed
	NoConfig    int            `json:"no_config_file"` // a modem's Reply without CableLabs sub-option 33 (config file)
}

// Result6 is a v6 run's report.
type Result6 struct {
	Server     string  `json:"server"`
	Relay      string  `json:"relay"`
	Link       string  `json:"link_address"`
	Modems     int     `json:"modems"`
	Window     int     `json:"window"`
	ElapsedSec float64 `json:"elapsed_s"`
	Counters6
	ExchangesPerSec float64      `json:"exchanges_per_s"`
	Latency         LatencyStats `json:"latency_ms"`
	// The two round trips of an exchange that went through without a
	// retransmission: Solicit -> Advertise and Request -> Reply.
	AdvertiseLatency LatencyStats `json:"advertise_latency_ms"`
	ReplyLatency     LatencyStats `json:"reply_latency_ms"`
	LoadCPU          *CPU         `json:"dhcpload_cpu,omitempty"`
	ServerCPU        *CPU         `json:"server_cpu,omitempty"`
}

func (r Result6) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r Result6) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "dhcpload -v6: relay %s (link-address %s) -> server %s, %d modems, window %d\n", r.Relay, r.Link, r.Server, r.Modems, r.Window)
	fmt.Fprintf(&b, "exchanges  %d started, %d completed (cm %d, cpe %d), %d refused, %d timed out, %d unfinished at the time limit\n",
		r.Started, r.Completed, r.CompletedBy[KindCM.String()], r.CompletedBy[KindCPE.String()], r.Refused, r.Timeouts, r.Unfinished)
	fmt.Fprintf(&b, "rate       %.1f exchanges/s over %.3f s (Solicit-Advertise-Request-Reply)\n", r.ExchangesPerSec, r.ElapsedSec)
	fmt.Fprintf(&b, "latency    p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms (Solicit -> Reply)\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	fmt.Fprintf(&b, "           p50 %.3f ms, p90 %.3f ms, p99 %.3f ms (Solicit -> Advertise, first tries)\n", r.AdvertiseLatency.P50, r.AdvertiseLatency.P90, r.AdvertiseLatency.P99)
	fmt.Fprintf(&b, "           p50 %.3f ms, p90 %.3f ms, p99 %.3f ms (Request -> Reply, first tries)\n", r.ReplyLatency.P50, r.ReplyLatency.P90, r.ReplyLatency.P99)
	fmt.Fprintf(&b, "sent       %d packets (%d Solicit, %d Request, %d retransmitted), %d send errors\n", r.Sent, r.Solicits, r.Requests, r.Retransmits, r.SendErrors)
	fmt.Fprintf(&b, "received   %d packets (%d Advertise, %d Reply), %d late, %d unexpected, %d malformed, %d without our interface-id\n",
		r.Received, r.Advertises, r.Replies, r.Late, r.Unexpected, r.Malformed, r.BadRelay)
	fmt.Fprintf(&b, "drops      %d unanswered within the timeout\n", r.Drops)
	if r.NoConfig > 0 {
		fmt.Fprintf(&b, "options    %d modem Replies named no config file (CableLabs sub-option 33)\n", r.NoConfig)
	}
	if r.ServerCPU != nil {
		fmt.Fprintf(&b, "server cpu %.2f s, %.1f µs per exchange\n", r.ServerCPU.Seconds, r.ServerCPU.MicrosPerExchange)
	}
	if r.LoadCPU != nil {
		fmt.Fprintf(&b, "own cpu    %.2f s, %.1f µs per exchange\n", r.LoadCPU.Seconds, r.LoadCPU.MicrosPerExchange)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Relay6 plays a DHCPv6 relay agent for one run.
type Relay6 struct {
	cfg     Config6
	log     *slog.Logger
	conn    *net.UDPConn
	batch   *ipv6.PacketConn
	server  *net.UDPAddr
	port    uint16 // the relay's bound port, sent in option 135
	slots   chan struct{}
	done    chan struct{}
	firstID uint32
	ifaceID []byte

	mu         sync.Mutex
	inflight   map[uint32]*exchange6
	launchDone bool
	doneClosed bool
	c          Counters6
	latencies  []time.Duration
	advLat     []time.Duration // Solicit -> Advertise, first tries
	replyLat   []time.Duration // Request -> Reply, first tries

	sent       atomic.Int64
	sendErrors atomic.Int64
}

// NewRelay6 checks cfg; no socket is opened before Run.
func NewRelay6(cfg Config6) (*Relay6, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Relay6{cfg: cfg, log: log, slots: make(chan struct{}, cfg.Window), done: make(chan struct{}),
		inflight: make(map[uint32]*exchange6, cfg.Window), ifaceID: []byte("cable1/0/0"),
		c: Counters6{CompletedBy: map[string]int{}}}, nil
}

// xid6 is the 24-bit transaction id of the i-th exchange.
func (r *Relay6) xid6(i int) uint32 { return (r.firstID + uint32(i)) & 0xffffff }

// Run sends the load and returns when every exchange has ended or the time
// limit (or ctx) stops it, after closing its socket.
func (r *Relay6) Run(ctx context.Context) (Result6, error) {
	conn, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(r.cfg.Bind))
	if err != nil {
		return Result6{}, fmt.Errorf("bind relay %v: %w", r.cfg.Bind, err)
	}
	r.conn = conn
	r.port = uint16(conn.LocalAddr().(*net.UDPAddr).Port)
	r.batch = ipv6.NewPacketConn(conn)
	r.server = net.UDPAddrFromAddrPort(r.cfg.Server)
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)

	ctx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x5eed6))
	r.firstID = rng.Uint32() & 0xffffff
	var serverBefore time.Duration
	if r.cfg.ServerPID > 0 {
		if serverBefore, err = procCPU(r.cfg.ServerPID); err != nil {
			conn.Close()
			return Result6{}, fmt.Errorf("server cpu: %w", err)
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
	r.launch(ctx, rng)
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
		if serverAfter, perr := settledCPU(r.cfg.ServerPID); perr == nil {
			serverCPU = serverAfter - serverBefore
		} else {
			r.log.Warn("no server cpu time: did the server exit during the run?", "pid", r.cfg.ServerPID, "err", perr)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.c
	c.Unfinished = len(r.inflight)
	c.Sent, c.SendErrors = r.sent.Load(), r.sendErrors.Load()
	elapsed := end.Sub(start)
	res := Result6{Server: r.cfg.Server.String(), Relay: conn.LocalAddr().String(), Link: r.cfg.Link.String(), Modems: len(r.cfg.Modems),
		Window: r.cfg.Window, ElapsedSec: elapsed.Seconds(), Counters6: c}
	if elapsed > 0 {
		res.ExchangesPerSec = float64(c.Completed) / elapsed.Seconds()
	}
	res.Latency = latencyStats(r.latencies)
	res.AdvertiseLatency = latencyStats(r.advLat)
	res.ReplyLatency = latencyStats(r.replyLat)
	res.LoadCPU = newCPU(cpuTime(after)-cpuTime(before), c.Completed)
	if serverCPU >= 0 {
		res.ServerCPU = newCPU(serverCPU, c.Completed)
	}
	return res, err
}

// launch starts exchanges until Count have started or ctx ends, at most
// Window in flight.
func (r *Relay6) launch(ctx context.Context, rng *rand.Rand) {
	defer func() {
		r.mu.Lock()
		r.launchDone = true
		r.maybeDone()
		r.mu.Unlock()
	}()
	pkts := make([][]byte, 0, maxBatch)
	for i := 0; i < r.cfg.Count && ctx.Err() == nil; {
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < maxBatch && i+n < r.cfg.Count {
			select {
			case r.slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		pkts = pkts[:0]
		exs := make([]*exchange6, n)
		for j := range n {
			modem := r.cfg.Modems[(i+j)%len(r.cfg.Modems)]
			kind := KindCM
			if r.cfg.CPEPercent > 0 && rng.IntN(100) < r.cfg.CPEPercent {
				kind = KindCPE
			}
			ex := &exchange6{xid: r.xid6(i + j), kind: kind, mac: modem.Add(kind.macOffset()), modem: modem, state: selecting, tries: 1}
			ex.solOpts = solicitOptions6(ex)
			ex.pkt = r.relayForwardBytes6(ex, solicitBytes6(ex, ex.solOpts))
			exs[j] = ex
			pkts = append(pkts, ex.pkt)
		}
		now := time.Now()
		r.mu.Lock()
		for _, ex := range exs {
			ex.start, ex.sent = now, now
			r.inflight[ex.xid] = ex
		}
		r.c.Started += n
		r.c.Solicits += n
		r.mu.Unlock()
		r.send(pkts)
		i += n
	}
}

// send sends pkts to the server in as few system calls as it takes.
func (r *Relay6) send(pkts [][]byte) {
	var ms [maxBatch]ipv6.Message
	var bufs [maxBatch][1][]byte
	for len(pkts) > 0 {
		n := min(len(pkts), maxBatch)
		for i := range n {
			bufs[i][0] = pkts[i]
			ms[i] = ipv6.Message{Buffers: bufs[i][:], Addr: r.server}
		}
		sent, err := r.batch.WriteBatch(ms[:n], 0)
		if err != nil {
			r.sendErrors.Add(1)
			r.log.Debug("send", "err", err)
			sent = 1
		}
		r.sent.Add(int64(sent))
		pkts = pkts[sent:]
	}
}

func (r *Relay6) finish(ex *exchange6) {
	delete(r.inflight, ex.xid)
	<-r.slots
	r.maybeDone()
}

func (r *Relay6) maybeDone() {
	if r.launchDone && len(r.inflight) == 0 && !r.doneClosed {
		r.doneClosed = true
		close(r.done)
	}
}

func (r *Relay6) readLoop() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reply handler panic: %v", p)
		}
	}()
	ms := make([]ipv6.Message, maxBatch)
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
			if failures++; failures > 100 {
				return fmt.Errorf("read replies: %w", err)
			}
			continue
		}
		failures = 0
		now := time.Now()
		out = out[:0]
		for _, m := range ms[:n] {
			if pkt := r.handleReply(m.Buffers[0][:m.N], now); pkt != nil {
				out = append(out, pkt)
			}
		}
		r.send(out)
	}
}

// handleReply matches a Relay-Reply to its exchange; after an Advertise it
// returns the Request to send.
func (r *Relay6) handleReply(b []byte, now time.Time) []byte {
	rep, ok, err := readReply6(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.c.Received++
	if err != nil {
		r.c.Malformed++
		return nil
	}
	if !ok {
		r.c.Unexpected++
		return nil
	}
	if !bytes.Equal(rep.ifaceID, r.ifaceID) {
		r.c.BadRelay++
	}
	ex := r.inflight[rep.xid]
	if ex == nil {
		if (rep.xid-r.firstID)&0xffffff < uint32(r.c.Started) {
			r.c.Late++
		} else {
			r.c.Unexpected++
		}
		return nil
	}
	switch rep.typ {
	case dhcpv6.MessageTypeAdvertise:
		if ex.state != selecting {
			r.c.Late++
			return nil
		}
		r.c.Advertises++
		if ex.tries == 1 {
			r.advLat = append(r.advLat, now.Sub(ex.sent))
		}
		if !rep.granted6(ex.kind) {
			r.c.Refused++
			r.finish(ex)
			return nil
		}
		ex.state, ex.tries, ex.sent = requesting, 1, now
		ex.pkt = r.relayForwardBytes6(ex, requestBytes6(ex.xid, ex.solOpts, &rep))
		ex.solOpts = nil
		r.c.Requests++
		return ex.pkt
	case dhcpv6.MessageTypeReply:
		if ex.state != requesting {
			r.c.Unexpected++
			return nil
		}
		r.c.Replies++
		if ex.tries == 1 {
			r.replyLat = append(r.replyLat, now.Sub(ex.sent))
		}
		if !rep.granted6(ex.kind) {
			r.c.Refused++
			r.finish(ex)
			return nil
		}
		if ex.kind == KindCM && !rep.configFile {
			r.c.NoConfig++
		}
		r.c.Completed++
		r.c.CompletedBy[ex.kind.String()]++
		r.latencies = append(r.latencies, now.Sub(ex.start))
		r.finish(ex)
	default:
		r.c.Unexpected++
	}
	return nil
}

func (r *Relay6) retransmitLoop(stop <-chan struct{}) {
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
