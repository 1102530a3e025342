package snmp

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// ErrTimeout is returned when a device did not answer any attempt.
var ErrTimeout = errors.New("no answer")

// ErrClosed is returned by requests after Run returned.
var ErrClosed = errors.New("snmp: closed")

// transport multiplexes many requests over a few UDP sockets: each
// request gets a process-wide unique request-id, the answer is matched by
// id, source address and community, and the waiting caller is woken. A
// retry resends the same bytes (same id), so a late answer to the first
// attempt still counts.
type transport struct {
	conns []*net.UDPConn
	seed  maphash.Seed
	ids   atomic.Uint32
	log   *slog.Logger

	mu      sync.Mutex
	pending map[uint32]*call
	closed  bool

	inFlight   atomic.Int64
	sent       atomic.Uint64
	badPackets atomic.Uint64
	unmatched  atomic.Uint64
}

type call struct {
	addr      netip.AddrPort
	community string
	ch        chan *gosnmp.SnmpPacket // buffered 1
}

func newTransport(listen string, sockets int, log *slog.Logger) (*transport, error) {
	t := &transport{seed: maphash.MakeSeed(), pending: make(map[uint32]*call), log: log}
	t.ids.Store(uint32(time.Now().UnixNano()) & 0x3fffffff)
	for range sockets {
		c, err := listenUDP(listen)
		if err != nil {
			t.close()
			return nil, err
		}
		_ = c.SetReadBuffer(4 << 20)
		_ = c.SetWriteBuffer(4 << 20)
		t.conns = append(t.conns, c)
	}
	return t, nil
}

// listenUDP opens a socket; "" is dual stack (IPv4 and IPv6 targets).
func listenUDP(listen string) (*net.UDPConn, error) {
	if listen == "" {
		c, err := net.ListenUDP("udp", &net.UDPAddr{})
		if err == nil {
			return c, nil
		}
		listen = "0.0.0.0:0" // no IPv6 on this host
	}
	a, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", listen, err)
	}
	c, err := net.ListenUDP("udp", a)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", listen, err)
	}
	return c, nil
}

// run reads the sockets until close.
func (t *transport) run() {
	var wg sync.WaitGroup
	for _, c := range t.conns {
		wg.Go(func() { t.read(c) })
	}
	wg.Wait()
}

func (t *transport) read(c *net.UDPConn) {
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.log.Debug("read", "err", err)
			continue
		}
		// gosnmp's decoded OCTET STRINGs alias the input: copy it.
		pkt, err := decodeResponse(dec, append([]byte(nil), buf[:n]...))
		if err != nil {
			t.badPackets.Add(1)
			t.log.Debug("bad packet", "from", from, "err", err)
			continue
		}
		t.deliver(from, pkt)
	}
}

// decodeResponse decodes one SNMPv2c response; a panic in the decoder is
// an error, never a crash.
func decodeResponse(dec *gosnmp.GoSNMP, b []byte) (pkt *gosnmp.SnmpPacket, err error) {
	defer func() {
		if r := recover(); r != nil {
			pkt, err = nil, fmt.Errorf("decode: panic: %v", r)
		}
	}()
	if len(b) < 2 || b[0] != 0x30 {
		return nil, fmt.Errorf("decode: not a SEQUENCE (% x)", b[:min(len(b), 4)])
	}
	pkt, err = dec.SnmpDecodePacket(b)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if pkt.Version != gosnmp.Version2c && pkt.Version != gosnmp.Version1 {
		return nil, fmt.Errorf("decode: version %v", pkt.Version)
	}
	if pkt.PDUType != gosnmp.GetResponse {
		return nil, fmt.Errorf("decode: pdu type %v is not a response", pkt.PDUType)
	}
	return pkt, nil
}

func (t *transport) deliver(from netip.AddrPort, pkt *gosnmp.SnmpPacket) {
	t.mu.Lock()
	c := t.pending[pkt.RequestID]
	t.mu.Unlock()
	if c == nil || unmap(from) != c.addr || pkt.Community != c.community {
		t.unmatched.Add(1)
		return
	}
	select {
	case c.ch <- pkt:
	default: // a duplicate answer
	}
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// exchange sends pkt to addr and waits for the answer: timeout for the
// first attempt, doubling for each of the retries.
func (t *transport) exchange(ctx context.Context, addr netip.AddrPort, pkt *gosnmp.SnmpPacket, timeout time.Duration, retries int) (*gosnmp.SnmpPacket, error) {
	addr = unmap(addr)
	c := &call{addr: addr, community: pkt.Community, ch: make(chan *gosnmp.SnmpPacket, 1)}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, ErrClosed
	}
	var id uint32
	for {
		id = t.ids.Add(1) & 0x7fffffff
		if _, dup := t.pending[id]; id != 0 && !dup {
			break
		}
	}
	t.pending[id] = c
	t.mu.Unlock()
	t.inFlight.Add(1)
	defer func() {
		t.mu.Lock()
		delete(t.pending, id)
		t.mu.Unlock()
		t.inFlight.Add(-1)
	}()

	pkt.RequestID = id
	b, err := pkt.MarshalMsg()
	if err != nil {
		return nil, fmt.Errorf("encode request to %s: %w", addr, err)
	}
	conn := t.conns[maphash.Comparable(t.seed, addr)%uint64(len(t.conns))]
	dst := addr
	if conn.LocalAddr().(*net.UDPAddr).IP.To4() == nil && addr.Addr().Is4() {
		dst = netip.AddrPortFrom(netip.AddrFrom16(addr.Addr().As16()), addr.Port()) // v4-mapped on a dual-stack socket
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for attempt := 0; ; attempt++ {
		if _, err := conn.WriteToUDPAddrPort(b, dst); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, ErrClosed
			}
			return nil, fmt.Errorf("send to %s: %w", addr, err)
		}
		t.sent.Add(1)
		select {
		case resp := <-c.ch:
			return resp, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
		}
		if attempt >= retries {
			return nil, fmt.Errorf("%s: %w after %d attempts", addr, ErrTimeout, attempt+1)
		}
		timeout *= 2
		timer.Reset(timeout)
	}
}

func (t *transport) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	for _, c := range t.conns {
		c.Close()
	}
}

// walk reads the columns under roots with GETBULK, maxRep rows per
// request, and calls fn for each value with the column number and the
// instance (the OID after the root). A column ends at the first OID
// outside its root or not after the previous one.
func (t *transport) walk(ctx context.Context, addr netip.AddrPort, community string, roots []OID, maxRep int, timeout time.Duration, retries int, fn func(col int, inst OID, v gosnmp.SnmpPDU)) error {
	cur := make([]OID, len(roots))
	copy(cur, roots)
	active := make([]int, len(roots))
	for i := range active {
		active[i] = i
	}
	for len(active) > 0 {
		vbs := make([]gosnmp.SnmpPDU, len(active))
		for k, c := range active {
			vbs[k] = gosnmp.SnmpPDU{Name: cur[c].String(), Type: gosnmp.Null}
		}
		req := &gosnmp.SnmpPacket{
			Version: gosnmp.Version2c, Community: community, PDUType: gosnmp.GetBulkRequest,
			MaxRepetitions: uint32(maxRep), Variables: vbs,
		}
		resp, err := t.exchange(ctx, addr, req, timeout, retries)
		if err != nil {
			return err
		}
		if resp.Error != gosnmp.NoError {
			return fmt.Errorf("walk %s at %s: %v", addr, cur[active[0]], resp.Error)
		}
		if len(resp.Variables) == 0 {
			return nil
		}
		done := make(map[int]bool)
		for i, v := range resp.Variables {
			c := active[i%len(active)]
			if done[c] {
				continue
			}
			o, err := ParseOID(v.Name)
			if err != nil || v.Type == gosnmp.EndOfMibView || !o.HasPrefix(roots[c]) || o.Compare(cur[c]) <= 0 {
				done[c] = true
				continue
			}
			cur[c] = o
			fn(c, o[len(roots[c]):], v)
		}
		// A column that got no row at all in a full answer is finished too.
		next := active[:0]
		for _, c := range active {
			if !done[c] {
				next = append(next, c)
			}
		}
		active = next
		if len(resp.Variables) < len(vbs) {
			break // a truncated answer: the agent had no more
		}
	}
	return nil
}
