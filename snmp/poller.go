package snmp

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"

	"ip6m/tsdb"
)

// Kind says what a Target is.
type Kind uint8

const (
	// Modem is a cable modem, polled with one GET per cycle.
	Modem Kind = iota
	// CMTS is walked once per cycle for the state of all its modems.
	CMTS
)

// Target is one device to poll.
type Target struct {
	// Key names the device: its tsdb device name and its identity across
	// refreshes (ip6m uses the modem's or CMTS's MAC).
	Key  string
	Kind Kind
	// Addr is the SNMP agent (port 0: 161). The zero value means no
	// current address: a modem is not polled itself, but the CMTS's
	// view of it (by MAC) is still stored.
	Addr      netip.AddrPort
	Community string
	// MAC identifies a modem in its CMTS's docsIfCmtsCmStatusTable.
	MAC net.HardwareAddr
	// Interval overrides Config.Interval for this device (per plan).
	Interval time.Duration
	// Timeout overrides Config.Timeout for this device (a CMTS answering
	// large GETBULKs, a modem behind a slow plant).
	Timeout time.Duration
}

// Targets is the inventory: every device to poll, with its current
// address (the modem's lease) and read community.
type Targets interface {
	PollTargets(ctx context.Context) ([]Target, error)
}

// SampleSink stores samples; *tsdb.DB implements it.
type SampleSink interface {
	Define(device string, s tsdb.Schema) error
	Schema(device string) (tsdb.Schema, error)
	AddSamples(device string, t time.Time, samples []tsdb.Sample) error
}

// Config configures a Poller. Zero values take the defaults.
type Config struct {
	Targets Targets    // required
	Sink    SampleSink // required
	Logger  *slog.Logger

	Interval        time.Duration // poll period, default 10 s
	RefreshInterval time.Duration // Targets re-read period, default Interval
	Timeout         time.Duration // first attempt, doubled per retry; default 1 s
	Retries         int           // default 1; negative: none
	MaxBackoff      time.Duration // longest wait between polls of a dead device, default 5 min
	Sockets         int           // UDP sockets, default 4
	MaxInFlight     int           // polls running at once, default 4096
	MaxVarbinds     int           // per GET, default 128 (larger sets are split)
	WalkRepetitions int           // GETBULK max-repetitions for CMTS walks, default 16
	// ListenAddr is the local address of the sockets: "" is dual stack.
	ListenAddr string
	// Archives of the tsdb devices, default tsdb.DefaultArchives().
	Archives []tsdb.Archive
	// SummaryOnly stores only the summaries of multi-channel modems, not
	// one series per channel.
	SummaryOnly bool
	// Now stamps samples and readings, default time.Now. Scheduling
	// itself runs on the monotonic clock.
	Now func() time.Time
	// OnModemState, when set, hears a modem come online or drop off as
	// its CMTS's walks see it: cmts and modem are Target keys. The first
	// walk of a CMTS only learns the states. It runs on the walking
	// goroutine and must return at once.
	OnModemState func(cmts, modem string, online bool, at time.Time)
}

// Poller polls modems and CMTSes over SNMP v2c and feeds a SampleSink.
type Poller struct {
	cfg Config
	log *slog.Logger
	tr  *transport

	mu      sync.Mutex
	devices map[string]*device
	byMAC   map[string]*device // modems by MAC string
	queue   schedule
	wake    chan struct{}
	refresh chan struct{}

	inFlightPolls atomic.Int64
	stats         pollStats
	started       time.Time
}

type pollStats struct {
	polls, timeouts, errors, late, scheduled, skipped atomic.Uint64
	walks, walkErrors                                 atomic.Uint64
	walkTime                                          atomic.Int64  // ns, last CMTS walk
	rate                                              atomic.Uint64 // float64 bits: answered polls/s, last second
}

// New validates cfg and opens the sockets.
func New(cfg Config) (*Poller, error) {
	if cfg.Targets == nil || cfg.Sink == nil {
		return nil, errors.New("snmp: Config.Targets and Config.Sink are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Interval, 10*time.Second)
	def(&cfg.RefreshInterval, cfg.Interval)
	def(&cfg.Timeout, time.Second)
	def(&cfg.MaxBackoff, 5*time.Minute)
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 1
	case cfg.Retries < 0:
		cfg.Retries = 0
	case cfg.Retries > 5:
		return nil, fmt.Errorf("snmp: %d retries, at most 5", cfg.Retries)
	}
	if cfg.Sockets <= 0 {
		cfg.Sockets = 4
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 4096
	}
	if cfg.MaxVarbinds <= 0 {
		cfg.MaxVarbinds = 128
	}
	if cfg.WalkRepetitions <= 0 {
		cfg.WalkRepetitions = 16
	}
	if cfg.Archives == nil {
		cfg.Archives = tsdb.DefaultArchives()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout*time.Duration(1<<(cfg.Retries+1)-1) > cfg.MaxBackoff {
		return nil, fmt.Errorf("snmp: timeout %s with %d retries exceeds MaxBackoff %s", cfg.Timeout, cfg.Retries, cfg.MaxBackoff)
	}
	log := cfg.Logger.With("component", "snmp")
	tr, err := newTransport(cfg.ListenAddr, cfg.Sockets, log)
	if err != nil {
		return nil, fmt.Errorf("snmp: %w", err)
	}
	return &Poller{
		cfg: cfg, log: log, tr: tr,
		devices: make(map[string]*device),
		byMAC:   make(map[string]*device),
		wake:    make(chan struct{}, 1),
		refresh: make(chan struct{}, 1),
	}, nil
}

// device is the poller's state of one target. The scheduling fields are
// guarded by Poller.mu; the poll state (layout, counters) belongs to the
// one goroutine polling it: a device is either queued or being polled,
// never both.
type device struct {
	key      string // Target.Key, immutable
	target   Target // guarded by Poller.mu
	removed  bool   // guarded by Poller.mu
	phase    time.Duration
	due      time.Time // monotonic
	heapIdx  int       // -1 when not queued
	fails    int
	interval time.Duration

	modem *modemState // Kind Modem
	cmts  *cmtsState  // Kind CMTS

	schemaMu sync.Mutex
	defined  map[string]bool // metrics in the sink's schema
	metrics  []tsdb.Metric   // that schema, in order

	readMu  sync.Mutex
	reading Reading
}

// Refresh asks for an early re-read of the Targets (after an inventory change).
func (p *Poller) Refresh() {
	select {
	case p.refresh <- struct{}{}:
	default:
	}
}

// Run polls until ctx is done, then closes the sockets and waits for the
// polls in flight.
func (p *Poller) Run(ctx context.Context) error {
	p.started = time.Now()
	var wg sync.WaitGroup
	wg.Go(p.tr.run)
	defer func() {
		p.tr.close()
		wg.Wait()
	}()
	if err := p.sync(ctx); err != nil {
		p.log.Warn("read targets", "err", err)
	}
	var polls sync.WaitGroup
	defer polls.Wait()
	// The inventory is re-read beside the scheduler, so a slow query
	// never delays a poll.
	polls.Go(func() { p.refreshLoop(ctx) })
	sem := make(chan struct{}, p.cfg.MaxInFlight)
	rate := time.NewTicker(time.Second)
	defer rate.Stop()
	lastPolls := p.stats.polls.Load()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		// Start every poll that is due (with a 5 ms batch window).
		now := time.Now()
		p.mu.Lock()
		var due []*device
		for len(p.queue) > 0 && !p.queue[0].due.After(now.Add(5*time.Millisecond)) {
			d := heap.Pop(&p.queue).(*device)
			d.heapIdx = -2 // owned by its poll from now on
			due = append(due, d)
		}
		next := time.Hour
		if len(p.queue) > 0 {
			next = max(time.Until(p.queue[0].due), time.Millisecond)
		}
		p.mu.Unlock()
		for _, d := range due {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			p.inFlightPolls.Add(1)
			polls.Go(func() {
				defer func() { <-sem; p.inFlightPolls.Add(-1) }()
				p.poll(ctx, d)
			})
		}
		if len(due) > 0 {
			continue
		}
		timer.Reset(next)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-p.wake:
		case <-rate.C:
			n := p.stats.polls.Load()
			p.stats.rate.Store(math.Float64bits(float64(n - lastPolls)))
			lastPolls = n
		}
	}
}

// refreshLoop re-reads the Targets every RefreshInterval and on Refresh.
func (p *Poller) refreshLoop(ctx context.Context) {
	t := time.NewTicker(p.cfg.RefreshInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.refresh:
		}
		p.syncLogged(ctx, &failing)
	}
}

func (p *Poller) syncLogged(ctx context.Context, failing *bool) {
	err := p.sync(ctx)
	switch {
	case err != nil && !*failing:
		p.log.Warn("read targets", "err", err)
	case err == nil && *failing:
		p.log.Info("read targets again")
	}
	*failing = err != nil
}

// sync applies the inventory: new devices are queued at their next phase
// slot, removed ones are dropped, changed ones take effect at their next poll.
func (p *Poller) sync(ctx context.Context) error {
	ts, err := p.cfg.Targets.PollTargets(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := make(map[string]bool, len(ts))
	byMAC := make(map[string]*device, len(ts))
	for _, t := range ts {
		if t.Key == "" || seen[t.Key] || len(t.Community) > maxCommunityBytes {
			continue
		}
		if t.Addr.IsValid() && t.Addr.Port() == 0 {
			t.Addr = netip.AddrPortFrom(t.Addr.Addr(), defaultSNMPPort)
		}
		t.Addr = unmap(t.Addr)
		seen[t.Key] = true
		d := p.devices[t.Key]
		if d != nil && d.target.Kind != t.Kind {
			p.drop(d)
			d = nil
		}
		if d == nil {
			d = &device{key: t.Key, target: t, heapIdx: -1, phase: phaseOf(t.Key, p.intervalOf(t))}
			if t.Kind == Modem {
				d.modem = &modemState{}
			} else {
				d.cmts = &cmtsState{}
			}
			d.reading.Key = t.Key
			p.devices[t.Key] = d
			d.interval = p.intervalOf(t)
			if t.Addr.IsValid() {
				d.due = nextSlot(p.started, now, d.interval, d.phase)
				heap.Push(&p.queue, d)
			}
		} else {
			old := d.target
			d.target = t
			d.interval = p.intervalOf(t)
			if old.Addr != t.Addr && d.modem != nil {
				d.fails = 0 // a new lease: try it at once
			}
			if t.Addr.IsValid() && d.heapIdx == -1 {
				d.due = nextSlot(p.started, now, d.interval, d.phase)
				heap.Push(&p.queue, d)
			} else if !t.Addr.IsValid() && d.heapIdx >= 0 {
				heap.Remove(&p.queue, d.heapIdx)
			}
		}
		if t.Kind == Modem && len(t.MAC) > 0 {
			byMAC[t.MAC.String()] = d
		}
	}
	for k, d := range p.devices {
		if !seen[k] {
			p.drop(d)
		}
	}
	p.byMAC = byMAC
	p.kick()
	return nil
}

func (p *Poller) drop(d *device) {
	d.removed = true
	if d.heapIdx >= 0 {
		heap.Remove(&p.queue, d.heapIdx)
	}
	delete(p.devices, d.target.Key)
}

func (p *Poller) intervalOf(t Target) time.Duration {
	if t.Interval > 0 {
		return t.Interval
	}
	return p.cfg.Interval
}

// polling reports whether a poll goroutine owns d (guarded by Poller.mu).
func (d *device) polling() bool { return d.heapIdx == -2 }

// phaseOf spreads devices evenly over the interval: the same key always
// gets the same offset, so its samples stay one interval apart.
func phaseOf(key string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(key))
	return time.Duration(h.Sum64() % uint64(interval))
}

// nextSlot is the first time at or after now that is phase past a
// multiple of interval since epoch.
func nextSlot(epoch, now time.Time, interval, phase time.Duration) time.Time {
	since := now.Sub(epoch) - phase
	k := since / interval
	if since > 0 && since%interval != 0 {
		k++
	}
	if since <= 0 {
		k = 0
	}
	return epoch.Add(phase + k*interval)
}

// poll runs one cycle of d and queues its next one.
func (p *Poller) poll(ctx context.Context, d *device) {
	p.mu.Lock()
	if d.removed {
		d.heapIdx = -1
		p.mu.Unlock()
		return
	}
	t := d.target
	fails := d.fails
	due := d.due
	interval := d.interval
	p.mu.Unlock()

	start := time.Now()
	p.stats.scheduled.Add(1)
	late := start.Sub(due) > interval/10
	retries := p.cfg.Retries
	if fails >= 2 {
		retries = 0 // presumed dead: one attempt
	}
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("poll %s: panic: %v\n%s", t.Key, r, debug.Stack())
			}
		}()
		if t.Kind == Modem {
			err = p.pollModem(ctx, d, t, retries)
		} else {
			err = p.pollCMTS(ctx, d, t, retries)
		}
	}()
	end := time.Now()
	if ctx.Err() != nil {
		return
	}
	switch {
	case err == nil:
		p.stats.polls.Add(1)
	case errors.Is(err, ErrTimeout):
		p.stats.timeouts.Add(1)
	default:
		p.stats.errors.Add(1)
		p.log.Debug("poll", "device", t.Key, "err", err)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	d.heapIdx = -1
	if d.removed || !d.target.Addr.IsValid() {
		return
	}
	if errors.Is(err, ErrTimeout) {
		d.fails++
		if d.fails == 2 {
			p.log.Debug("device does not answer, backing off", "device", t.Key, "addr", t.Addr)
		}
	} else {
		d.fails = 0
	}
	// Back off exponentially from the second failure: 2, 4, 8 ...
	// intervals, at most MaxBackoff, on the device's own phase.
	step := interval
	if d.fails >= 2 {
		mult := time.Duration(1) << min(d.fails-1, 20)
		step = min(interval*mult, max(p.cfg.MaxBackoff, interval))
	}
	next := due.Add(step)
	if end.After(next) {
		late = true
		p.stats.skipped.Add(1)
		next = nextSlot(p.started, end, interval, d.phase)
	}
	if late {
		p.stats.late.Add(1)
		p.log.Debug("poll late", "device", t.Key, "lag", start.Sub(due), "took", end.Sub(start), "err", err)
	}
	d.due = next
	heap.Push(&p.queue, d)
	if d.heapIdx == 0 { // the scheduler sleeps until a later slot
		p.kick()
	}
}

// kick wakes the scheduler to look at the queue again.
func (p *Poller) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// wakeDevice shortens the back-off of a modem the CMTS sees come online.
func (p *Poller) wakeDevice(d *device) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d.removed || d.fails < 2 || d.heapIdx < 0 {
		return
	}
	d.fails = 1
	d.due = nextSlot(p.started, time.Now(), d.interval, d.phase)
	heap.Fix(&p.queue, d.heapIdx)
	p.kick()
}

// schedule is a min-heap of devices by due time.
type schedule []*device

func (s schedule) Len() int           { return len(s) }
func (s schedule) Less(i, j int) bool { return s[i].due.Before(s[j].due) }
func (s schedule) Swap(i, j int) {
	s[i], s[j] = s[j], s[i]
	s[i].heapIdx = i
	s[j].heapIdx = j
}
func (s *schedule) Push(x any) {
	d := x.(*device)
	d.heapIdx = len(*s)
	*s = append(*s, d)
}
func (s *schedule) Pop() any {
	old := *s
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*s = old[:len(old)-1]
	d.heapIdx = -1
	return d
}

// Stats is the poller's own health.
type Stats struct {
	Devices     int     // targets known
	Queued      int     // devices waiting for their next slot
	BackedOff   int     // devices not answering, polled less often
	PollsPerSec float64 // answered polls in the last second
	Polls       uint64  // answered polls
	Timeouts    uint64  // polls without an answer after the retries
	Errors      uint64  // other failed polls (SNMP errors, sink errors)
	Cycles      uint64  // polls started
	Late        uint64  // polls started over a tenth of an interval late, or ending after the next slot
	Skipped     uint64  // slots skipped because the previous poll ran into them
	InFlight    int     // polls running
	Requests    int     // SNMP requests waiting for an answer
	Sent        uint64  // datagrams sent (with retries)
	BadPackets  uint64  // undecodable datagrams
	Unmatched   uint64  // answers to no pending request (late, spoofed)
	Walks       uint64  // CMTS walks done
	WalkErrors  uint64
	LastWalk    time.Duration // how long the last CMTS walk took
}

// Stats returns the poller's counters.
func (p *Poller) Stats() Stats {
	p.mu.Lock()
	s := Stats{Devices: len(p.devices), Queued: len(p.queue)}
	for _, d := range p.devices {
		if d.fails >= 2 {
			s.BackedOff++
		}
	}
	p.mu.Unlock()
	s.PollsPerSec = math.Float64frombits(p.stats.rate.Load())
	s.Polls = p.stats.polls.Load()
	s.Timeouts = p.stats.timeouts.Load()
	s.Errors = p.stats.errors.Load()
	s.Cycles = p.stats.scheduled.Load()
	s.Late = p.stats.late.Load()
	s.Skipped = p.stats.skipped.Load()
	s.InFlight = int(p.inFlightPolls.Load())
	s.Requests = int(p.tr.inFlight.Load())
	s.Sent = p.tr.sent.Load()
	s.BadPackets = p.tr.badPackets.Load()
	s.Unmatched = p.tr.unmatched.Load()
	s.Walks = p.stats.walks.Load()
	s.WalkErrors = p.stats.walkErrors.Load()
	s.LastWalk = time.Duration(p.stats.walkTime.Load())
	return s
}

// Reset reboots a modem: SET docsDevResetNow.0 = true(1) with the write
// community. Run must be running. A modem may reboot before it answers,
// so ErrTimeout does not prove the reset failed.
func (p *Poller) Reset(ctx context.Context, addr netip.AddrPort, community string) error {
	if addr.Port() == 0 {
		addr = netip.AddrPortFrom(addr.Addr(), defaultSNMPPort)
	}
	if len(community) > maxCommunityBytes {
		return fmt.Errorf("reset %s: community longer than %d bytes", addr, maxCommunityBytes)
	}
	req := &gosnmp.SnmpPacket{
		Version: gosnmp.Version2c, Community: community, PDUType: gosnmp.SetRequest,
		Variables: []gosnmp.SnmpPDU{{Name: oidDocsDevResetNow, Type: gosnmp.Integer, Value: 1}},
	}
	resp, err := p.tr.exchange(ctx, addr, req, p.cfg.Timeout, p.cfg.Retries)
	if err != nil {
		return fmt.Errorf("reset %s: %w", addr, err)
	}
	if resp.Error != gosnmp.NoError {
		return fmt.Errorf("reset %s: %v (index %d)", addr, resp.Error, resp.ErrorIndex)
	}
	return nil
}

// Reading returns the latest state of a device.
func (p *Poller) Reading(key string) (Reading, bool) {
	p.mu.Lock()
	d := p.devices[key]
	p.mu.Unlock()
	if d == nil {
		return Reading{}, false
	}
	d.readMu.Lock()
	defer d.readMu.Unlock()
	return d.reading.clone(), true
}

// Readings returns the latest state of every device.
func (p *Poller) Readings() []Reading {
	p.mu.Lock()
	ds := make([]*device, 0, len(p.devices))
	for _, d := range p.devices {
		ds = append(ds, d)
	}
	p.mu.Unlock()
	rs := make([]Reading, 0, len(ds))
	for _, d := range ds {
		d.readMu.Lock()
		rs = append(rs, d.reading.clone())
		d.readMu.Unlock()
	}
	return rs
}
