package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// staleTTL is the TTL of a stale answer (RFC 8767 §4 recommends 30 s).
const staleTTL = 30

// query is what is left of a request once it is known to need an upstream.
type query struct {
	src    netip.Addr
	tcp    bool
	id     uint16
	rd, cd bool
	q      mdns.Question // as asked, letter case included
	qwire  []byte        // the question name as it came, uncompressed; nil if it was not
	key    cacheKey
	edns   bool
	limit  int // largest reply the client takes
	logged bool
	start  time.Time
}

// handle answers one message from src and returns the reply, or nil when
// nothing is to be sent. It does what the network loops do, minus the
// sockets and the goroutine for a cache miss.
func (s *Server) handle(ctx context.Context, src netip.Addr, raw []byte, tcp bool) []byte {
	reply, q := s.prepare(src, raw, tcp, nil)
	if q == nil {
		return reply
	}
	return s.finish(ctx, q)
}

// prepare answers what can be answered at once (refusals, errors, local
// names, cache hits), appending the reply to dst. When the question needs an
// upstream it returns a query for finish instead. The query keeps no
// reference to raw.
func (s *Server) prepare(src netip.Addr, raw []byte, tcp bool, dst []byte) ([]byte, *query) {
	if len(raw) < 12 || raw[2]&0x80 != 0 {
		// Too short to be a query, or a response: never answer those (a
		// forged response would start a loop between two servers).
		s.stats.dropped.Add(1)
		return nil, nil
	}
	now := s.now()
	if s.limit != nil && !s.limit.Allow(src, now) {
		s.stats.rateLimited.Add(1)
		return nil, nil
	}
	s.stats.queries.Add(1)
	if s.portal != nil {
		if addr, ok := s.portal(src); ok {
			return s.portalReply(dst, raw, tcp, addr), nil
		}
	}
	if !s.noFastPath {
		if out := s.fastHit(src, raw, tcp, now, dst); out != nil {
			return out, nil
		}
	}
	allowed := s.acl.Load().contains(src)
	req := new(mdns.Msg)
	if err := req.Unpack(raw); err != nil {
		s.stats.formErr.Add(1)
		if !allowed {
			s.stats.refused.Add(1)
			return nil, nil
		}
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("malformed query", "src", src, "size", len(raw), "err", err)
		}
		return formErr(dst, raw), nil
	}
	if !allowed {
		s.stats.refused.Add(1)
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("refused", "src", src, "question", req.Question)
		}
		return s.errorReply(dst, req, mdns.RcodeRefused, false, len(raw)), nil
	}
	if req.Opcode != mdns.OpcodeQuery {
		s.stats.notImp.Add(1)
		return s.errorReply(dst, req, mdns.RcodeNotImplemented, false, len(raw)), nil
	}
	if len(req.Question) != 1 {
		s.stats.formErr.Add(1)
		return s.errorReply(dst, req, mdns.RcodeFormatError, false, len(raw)), nil
	}
	q := &query{
		src:   src,
		tcp:   tcp,
		id:    req.Id,
		rd:    req.RecursionDesired,
		cd:    req.CheckingDisabled,
		q:     req.Question[0],
		limit: mdns.MinMsgSize,
		start: now,
	}
	q.logged = s.logging(src)
	if opt := req.IsEdns0(); opt != nil {
		if opt.Version() != 0 {
			return s.errorReply(dst, req, mdns.RcodeBadVers, true, len(raw)), nil
		}
		q.edns = true
		q.limit = min(max(int(opt.UDPSize()), mdns.MinMsgSize), s.udpSize)
	}
	if tcp {
		q.limit = mdns.MaxMsgSize
	}
	if req.Question[0].Qclass != mdns.ClassINET {
		return s.reply(dst, q, mdns.RcodeRefused, nil, "refused"), nil
	}
	switch req.Question[0].Qtype {
	case mdns.TypeAXFR, mdns.TypeIXFR, mdns.TypeMAILA, mdns.TypeMAILB, mdns.TypeOPT:
		return s.reply(dst, q, mdns.RcodeNotImplemented, nil, "notimp"), nil
	}
	q.key = cacheKey{name: mdns.CanonicalName(q.q.Name), qtype: q.q.Qtype, qclass: q.q.Qclass}

	if z := s.zone.Load(); z.isLocal(q.key.name) {
		resp := new(mdns.Msg)
		z.answer(q.key.name, q.key.qtype, s.localTTL, resp)
		s.stats.local.Add(1)
		return s.reply(dst, q, resp.Rcode, resp, "local"), nil
	}
	if q.key.qtype == mdns.TypeANY {
		// RFC 8482: one small synthesised record instead of everything.
		resp := new(mdns.Msg)
		resp.Answer = []mdns.RR{&mdns.HINFO{
			Hdr: mdns.RR_Header{Name: q.q.Name, Rrtype: mdns.TypeHINFO, Class: mdns.ClassINET, Ttl: 3789},
			Cpu: "RFC8482",
		}}
		return s.reply(dst, q, mdns.RcodeSuccess, resp, "rfc8482"), nil
	}

	q.qwire = questionName(raw)
	if e := s.cache.get(q.key); e != nil && now.Before(e.expires) {
		s.stats.hits.Add(1)
		s.maybePrefetch(e, now)
		out := s.fromEntry(dst, q, e, now, false)
		s.logQuery(q, e.rcode, "cache")
		return out, nil
	}
	if e := s.cache.get(q.key); e != nil && s.staleWindow > 0 && now.Before(e.staleUntil) && !s.fwd.anyHealthy() {
		// Every upstream is failing: answer stale at once (RFC 8767 §5)
		// rather than after every upstream's timeout, and refresh in the
		// background.
		s.stats.stale.Add(1)
		s.refreshStale(e)
		out := s.fromEntry(dst, q, e, now, true)
		s.logQuery(q, e.rcode, "stale")
		return out, nil
	}
	s.stats.misses.Add(1)
	if q.qwire != nil {
		q.qwire = append([]byte(nil), q.qwire...)
	}
	return nil, q
}

// fastHit answers the common query (one question in class IN, a name of
// letters, digits, '-' and '_', at most an EDNS version 0 OPT record, from an
// allowed client) from a fresh cache entry without unpacking it into a
// message. It returns nil whenever the general path must decide.
func (s *Server) fastHit(src netip.Addr, raw []byte, tcp bool, now time.Time, dst []byte) []byte {
	if raw[2]&0x78 != 0 || binary.BigEndian.Uint16(raw[4:]) != 1 || binary.BigEndian.Uint16(raw[6:]) != 0 ||
		binary.BigEndian.Uint16(raw[8:]) != 0 || binary.BigEndian.Uint16(raw[10:]) > 1 {
		return nil
	}
	var name [256]byte
	n := 0
	off := 12
	for {
		if off >= len(raw) {
			return nil
		}
		l := int(raw[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(raw) || n+l+1 > len(name) {
			return nil
		}
		for _, c := range raw[off : off+l] {
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			default:
				return nil
			}
			name[n] = c
			n++
		}
		name[n] = '.'
		n++
		off += l
	}
	if n == 0 {
		return nil // the root: rare enough for the general path
	}
	qwire := raw[12:off]
	if off+4 > len(raw) {
		return nil
	}
	qtype, qclass := binary.BigEndian.Uint16(raw[off:]), binary.BigEndian.Uint16(raw[off+2:])
	off += 4
	if qclass != mdns.ClassINET {
		return nil
	}
	switch qtype {
	case mdns.TypeAXFR, mdns.TypeIXFR, mdns.TypeMAILA, mdns.TypeMAILB, mdns.TypeOPT, mdns.TypeANY:
		return nil
	}
	q := query{
		src:   src,
		tcp:   tcp,
		id:    binary.BigEndian.Uint16(raw),
		rd:    raw[2]&0x01 != 0,
		cd:    raw[3]&0x10 != 0,
		qwire: qwire,
		limit: mdns.MinMsgSize,
		start: now,
	}
	if binary.BigEndian.Uint16(raw[10:]) == 1 {
		// An OPT record: the root name, type 41, version 0, options
		// that end where the message ends.
		if off+11 > len(raw) || raw[off] != 0 || binary.BigEndian.Uint16(raw[off+1:]) != mdns.TypeOPT || raw[off+6] != 0 {
			return nil
		}
		size := int(binary.BigEndian.Uint16(raw[off+3:]))
		if off+11+int(binary.BigEndian.Uint16(raw[off+9:])) != len(raw) {
			return nil
		}
		q.edns = true
		q.limit = min(max(size, mdns.MinMsgSize), s.udpSize)
	} else if off != len(raw) {
		return nil
	}
	if tcp {
		q.limit = mdns.MaxMsgSize
	}
	if !s.acl.Load().contains(src) {
		return nil
	}
	q.key = cacheKey{name: string(name[:n]), qtype: qtype, qclass: qclass}
	if s.zone.Load().isLocal(q.key.name) {
		return nil
	}
	e := s.cache.get(q.key)
	if e == nil || !now.Before(e.expires) {
		return nil
	}
	out, ok := s.patch(dst, &q, e, now, false)
	if !ok {
		return nil // needs truncating: the general path does that
	}
	s.stats.hits.Add(1)
	s.maybePrefetch(e, now)
	if s.logging(src) {
		q.logged = true
		q.q = mdns.Question{Name: string(qwireName(qwire)), Qtype: qtype, Qclass: qclass}
		s.logQuery(&q, e.rcode, "cache")
	}
	return out
}

// patch appends to dst the reply to q from e the fast way, copying the
// packed answer and patching ID, flags, the question's letter case and the
// TTLs. It reports false when the client's question cannot be patched in or
// the reply does not fit.
func (s *Server) patch(dst []byte, q *query, e *entry, now time.Time, stale bool) ([]byte, bool) {
	var elapsed uint32
	if d := now.Sub(e.stored); d > 0 {
		elapsed = uint32(min(d/time.Second, 1<<31))
	}
	if q.qwire != nil && len(e.wire) > 12 && len(q.qwire) <= len(e.wire)-12 && nameLen(e.wire[12:]) == len(q.qwire) {
		out := append(dst[:0], e.wire...)
		binary.BigEndian.PutUint16(out, q.id)
		out[2] = 0x80 // QR, opcode QUERY
		if q.rd {
			out[2] |= 0x01
		}
		out[3] = 0x80 | byte(e.rcode&0x0F) // RA
		if q.cd {
			out[3] |= 0x10
		}
		copy(out[12:], q.qwire)
		for i, off := range e.ttlOff {
			t := e.ttl[i]
			switch {
			case stale:
				t = staleTTL
			case t > elapsed:
				t -= elapsed
			default:
				t = 0
			}
			binary.BigEndian.PutUint32(out[off:], t)
		}
		if q.edns {
			out = append(out, 0, 0, 41, byte(s.udpSize>>8), byte(s.udpSize), 0, 0, 0, 0, 0, 0)
			binary.BigEndian.PutUint16(out[10:], binary.BigEndian.Uint16(out[10:])+1)
		}
		if len(out) <= q.limit {
			return out, true
		}
	}
	return nil, false
}

// qwireName renders a name fastHit accepted (plain labels) as text.
func qwireName(w []byte) []byte {
	var out []byte
	for off := 0; off < len(w) && w[off] != 0; off += 1 + int(w[off]) {
		out = append(out, w[off+1:off+1+int(w[off])]...)
		out = append(out, '.')
	}
	return out
}

// finish resolves a query prepare could not answer, through the coalescing
// resolver, falling back to a stale answer when no upstream answers.
func (s *Server) finish(ctx context.Context, q *query) []byte {
	e, stale, err := s.resolveOrStale(ctx, q)
	now := s.now()
	if stale {
		s.stats.stale.Add(1)
		s.logQuery(q, e.rcode, "stale (upstreams slow)")
		return s.fromEntry(nil, q, e, now, true)
	}
	if err != nil {
		if old := s.cache.get(q.key); old != nil && s.staleWindow > 0 && now.Before(old.staleUntil) {
			s.stats.stale.Add(1)
			s.logQuery(q, old.rcode, "stale")
			return s.fromEntry(nil, q, old, now, true)
		}
		s.stats.servFail.Add(1)
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("no answer from any upstream", "src", q.src, "name", q.q.Name, "type", mdns.Type(q.q.Qtype), "err", err)
		}
		return s.reply(nil, q, mdns.RcodeServerFailure, nil, "servfail")
	}
	s.logQuery(q, e.rcode, "upstream")
	return s.fromEntry(nil, q, e, now, false)
}

// resolveOrStale resolves q. When a stale answer for it is at hand and the
// upstreams take longer than staleAfter, it returns that (stale true) rather
// than keep the client waiting (RFC 8767's client response timer); the
// upstream query goes on in the background and refreshes the cache.
func (s *Server) resolveOrStale(ctx context.Context, q *query) (e *entry, stale bool, err error) {
	old := s.cache.get(q.key)
	if old == nil || s.staleWindow <= 0 || s.staleAfter <= 0 || !s.now().Before(old.staleUntil) {
		e, err := s.resolve(ctx, q.key)
		return e, false, err
	}
	type result struct {
		e   *entry
		err error
	}
	ch := make(chan result, 1)
	s.inflight.Go(func() {
		defer func() {
			if v := recover(); v != nil {
				s.panicked("resolve", netip.AddrPort{}, v)
				ch <- result{err: errors.New("internal error")}
			}
		}()
		e, err := s.resolve(s.life, q.key)
		ch <- result{e, err}
	})
	t := time.NewTimer(s.staleAfter)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.e, false, r.err
	case <-t.C:
		return old, true, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// resolve returns an answer for key from the upstreams, storing it in the
// cache. Concurrent calls for the same key share one upstream query.
func (s *Server) resolve(ctx context.Context, key cacheKey) (*entry, error) {
	s.flightMu.Lock()
	if f, ok := s.flights[key]; ok {
		s.flightMu.Unlock()
		s.stats.coalesced.Add(1)
		select {
		case <-f.done:
			return f.e, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	s.flights[key] = f
	s.flightMu.Unlock()

	defer func() {
		if v := recover(); v != nil {
			s.panicked("resolve", netip.AddrPort{}, v)
			f.e, f.err = nil, errors.New("internal error")
		}
		s.flightMu.Lock()
		delete(s.flights, key)
		s.flightMu.Unlock()
		close(f.done)
	}()
	// The upstream query serves every waiter, so it runs on the server's
	// lifetime rather than on the first asker's.
	raw, err := s.fwd.exchange(s.life, key)
	if err != nil {
		f.err = err
		return nil, err
	}
	e, cacheable, ok := newEntryWire(key, raw, s.now(), s.ttlPolicy)
	if !ok {
		resp := new(mdns.Msg)
		if err = resp.Unpack(raw); err == nil {
			e, cacheable, err = newEntry(key, resp, s.now(), s.ttlPolicy)
		}
		if err != nil {
			f.err = err
			return nil, err
		}
	}
	if cacheable {
		s.cache.put(e, e.stored)
	}
	f.e = e
	return e, nil
}

type flight struct {
	done chan struct{}
	e    *entry
	err  error
}

// maybePrefetch refreshes a popular entry in the background when it is in
// the last tenth of its life, so its askers never see a miss.
func (s *Server) maybePrefetch(e *entry, now time.Time) {
	h := e.hits.Add(1)
	if !s.prefetch || h < prefetchHits || e.lifetime < prefetchMinTTL {
		return
	}
	left := e.expires.Sub(now)
	if left*10 > time.Duration(e.lifetime)*time.Second || !e.prefetching.CompareAndSwap(false, true) {
		return
	}
	select {
	case s.jobs <- struct{}{}:
	default:
		e.prefetching.Store(false)
		return
	}
	s.stats.prefetches.Add(1)
	s.inflight.Go(func() {
		defer func() { <-s.jobs }()
		defer func() {
			if v := recover(); v != nil {
				s.panicked("prefetch", netip.AddrPort{}, v)
			}
		}()
		if _, err := s.resolve(s.life, e.key); err != nil {
			e.prefetching.Store(false) // let a later hit try again
		}
	})
}

// refreshStale asks the upstreams again for a stale entry in the
// background, one query at a time per entry.
func (s *Server) refreshStale(e *entry) {
	if !e.prefetching.CompareAndSwap(false, true) {
		return
	}
	select {
	case s.jobs <- struct{}{}:
	default:
		e.prefetching.Store(false)
		return
	}
	s.inflight.Go(func() {
		defer func() { <-s.jobs }()
		defer e.prefetching.Store(false)
		defer func() {
			if v := recover(); v != nil {
				s.panicked("refresh stale", netip.AddrPort{}, v)
			}
		}()
		s.resolve(s.life, e.key)
	})
}

const (
	prefetchHits   = 3  // hits before an entry counts as popular
	prefetchMinTTL = 10 // seconds; shorter-lived entries are not prefetched
)

// fromEntry appends to dst the reply to q from e: by patch when it can, by
// building the message (and truncating it) when not.
func (s *Server) fromEntry(dst []byte, q *query, e *entry, now time.Time, stale bool) []byte {
	if out, ok := s.patch(dst, q, e, now, stale); ok {
		return out
	}
	var elapsed uint32
	if d := now.Sub(e.stored); d > 0 {
		elapsed = uint32(min(d/time.Second, 1<<31))
	}
	// The slow way: unpack the stored answer (records come in the order
	// of e.ttl) and let pack truncate it.
	resp := new(mdns.Msg)
	if err := resp.Unpack(e.wire); err != nil {
		s.stats.errors.Add(1)
		return s.reply(dst, q, mdns.RcodeServerFailure, nil, "servfail")
	}
	i := 0
	for _, sec := range [][]mdns.RR{resp.Answer, resp.Ns, resp.Extra} {
		for _, rr := range sec {
			t := e.ttl[i]
			switch {
			case stale:
				t = staleTTL
			case t > elapsed:
				t -= elapsed
			default:
				t = 0
			}
			rr.Header().Ttl = t
			i++
		}
	}
	resp.Id, resp.Response, resp.Authoritative, resp.Truncated = 0, false, false, false
	resp.Question = nil
	return s.pack(dst, q, resp)
}

// reply appends the reply to q with rcode and the sections of resp (nil:
// none), logging it when q's client is followed.
func (s *Server) reply(dst []byte, q *query, rcode int, resp *mdns.Msg, how string) []byte {
	if resp == nil {
		resp = new(mdns.Msg)
	}
	resp.Rcode = rcode
	s.logQuery(q, rcode, how)
	return s.pack(dst, q, resp)
}

// pack fills in the header of resp as the answer to q and packs it within
// q's size limit, truncating (and setting TC) when it does not fit.
func (s *Server) pack(dst []byte, q *query, resp *mdns.Msg) []byte {
	resp.Id = q.id
	resp.Response = true
	resp.Opcode = mdns.OpcodeQuery
	resp.RecursionDesired = q.rd
	resp.RecursionAvailable = true
	resp.CheckingDisabled = q.cd
	resp.Question = []mdns.Question{q.q}
	resp.Compress = true
	if q.edns {
		resp.SetEdns0(uint16(s.udpSize), false)
	}
	if resp.Len() > q.limit {
		resp.Truncate(q.limit)
		resp.Compress = true
	}
	out, err := resp.PackBuffer(dst[:cap(dst)])
	if err != nil {
		s.stats.errors.Add(1)
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("pack reply", "name", q.q.Name, "err", err)
		}
		fail := new(mdns.Msg)
		fail.Id, fail.Response, fail.RecursionDesired, fail.RecursionAvailable = q.id, true, q.rd, true
		fail.Rcode = mdns.RcodeServerFailure
		out, _ = fail.Pack()
	}
	return out
}

// errorReply answers req, which is not a query prepare goes on with, with
// rcode and the question echoed (when there is exactly one), and with an
// OPT record when edns is set. The reply is never longer than limit (the
// request's length): without its question if need be, else not at all.
func (s *Server) errorReply(dst []byte, req *mdns.Msg, rcode int, edns bool, limit int) []byte {
	resp := new(mdns.Msg)
	resp.Id = req.Id
	resp.Response = true
	resp.Opcode = req.Opcode
	resp.RecursionDesired = req.RecursionDesired
	resp.RecursionAvailable = true
	resp.Rcode = rcode
	if len(req.Question) == 1 {
		resp.Question = req.Question
	}
	if edns || rcode > 0x0F {
		resp.SetEdns0(uint16(s.udpSize), false)
	}
	out, err := resp.PackBuffer(dst[:cap(dst)])
	if err == nil && len(out) > limit && len(resp.Question) > 0 {
		// A question that parsed leniently can pack longer than it came.
		resp.Question = nil
		out, err = resp.PackBuffer(dst[:cap(dst)])
	}
	if err != nil || len(out) > limit {
		return nil
	}
	return out
}

// formErr appends a FORMERR reply to the header of raw, a message that
// would not parse.
func formErr(dst []byte, raw []byte) []byte {
	out := append(dst[:0], raw[:12]...)
	out[2] = 0x80 | raw[2]&0x79 // QR, the opcode and RD as asked
	out[3] = 0x80 | mdns.RcodeFormatError
	for i := 4; i < 12; i++ {
		out[i] = 0
	}
	return out
}

// questionName returns the first question's name as it is in raw, or nil if
// it is compressed or malformed.
func questionName(raw []byte) []byte {
	off := 12
	for off < len(raw) {
		c := int(raw[off])
		if c == 0 {
			return raw[12 : off+1]
		}
		if c&0xC0 != 0 {
			return nil
		}
		off += 1 + c
	}
	return nil
}

// nameLen returns the length of the uncompressed name at the start of b, or
// -1.
func nameLen(b []byte) int {
	off := 0
	for off < len(b) {
		c := int(b[off])
		if c == 0 {
			return off + 1
		}
		if c&0xC0 != 0 {
			return -1
		}
		off += 1 + c
	}
	return -1
}

// isLocal reports whether name (canonical) is answered from the local zone.
func (z *localZone) isLocal(name string) bool {
	if _, ok := z.rev[name]; ok {
		return true
	}
	switch z.domain {
	case "":
		return false
	case ".":
		return true
	}
	return name == z.domain || strings.HasSuffix(name, z.domain) && len(name) > len(z.domain) && name[len(name)-len(z.domain)-1] == '.'
}

// logQuery logs q's outcome when its client is followed (Config.LogQueriesFrom).
func (s *Server) logQuery(q *query, rcode int, how string) {
	if !q.logged {
		return
	}
	s.log.Info("query", "src", q.src, "proto", map[bool]string{false: "udp", true: "tcp"}[q.tcp],
		"name", q.q.Name, "type", mdns.Type(q.q.Qtype).String(), "rcode", mdns.RcodeToString[rcode],
		"answer", how, "took", s.now().Sub(q.start))
}

// portalTTL is the TTL of the portal's answers: short, so the names work
// as soon as the modem is registered and the client asks again.
const portalTTL = 10

// portalReply answers a client on the registration portal: every name's A
// record is the portal's address; other types get an empty answer (no
// AAAA, so the browser uses the IPv4 address).
func (s *Server) portalReply(dst []byte, raw []byte, tcp bool, portal netip.Addr) []byte {
	req := new(mdns.Msg)
	if err := req.Unpack(raw); err != nil {
		s.stats.formErr.Add(1)
		return formErr(dst, raw)
	}
	if req.Opcode != mdns.OpcodeQuery || len(req.Question) != 1 {
		s.stats.formErr.Add(1)
		return s.errorReply(dst, req, mdns.RcodeFormatError, false, len(raw))
	}
	s.stats.portal.Add(1)
	resp := new(mdns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	q := req.Question[0]
	if q.Qclass == mdns.ClassINET && q.Qtype == mdns.TypeA && portal.Is4() {
		resp.Answer = []mdns.RR{&mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: portalTTL}, A: portal.AsSlice()}}
	}
	if opt := req.IsEdns0(); opt != nil {
		resp.SetEdns0(mdns.MinMsgSize, false)
	}
	out, err := resp.Pack()
	if err != nil {
		s.stats.errors.Add(1)
		return nil
	}
	return append(dst, out...)
}
