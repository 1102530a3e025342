package dns

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
)

// upstream is one resolver queries are forwarded to, with its health.
type upstream struct {
	addr netip.AddrPort
	sem  chan struct{} // one token per outstanding query
	idle chan *udpConn // sockets that answered their last query, for the next

	downUntil atomic.Int64 // unix nanoseconds on the server's clock; 0 when healthy
	fails     atomic.Uint32
	no0x20    atomic.Bool // answers do not keep the question's case

	queries, failures, latencyNs, answered atomic.Uint64
}

// healthy reports whether u answered its last query. A failed upstream
// stays unhealthy until a probe (or a last-resort query) gets an answer.
func (u *upstream) healthy() bool { return u.fails.Load() == 0 }

// probeDue reports whether u is unhealthy and its back-off is over.
func (u *upstream) probeDue(now time.Time) bool {
	return !u.healthy() && now.UnixNano() >= u.downUntil.Load()
}

// forwarder sends questions to the upstreams, in order, skipping those that
// failed recently.
type forwarder struct {
	ups            []*upstream
	local4, local6 netip.Addr // source addresses; invalid: the system picks
	timeout        time.Duration
	backoff        time.Duration
	maxBackoff     time.Duration
	udpSize        uint16
	now            func() time.Time
	log            *slog.Logger
	mismatches     atomic.Uint64 // answers that did not match the question, ignored

	// life is the Done channel of the server's lifetime: queries on it are
	// not watched one by one, as shutdown closes every socket at once.
	life    <-chan struct{}
	sockMu  sync.Mutex
	socks   map[*udpConn]struct{} // every UDP socket open to an upstream
	stopped bool                  // shutdown ran: no new sockets
}

var (
	errBusy         = errors.New("too many outstanding queries")
	errCaseMismatch = errors.New("answer does not keep the question's letter case")
	errAllFailed    = errors.New("no upstream answered")
	errNotOurs      = errors.New("answer ID, QR bit or question does not match")
	errStopped      = errors.New("dns relay stopping")
)

// rcodeError is an upstream answering with an error that another upstream
// may not have.
type rcodeError int

func (e rcodeError) Error() string { return "upstream answered " + mdns.RcodeToString[int(e)] }

// exchange asks the upstreams for key until one answers: the healthy ones
// in the configured order, then, as a last resort, the failed ones, whose
// back-off ends first first. It returns the answer packed as it came, its
// question checked against the one sent. All of it takes at most one
// timeout per upstream and two more (or until ctx's deadline).
func (f *forwarder) exchange(ctx context.Context, key cacheKey) ([]byte, error) {
	deadline := time.Now().Add(f.timeout * time.Duration(len(f.ups)+2))
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	order := make([]*upstream, 0, len(f.ups))
	var down []*upstream
	for _, u := range f.ups {
		if u.healthy() {
			order = append(order, u)
		} else {
			down = append(down, u)
		}
	}
	slices.SortStableFunc(down, func(a, b *upstream) int { return cmp.Compare(a.downUntil.Load(), b.downUntil.Load()) })
	order = append(order, down...)
	var last error = errAllFailed
	for _, u := range order {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		resp, err := f.ask(ctx, deadline, u, key)
		if errors.Is(err, errCaseMismatch) {
			if !u.no0x20.Swap(true) {
				f.log.Warn("upstream does not keep the letter case of questions; asking it without 0x20 randomisation",
					"upstream", u.addr)
			}
			resp, err = f.ask(ctx, deadline, u, key)
		}
		if err == nil {
			return resp, nil
		}
		last = fmt.Errorf("upstream %s: %w", u.addr, err)
	}
	return nil, last
}

// anyHealthy reports whether some upstream answered its last query.
func (f *forwarder) anyHealthy() bool {
	for _, u := range f.ups {
		if u.healthy() {
			return true
		}
	}
	return false
}

// probe asks each failed upstream whose back-off is over for the root's NS
// records, so a recovered upstream is found without a client waiting on it.
func (f *forwarder) probe(ctx context.Context) {
	now := f.now()
	for _, u := range f.ups {
		if u.probeDue(now) {
			f.ask(ctx, time.Now().Add(f.timeout), u, cacheKey{name: ".", qtype: mdns.TypeNS, qclass: mdns.ClassINET})
		}
	}
}

// ask sends key to u over UDP, and again over TCP when the answer is
// truncated, and keeps u's health and counters.
func (f *forwarder) ask(ctx context.Context, deadline time.Time, u *upstream, key cacheKey) ([]byte, error) {
	select {
	case u.sem <- struct{}{}:
	default:
		return nil, errBusy
	}
	defer func() { <-u.sem }()

	q := new(mdns.Msg)
	q.Id = uint16(rand.Uint32())
	q.RecursionDesired = true
	name := key.name
	if !u.no0x20.Load() {
		name = randomCase(name)
	}
	q.Question = []mdns.Question{{Name: name, Qtype: key.qtype, Qclass: key.qclass}}
	q.SetEdns0(f.udpSize, false)
	wire, err := q.Pack()
	if err != nil {
		return nil, err
	}

	u.queries.Add(1)
	start := time.Now()
	resp, err := f.udp(ctx, deadline, u, wire)
	if err == nil && resp[2]&0x02 != 0 { // TC
		resp, err = f.tcp(ctx, deadline, u, wire)
	}
	if err == nil {
		switch rcode := int(resp[3] & 0x0F); rcode {
		case mdns.RcodeSuccess, mdns.RcodeNameError:
		default:
			err = rcodeError(rcode)
		}
	}
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, errCaseMismatch) {
			return nil, err
		}
		u.failures.Add(1)
		n := u.fails.Add(1)
		wait := f.backoff << min(n-1, 6)
		wait = min(wait, f.maxBackoff)
		u.downUntil.Store(f.now().Add(wait).UnixNano())
		if n == 1 {
			f.log.Warn("upstream failing, trying the others", "upstream", u.addr, "err", err, "backoff", wait)
		}
		return nil, err
	}
	u.answered.Add(1)
	u.latencyNs.Add(uint64(time.Since(start)))
	if u.fails.Swap(0) > 0 {
		u.downUntil.Store(0)
		f.log.Info("upstream answers again", "upstream", u.addr)
	}
	return resp, nil
}

func (f *forwarder) dialer(u *upstream) *net.Dialer {
	d := &net.Dialer{Timeout: f.timeout}
	local := f.local4
	if u.addr.Addr().Is6() && !u.addr.Addr().Is4In6() {
		local = f.local6
	}
	if local.IsValid() {
		d.LocalAddr = &net.UDPAddr{IP: local.AsSlice()}
	}
	return d
}

// udpConn is a socket to one upstream, from a random source port the
// kernel picked, used by one query at a time.
type udpConn struct {
	net.Conn
	uses int
	buf  []byte // for the answers, made on the socket's first query
}

// maxSocketUses is how many queries one upstream socket carries before it
// is closed and the next query gets a fresh random port. Reuse spares the
// socket, bind, connect, epoll and close calls that were most of a cache
// miss's cost; the cap keeps the source port changing often, so an
// off-path forger still has to guess it along with the ID and the 0x20
// letter case.
const maxSocketUses = 64

// conn takes an idle socket to u, or opens a fresh one.
func (f *forwarder) conn(ctx context.Context, u *upstream) (*udpConn, error) {
	select {
	case c := <-u.idle:
		return c, nil
	default:
	}
	nc, err := f.dialer(u).DialContext(ctx, "udp", u.addr.String())
	if err != nil {
		return nil, err
	}
	c := &udpConn{Conn: nc}
	f.sockMu.Lock()
	defer f.sockMu.Unlock()
	if f.stopped {
		nc.Close()
		return nil, errStopped
	}
	if f.socks == nil {
		f.socks = make(map[*udpConn]struct{})
	}
	f.socks[c] = struct{}{}
	return c, nil
}

// closeConn closes c for good.
func (f *forwarder) closeConn(c *udpConn) {
	f.sockMu.Lock()
	delete(f.socks, c)
	f.sockMu.Unlock()
	c.Close()
}

// shutdown closes every UDP socket to the upstreams, idle or waiting for an
// answer (the wait ends at once), and keeps new ones from opening.
func (f *forwarder) shutdown() {
	f.sockMu.Lock()
	defer f.sockMu.Unlock()
	f.stopped = true
	for c := range f.socks {
		c.Close()
	}
	clear(f.socks)
}

// release keeps c for the next query when it is clean: its last query was
// answered, with nothing pending that could arrive late, and it has not
// carried maxSocketUses queries yet. Otherwise c is closed.
func (f *forwarder) release(u *upstream, c *udpConn, clean bool) {
	c.uses++
	if clean && c.uses < maxSocketUses {
		select {
		case u.idle <- c:
			return
		default:
		}
	}
	f.closeConn(c)
}

// closeIdle closes the sockets kept for reuse.
func (f *forwarder) closeIdle() {
	for _, u := range f.ups {
		for {
			select {
			case c := <-u.idle:
				f.closeConn(c)
				continue
			default:
			}
			break
		}
	}
}

// udp sends wire from a socket with a random source port (a kernel-picked
// one, reused for at most maxSocketUses queries) and waits for an answer
// whose ID and question match wire's, ignoring any that do not. It returns
// a copy of the answer.
func (f *forwarder) udp(ctx context.Context, deadline time.Time, u *upstream, wire []byte) ([]byte, error) {
	c, err := f.conn(ctx, u)
	if err != nil {
		return nil, err
	}
	clean := false
	if t := time.Now().Add(f.timeout); t.Before(deadline) {
		deadline = t
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	c.SetDeadline(deadline)
	stop := func() bool { return true }
	if done := ctx.Done(); done != nil && done != f.life {
		// The server's own lifetime is watched by shutdown, for all
		// sockets at once; any other context, here.
		stop = context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	}
	defer func() {
		// A socket whose deadline the context moved is not reused.
		f.release(u, c, stop() && clean)
	}()
	if _, err := c.Write(wire); err != nil {
		return nil, err
	}
	// Room for more than was asked for, in case the upstream ignores the
	// EDNS buffer size: such an answer is still good.
	if c.buf == nil {
		c.buf = make([]byte, max(int(f.udpSize), 4096)+1)
	}
	buf := c.buf
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		if err := questionMatch(wire, buf[:n]); err != nil {
			if errors.Is(err, errCaseMismatch) {
				return nil, err
			}
			f.mismatches.Add(1)
			continue
		}
		clean = true
		return append([]byte(nil), buf[:n]...), nil
	}
}

// tcp asks again over TCP, after a truncated answer.
func (f *forwarder) tcp(ctx context.Context, deadline time.Time, u *upstream, wire []byte) ([]byte, error) {
	d := f.dialer(u)
	if d.LocalAddr != nil {
		d.LocalAddr = &net.TCPAddr{IP: d.LocalAddr.(*net.UDPAddr).IP}
	}
	c, err := d.DialContext(ctx, "tcp", u.addr.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if t := time.Now().Add(f.timeout); t.Before(deadline) {
		deadline = t
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	out := make([]byte, 2+len(wire))
	binary.BigEndian.PutUint16(out, uint16(len(wire)))
	copy(out[2:], wire)
	if _, err := c.Write(out); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	// The same check as a UDP answer's; what is malformed past the
	// question is found when the cache entry is made.
	if err := questionMatch(wire, buf); err != nil {
		return nil, fmt.Errorf("tcp answer: %w", err)
	}
	return buf, nil
}

// randomCase flips the case of each letter of name at random (0x20
// randomisation, draft-vixie-dnsext-dns0x20): an off-path forger must guess
// the pattern as well as the ID and port.
func randomCase(name string) string {
	b := []byte(name)
	var bits uint64
	left := 0
	for i, c := range b {
		if c|0x20 < 'a' || c|0x20 > 'z' {
			continue
		}
		if left == 0 {
			bits, left = rand.Uint64(), 64
		}
		if bits&1 == 1 {
			b[i] = c ^ 0x20
		}
		bits >>= 1
		left--
	}
	return string(b)
}
