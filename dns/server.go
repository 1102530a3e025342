// Package dns is the DNS relay subscribers, modems and MTAs resolve names
// through, in place of the PowerDNS recursor of the old stack.
//
// It forwards questions to the configured upstream resolvers and caches the
// answers; it answers for itself the names of the provisioned devices
// (cm-4432c82109e7.cm.example.net and the matching in-addr.arpa / ip6.arpa
// names); and it answers only clients in its allow list: everyone else gets
// REFUSED and nothing is ever forwarded for them, so it can be neither an
// open resolver nor an amplifier.
//
// Forwarding uses a fresh socket (a random source port) and a random ID for
// every upstream query, randomises the question's letter case (0x20) and
// takes only an answer to the very question asked; it retries over TCP when
// the answer is truncated, fails over between upstreams, skips a failed
// upstream for a back-off period and bounds the queries outstanding at each.
// The cache is bounded, honours TTLs within clamps, caches negative answers
// (RFC 2308), serves stale answers when no upstream answers (RFC 8767),
// refreshes popular names before they expire and makes one upstream query
// for any number of concurrent misses of the same question.
package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"

	"ip6m/internal/ratelimit"
	"ip6m/internal/serveloop"
	"ip6m/internal/workpool"
)

// Defaults.
const (
	DefaultMaxEntries       = 100000
	DefaultMaxTTL           = 86400 // seconds
	DefaultMaxNegativeTTL   = 3600  // seconds
	DefaultLocalTTL         = 60    // seconds
	DefaultStaleTTL         = 24 * time.Hour
	DefaultStaleAnswerAfter = 1800 * time.Millisecond
	DefaultUpstreamTimeout  = 1500 * time.Millisecond
	DefaultUpstreamBackoff  = 5 * time.Second
	DefaultMaxOutstanding   = 512 // per upstream
	DefaultMaxUDPSize       = 1232
	DefaultRatePerSecond    = 500 // queries per second per client address
	DefaultBurst            = 1000
	DefaultMaxTCPConns      = 256
	DefaultMaxInflight      = 4096 // cache misses being resolved at once
	DefaultRefresh          = 2 * time.Second

	maxBackoff      = time.Minute // longest an upstream is skipped
	maxSources      = 65536       // client addresses the rate limit remembers
	tcpIdle         = 10 * time.Second
	tcpWriteWait    = 5 * time.Second
	tcpPerConn      = 16 // queries of one TCP connection resolved at once
	maxReaders      = 4  // goroutines reading each UDP socket
	maxReadBackoff  = time.Second
	udpSocketBuffer = 4 << 20
	probeEvery      = 250 * time.Millisecond // how often failed upstreams past their back-off are probed
)

// Config configures a Server. Zero values take the defaults above.
type Config struct {
	// Addrs are the listen addresses; each gets a UDP socket and a TCP
	// listener on the same port. ":53" is v4 and v6 where the system
	// allows dual-stack sockets; list "0.0.0.0:53" and "[::]:53" or
	// specific addresses otherwise (the seed's local-address).
	Addrs []string
	// Upstreams are the resolvers questions are forwarded to, in order of
	// preference: "192.0.2.53", "[2001:db8::53]:5353"; port 53 when none.
	Upstreams []string
	// QueryLocalAddr4 and QueryLocalAddr6 are the source addresses of
	// upstream queries (the seed's query-local-address6); zero: the
	// system picks.
	QueryLocalAddr4, QueryLocalAddr6 netip.Addr

	// AllowFrom lists the client networks that get answers. Empty:
	// loopback plus whatever Networks returns (the seed's allow-from).
	AllowFrom []netip.Prefix
	Networks  Networks // may be nil

	// Domain is the local domain the device names live under, e.g.
	// "example.net" (giving cm-4432c82109e7.cm.example.net). Empty: no
	// local names at all, forward or reverse.
	Domain   string
	Names    Names  // may be nil
	LocalTTL uint32 // TTL of local answers; 0: DefaultLocalTTL

	MaxEntries     int           // cache size (the seed's max-cache-entries); 0: DefaultMaxEntries
	MinTTL         uint32        // TTLs below are raised to this; 0: none
	MaxTTL         uint32        // TTLs above are lowered to this; 0: DefaultMaxTTL
	MaxNegativeTTL uint32        // 0: DefaultMaxNegativeTTL
	StaleTTL       time.Duration // how long past expiry an answer may be served stale; 0: DefaultStaleTTL; <0: never
	NoPrefetch     bool          // do not refresh popular names before they expire
	// StaleAnswerAfter is how long a client waits for the upstreams
	// before it gets a stale answer, when there is one (RFC 8767's client
	// response timer); 0: DefaultStaleAnswerAfter; <0: only when every
	// upstream has failed.
	StaleAnswerAfter time.Duration

	UpstreamTimeout time.Duration // per upstream try; 0: DefaultUpstreamTimeout
	UpstreamBackoff time.Duration // first skip after a failure, doubling up to a minute; 0: DefaultUpstreamBackoff
	MaxOutstanding  int           // queries outstanding per upstream; 0: DefaultMaxOutstanding

	MaxUDPSize    int     // largest UDP answer, whatever the client's EDNS buffer; 0: DefaultMaxUDPSize
	RatePerSecond float64 // per client address; 0: DefaultRatePerSecond; <0: no limit
	Burst         int     // 0: DefaultBurst
	MaxTCPConns   int     // 0: DefaultMaxTCPConns
	MaxInflight   int     // 0: DefaultMaxInflight

	// RefreshInterval is how often the versions of Names and Networks are
	// checked; 0: DefaultRefresh.
	RefreshInterval time.Duration
	// LogQueriesFrom lists client networks whose every query is logged
	// at Info, for troubleshooting one customer.
	LogQueriesFrom []netip.Prefix

	Logger *slog.Logger     // nil: slog.Default()
	Now    func() time.Time // nil: time.Now; TTLs, back-off and rate limit run on it

	// Portal, when set, is asked about every client: a client on the
	// self-registration portal (a CPE behind a modem its customer is to
	// register) gets the portal's address for every name it looks up, and
	// nothing is forwarded for it.
	Portal func(client netip.Addr) (portal netip.Addr, ok bool)
}

// Stats counts what a Server has done since New.
type Stats struct {
	Queries      uint64 // well-formed-enough messages past the rate limit
	CacheHits    uint64
	CacheMisses  uint64
	Coalesced    uint64 // misses that waited for another's upstream query
	Prefetches   uint64
	Stale        uint64 // stale answers served because no upstream answered
	Local        uint64 // answered from the local names
	Portal       uint64 // answered with the registration portal's address
	Refused      uint64 // clients outside the allow list
	RateLimited  uint64 // dropped by the per-client limit
	FormErr      uint64
	NotImp       uint64
	ServFail     uint64 // no upstream answered and nothing stale
	Dropped      uint64 // too short, or responses
	Busy         uint64 // misses dropped because MaxInflight were being resolved
	TCPBusy      uint64 // connections closed because MaxTCPConns were open
	Mismatched   uint64 // upstream answers ignored for not matching the question
	Errors       uint64 // socket errors and recovered panics
	CacheEntries int
	LocalNames   int
	Upstreams    []UpstreamStats
}

// UpstreamStats is one upstream's share of Stats.
type UpstreamStats struct {
	Addr       string
	Queries    uint64
	Answers    uint64
	Failures   uint64
	AvgLatency time.Duration
	Healthy    bool
}

// Server is the DNS relay.
type Server struct {
	log *slog.Logger
	now func() time.Time

	udp []*net.UDPConn
	tcp []*net.TCPListener

	acl       atomic.Pointer[prefixSet]
	allowFrom []netip.Prefix
	networks  Networks
	logFrom   atomic.Pointer[prefixSet] // nil: no client's queries are logged

	zone     atomic.Pointer[localZone]
	domain   string
	names    Names
	localTTL uint32

	cache       *cache
	ttlPolicy   ttlPolicy
	staleWindow time.Duration
	staleAfter  time.Duration
	prefetch    bool
	fwd         *forwarder

	flightMu sync.Mutex
	flights  map[cacheKey]*flight

	limit        *ratelimit.Limiter
	udpSize      int
	maxConns     int
	jobs         chan struct{}        // one token per goroutine resolving a miss or prefetching
	resolvers    *workpool.Pool[miss] // answer the misses
	inflight     sync.WaitGroup
	refreshEvery time.Duration
	life         context.Context // cancelled when Run stops
	endLife      context.CancelFunc

	loaded struct {
		names, nets       int64
		namesOK, netsOK   bool
		namesBad, netsBad bool // a load failed last time (warned once)
	}

	noFastPath bool // tests: every query through the general path
	portal     func(netip.Addr) (netip.Addr, bool)

	running atomic.Bool
	stats   struct {
		queries, hits, misses, coalesced, prefetches, stale, local, portal, refused, rateLimited,
		formErr, notImp, servFail, dropped, busy, tcpBusy, errors atomic.Uint64
	}
}

// New checks cfg and binds the sockets. A bind error is returned wrapped,
// so errors.Is(err, syscall.EACCES) or syscall.EADDRINUSE still tell what
// went wrong.
func New(cfg Config) (*Server, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("dns: no listen address")
	}
	for _, a := range cfg.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("dns: listen address: %w", err)
		}
	}
	if len(cfg.Upstreams) == 0 {
		return nil, errors.New("dns: no upstream resolver")
	}
	s := &Server{
		log:       cfg.Logger,
		now:       cfg.Now,
		allowFrom: slices.Clone(cfg.AllowFrom),
		networks:  cfg.Networks,
		names:     cfg.Names,
		portal:    cfg.Portal,
		localTTL:  cmp0(cfg.LocalTTL, DefaultLocalTTL),
		flights:   make(map[cacheKey]*flight),
		udpSize:   cmp0(cfg.MaxUDPSize, DefaultMaxUDPSize),
		maxConns:  cmp0(cfg.MaxTCPConns, DefaultMaxTCPConns),
		prefetch:  !cfg.NoPrefetch,
	}
	s.life, s.endLife = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "dns")
	if s.now == nil {
		s.now = time.Now
	}
	if s.udpSize < mdns.MinMsgSize || s.udpSize > mdns.MaxMsgSize {
		return nil, fmt.Errorf("dns: UDP size %d is outside 512…65535", cfg.MaxUDPSize)
	}
	if cfg.MaxEntries < 0 || cfg.MaxOutstanding < 0 || cfg.MaxTCPConns < 0 || cfg.MaxInflight < 0 || cfg.Burst < 0 {
		return nil, errors.New("dns: a size or count in the config is negative")
	}
	if cfg.Domain != "" {
		if _, ok := mdns.IsDomainName(cfg.Domain); !ok {
			return nil, fmt.Errorf("dns: local domain %q is not a domain name", cfg.Domain)
		}
		s.domain = mdns.CanonicalName(cfg.Domain)
	}
	for _, p := range cfg.AllowFrom {
		if !p.IsValid() {
			return nil, fmt.Errorf("dns: allow-from prefix %v is not valid", p)
		}
	}

	s.ttlPolicy = ttlPolicy{
		min:         cfg.MinTTL,
		max:         cmp0(cfg.MaxTTL, DefaultMaxTTL),
		maxNegative: cmp0(cfg.MaxNegativeTTL, DefaultMaxNegativeTTL),
	}
	if s.ttlPolicy.min > s.ttlPolicy.max {
		return nil, fmt.Errorf("dns: minimum TTL %d is above the maximum %d", s.ttlPolicy.min, s.ttlPolicy.max)
	}
	switch {
	case cfg.StaleTTL == 0:
		s.staleWindow = DefaultStaleTTL
	case cfg.StaleTTL > 0:
		s.staleWindow = cfg.StaleTTL
	}
	s.ttlPolicy.stale = s.staleWindow
	if cfg.StaleAnswerAfter >= 0 {
		s.staleAfter = cmp0(cfg.StaleAnswerAfter, DefaultStaleAnswerAfter)
	}
	s.cache = newCache(cmp0(cfg.MaxEntries, DefaultMaxEntries))

	rate := cfg.RatePerSecond
	switch {
	case rate == 0:
		rate = DefaultRatePerSecond
	case math.IsNaN(rate) || math.IsInf(rate, 0):
		return nil, fmt.Errorf("dns: rate %v per second is not a number", rate)
	}
	if rate > 0 {
		s.limit = ratelimit.New(rate, cmp0(cfg.Burst, DefaultBurst), maxSources)
	}
	s.SetQueryLog(cfg.LogQueriesFrom)

	timeout := cmp0(cfg.UpstreamTimeout, DefaultUpstreamTimeout)
	s.fwd = &forwarder{
		local4:     cfg.QueryLocalAddr4,
		local6:     cfg.QueryLocalAddr6,
		timeout:    timeout,
		backoff:    cmp0(cfg.UpstreamBackoff, DefaultUpstreamBackoff),
		maxBackoff: max(maxBackoff, cmp0(cfg.UpstreamBackoff, DefaultUpstreamBackoff)),
		udpSize:    uint16(s.udpSize),
		now:        s.now,
		log:        s.log,
	}
	if a := cfg.QueryLocalAddr4; a.IsValid() && !a.Unmap().Is4() {
		return nil, fmt.Errorf("dns: query-local-address %v is not IPv4", a)
	}
	if a := cfg.QueryLocalAddr6; a.IsValid() && (!a.Is6() || a.Is4In6()) {
		return nil, fmt.Errorf("dns: query-local-address6 %v is not IPv6", a)
	}
	s.fwd.local4 = cfg.QueryLocalAddr4.Unmap()
	outstanding := cmp0(cfg.MaxOutstanding, DefaultMaxOutstanding)
	for _, u := range cfg.Upstreams {
		ap, err := parseUpstream(u)
		if err != nil {
			return nil, err
		}
		// As many sockets are kept between queries as may be outstanding,
		// so a storm's worth of concurrent misses finds them on its next
		// round rather than opening (and then closing) sockets of its own.
		s.fwd.ups = append(s.fwd.ups, &upstream{addr: ap, sem: make(chan struct{}, outstanding), idle: make(chan *udpConn, outstanding)})
	}
	s.fwd.life = s.life.Done()
	s.jobs = make(chan struct{}, cmp0(cfg.MaxInflight, DefaultMaxInflight))
	s.resolvers = workpool.New(s.answerMiss, resolverIdle)
	s.refreshEvery = cmp0(cfg.RefreshInterval, DefaultRefresh)

	// Until Run loads Networks, only AllowFrom (or loopback) is allowed.
	if len(s.allowFrom) > 0 {
		s.acl.Store(newPrefixSet(s.allowFrom))
	} else {
		s.acl.Store(newPrefixSet(loopback))
	}
	z, _, _ := buildZone(s.domain, s.localTTL, nil, 1)
	s.zone.Store(z)

	if err := s.listen(cfg.Addrs); err != nil {
		s.closeSockets()
		return nil, err
	}
	if err := s.checkNoLoop(); err != nil {
		s.closeSockets()
		return nil, err
	}
	return s, nil
}

// checkNoLoop refuses an upstream that is this relay itself (an easy
// mistake with a resolv.conf pointing at 127.0.0.1): every query would go
// round until it timed out.
func (s *Server) checkNoLoop() error {
	var local []netip.Addr // the addresses of an unspecified listen host
	for _, c := range s.udp {
		la := c.LocalAddr().(*net.UDPAddr).AddrPort()
		for _, u := range s.fwd.ups {
			if u.addr.Port() != la.Port() {
				continue
			}
			if la.Addr().Unmap() == u.addr.Addr() {
				return fmt.Errorf("dns: upstream %s is this relay's own listen address", u.addr)
			}
			if !la.Addr().IsUnspecified() {
				continue
			}
			if u.addr.Addr().IsLoopback() || u.addr.Addr().IsUnspecified() {
				return fmt.Errorf("dns: upstream %s is this relay (it listens on %s)", u.addr, la)
			}
			if local == nil {
				addrs, _ := net.InterfaceAddrs()
				for _, a := range addrs {
					if p, err := netip.ParsePrefix(a.String()); err == nil {
						local = append(local, p.Addr().Unmap().WithZone(""))
					}
				}
			}
			if slices.Contains(local, u.addr.Addr().WithZone("")) {
				return fmt.Errorf("dns: upstream %s is an address of this host, where the relay listens on %s", u.addr, la)
			}
		}
	}
	return nil
}

// ResolvConfUpstreams returns the name servers of a resolv.conf file (as
// "addr:port"), for use as Config.Upstreams when none are configured.
func ResolvConfUpstreams(path string) ([]string, error) {
	cc, err := mdns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("dns: read %s: %w", path, err)
	}
	var out []string
	for _, srv := range cc.Servers {
		a, err := netip.ParseAddr(srv)
		if err != nil {
			continue
		}
		out = append(out, netip.AddrPortFrom(a.Unmap(), 53).String())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dns: %s lists no name server", path)
	}
	return out, nil
}

func cmp0[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// parseUpstream reads "addr" or "addr:port" ("[v6]:port").
func parseUpstream(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("dns: upstream %q is not an address or address:port", s)
	}
	if a.Zone() != "" && !a.IsLinkLocalUnicast() {
		return netip.AddrPort{}, fmt.Errorf("dns: upstream %q has a zone but is not link-local", s)
	}
	return netip.AddrPortFrom(a.Unmap(), 53), nil
}

// listen binds a UDP socket and a TCP listener on each address. When the
// port is 0 the TCP listener takes the port the UDP socket got.
func (s *Server) listen(addrs []string) error {
	var lc net.ListenConfig
	ctx := context.Background()
	for _, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		var lastErr error
		for try := 0; try < 8; try++ {
			pc, err := lc.ListenPacket(ctx, "udp", a)
			if err != nil {
				return fmt.Errorf("dns: listen udp %s: %w", a, err)
			}
			tcpAddr := a
			if port == "0" {
				tcpAddr = net.JoinHostPort(host, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
			}
			ln, err := lc.Listen(ctx, "tcp", tcpAddr)
			if err != nil {
				pc.Close()
				lastErr = fmt.Errorf("dns: listen tcp %s: %w", tcpAddr, err)
				if port == "0" {
					continue // another socket holds that TCP port; try another
				}
				return lastErr
			}
			uc := pc.(*net.UDPConn)
			// Room for bursts (the kernel caps this at net.core.rmem_max).
			uc.SetReadBuffer(udpSocketBuffer)
			uc.SetWriteBuffer(udpSocketBuffer)
			s.udp = append(s.udp, uc)
			s.tcp = append(s.tcp, ln.(*net.TCPListener))
			lastErr = nil
			break
		}
		if lastErr != nil {
			return lastErr
		}
	}
	return nil
}

func (s *Server) closeSockets() {
	s.fwd.closeIdle()
	for _, c := range s.udp {
		c.Close()
	}
	for _, l := range s.tcp {
		l.Close()
	}
}

// Addr returns the address of the first UDP socket (the TCP listener of
// the same entry has the same port).
func (s *Server) Addr() net.Addr { return s.udp[0].LocalAddr() }

// Addrs returns the addresses of all UDP sockets.
func (s *Server) Addrs() []net.Addr {
	out := make([]net.Addr, len(s.udp))
	for i, c := range s.udp {
		out[i] = c.LocalAddr()
	}
	return out
}

// SetQueryLog replaces Config.LogQueriesFrom while the server runs: every
// query from these networks is logged at Info. nil stops the query log.
func (s *Server) SetQueryLog(from []netip.Prefix) {
	if len(from) == 0 {
		s.logFrom.Store(nil)
		return
	}
	s.logFrom.Store(newPrefixSet(from))
}

func (s *Server) logging(src netip.Addr) bool {
	lf := s.logFrom.Load()
	return lf != nil && lf.contains(src)
}

// Stats returns the counters. They are read one by one, not as a snapshot.
func (s *Server) Stats() Stats {
	st := Stats{
		Queries:      s.stats.queries.Load(),
		CacheHits:    s.stats.hits.Load(),
		CacheMisses:  s.stats.misses.Load(),
		Coalesced:    s.stats.coalesced.Load(),
		Prefetches:   s.stats.prefetches.Load(),
		Stale:        s.stats.stale.Load(),
		Local:        s.stats.local.Load(),
		Portal:       s.stats.portal.Load(),
		Refused:      s.stats.refused.Load(),
		RateLimited:  s.stats.rateLimited.Load(),
		FormErr:      s.stats.formErr.Load(),
		NotImp:       s.stats.notImp.Load(),
		ServFail:     s.stats.servFail.Load(),
		Dropped:      s.stats.dropped.Load(),
		Busy:         s.stats.busy.Load(),
		TCPBusy:      s.stats.tcpBusy.Load(),
		Mismatched:   s.fwd.mismatches.Load(),
		Errors:       s.stats.errors.Load(),
		CacheEntries: s.cache.len(),
		LocalNames:   s.zone.Load().hosts,
	}
	for _, u := range s.fwd.ups {
		us := UpstreamStats{
			Addr:     u.addr.String(),
			Queries:  u.queries.Load(),
			Answers:  u.answered.Load(),
			Failures: u.failures.Load(),
			Healthy:  u.healthy(),
		}
		if us.Answers > 0 {
			us.AvgLatency = time.Duration(u.latencyNs.Load() / us.Answers)
		}
		st.Upstreams = append(st.Upstreams, us)
	}
	return st
}

// Run loads the local names and the allow list, answers queries until ctx
// is done, then closes the sockets, waits for the queries in progress and
// returns nil. A Server runs once.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("dns: Run called more than once")
	}
	life := s.life
	cancel := s.endLife
	defer cancel()
	stopLife := context.AfterFunc(ctx, cancel)
	defer stopLife()
	s.ranToEnd("refresh", func() { s.refresh(ctx) })
	ups := make([]string, len(s.fwd.ups))
	for i, u := range s.fwd.ups {
		ups[i] = u.addr.String()
	}
	s.log.Info("DNS relay listening", "addrs", s.Addrs(), "upstreams", ups, "allow_from", len(s.acl.Load().all),
		"local_domain", s.domain, "local_names", s.zone.Load().hosts, "max_entries", s.cache.max)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	readers := min(runtime.GOMAXPROCS(0), maxReaders)
	for _, c := range s.udp {
		for range readers {
			wg.Go(func() { s.restartAfterPanic("udp", func() { s.serveUDP(stop, c) }) })
		}
	}
	conns := make(chan struct{}, s.maxConns)
	for _, l := range s.tcp {
		wg.Go(func() { s.restartAfterPanic("tcp", func() { s.serveTCP(life, stop, l, conns, &wg) }) })
	}
	wg.Go(func() {
		t := time.NewTicker(s.refreshEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s.ranToEnd("refresh", func() { s.refresh(life) })
			}
		}
	})
	wg.Go(func() {
		t := time.NewTicker(probeEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s.ranToEnd("probe", func() { s.fwd.probe(life) })
			}
		}
	})

	<-ctx.Done()
	close(stop)
	cancel()
	s.fwd.shutdown()
	s.resolvers.Close()
	s.closeSockets()
	wg.Wait()
	s.inflight.Wait()
	s.resolvers.Wait()
	s.fwd.closeIdle() // those released by the last queries
	st := s.Stats()
	s.log.Info("DNS relay stopped", "queries", st.Queries, "cache_hits", st.CacheHits, "cache_misses", st.CacheMisses,
		"refused", st.Refused, "rate_limited", st.RateLimited, "servfail", st.ServFail, "errors", st.Errors)
	return nil
}

// refresh reloads the local names and the allow list when their versions
// changed. A failed load keeps the previous data and is warned about once.
func (s *Server) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if s.names != nil {
		v := s.names.NamesVersion()
		if !s.loaded.namesOK || v != s.loaded.names {
			hosts, err := s.names.LocalHosts(ctx)
			if err != nil {
				if !s.loaded.namesBad {
					s.log.Warn("local names not loaded; answering from the previous set", "err", err)
					s.loaded.namesBad = true
				}
			} else {
				z, bad, firstErr := buildZone(s.domain, s.localTTL, hosts, uint32(v))
				s.zone.Store(z)
				s.loaded.names, s.loaded.namesOK = v, true
				if s.loaded.namesBad {
					s.log.Info("local names loaded again")
					s.loaded.namesBad = false
				}
				if bad > 0 {
					s.log.Debug("local hosts without a usable name skipped", "count", bad, "first", firstErr)
				}
				s.log.Debug("local names loaded", "hosts", z.hosts, "version", v)
			}
		}
	}
	if s.networks != nil && len(s.allowFrom) == 0 {
		v := s.networks.NetworksVersion()
		if !s.loaded.netsOK || v != s.loaded.nets {
			ps, err := s.networks.ClientPrefixes(ctx)
			if err != nil {
				if !s.loaded.netsBad {
					s.log.Warn("client networks not loaded; the allow list stays as it was", "err", err)
					s.loaded.netsBad = true
				}
			} else {
				s.acl.Store(newPrefixSet(append(slices.Clone(loopback), ps...)))
				s.loaded.nets, s.loaded.netsOK = v, true
				if s.loaded.netsBad {
					s.log.Info("client networks loaded again")
					s.loaded.netsBad = false
				}
			}
		}
	}
}

// serveUDP reads datagrams from c until it is closed.
func (s *Server) serveUDP(stop <-chan struct{}, c *net.UDPConn) {
	buf := make([]byte, mdns.MaxMsgSize)
	out := make([]byte, 0, 4096)
	var backoff time.Duration
	for {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.stats.errors.Add(1)
			if !s.pause(stop, &backoff, "udp read", err) {
				return
			}
			continue
		}
		if backoff > 0 {
			s.log.Info("udp reads work again")
			backoff = 0
		}
		out = s.packetUDP(c, buf[:n], src, out)
	}
}

// packetUDP answers one datagram: at once when it can, from a goroutine of
// its own when the question must go upstream. It returns out for reuse.
func (s *Server) packetUDP(c *net.UDPConn, raw []byte, src netip.AddrPort, out []byte) []byte {
	defer func() {
		if v := recover(); v != nil {
			s.panicked("udp", src, v)
		}
	}()
	if src.Port() == 0 {
		s.stats.dropped.Add(1)
		return out
	}
	reply, q := s.prepare(src.Addr().Unmap(), raw, false, out)
	if q == nil {
		if reply != nil {
			s.writeUDP(c, reply, src)
			if cap(reply) > cap(out) && cap(reply) <= mdns.MaxMsgSize {
				out = reply[:0]
			}
		}
		return out
	}
	select {
	case s.jobs <- struct{}{}:
	default:
		s.stats.busy.Add(1)
		return out
	}
	s.resolvers.Go(miss{c: c, q: q, src: src})
	return out
}

// miss is a UDP query that must go upstream.
type miss struct {
	c   *net.UDPConn
	q   *query
	src netip.AddrPort
}

// resolverIdle is how long a resolver goroutine waits for the next miss
// before it ends. Keeping the goroutines between misses spares each miss a
// goroutine start and the growth of a fresh goroutine's stack to what
// resolving takes.
const resolverIdle = 10 * time.Second

func (s *Server) answerMiss(j miss) {
	defer func() { <-s.jobs }()
	defer func() {
		if v := recover(); v != nil {
			s.panicked("udp", j.src, v)
		}
	}()
	if reply := s.finish(s.life, j.q); reply != nil {
		s.writeUDP(j.c, reply, j.src)
	}
}

func (s *Server) writeUDP(c *net.UDPConn, b []byte, dst netip.AddrPort) {
	if _, err := c.WriteToUDPAddrPort(b, dst); err != nil {
		s.stats.errors.Add(1)
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("udp write", "dst", dst, "err", err)
		}
	}
}

// serveTCP accepts connections until l is closed, each served in its own
// goroutine while conns has room.
func (s *Server) serveTCP(ctx context.Context, stop <-chan struct{}, l *net.TCPListener, conns chan struct{}, wg *sync.WaitGroup) {
	var backoff time.Duration
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.stats.errors.Add(1)
			if !s.pause(stop, &backoff, "tcp accept", err) {
				return
			}
			continue
		}
		backoff = 0
		select {
		case conns <- struct{}{}:
		default:
			s.stats.tcpBusy.Add(1)
			c.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-conns }()
			s.serveConn(ctx, c)
		})
	}
}

// serveConn answers the queries of one TCP connection. Queries are read
// while earlier ones are still being resolved (pipelining), at most
// tcpPerConn at a time, and answered as they complete.
func (s *Server) serveConn(ctx context.Context, c *net.TCPConn) {
	defer c.Close()
	stopClose := context.AfterFunc(ctx, func() { c.Close() })
	defer stopClose()
	var src netip.AddrPort
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		src = a.AddrPort()
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	var (
		wmu     sync.Mutex
		pending sync.WaitGroup
		slots   = make(chan struct{}, tcpPerConn)
	)
	defer pending.Wait()
	defer func() {
		if v := recover(); v != nil {
			s.panicked("tcp", src, v)
		}
	}()
	write := func(b []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		c.SetWriteDeadline(time.Now().Add(tcpWriteWait))
		out := make([]byte, 2+len(b))
		binary.BigEndian.PutUint16(out, uint16(len(b)))
		copy(out[2:], b)
		if _, err := c.Write(out); err != nil {
			c.Close()
		}
	}
	var l [2]byte
	for {
		c.SetReadDeadline(time.Now().Add(tcpIdle))
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		raw := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, raw); err != nil {
			return
		}
		reply, q := s.prepare(src.Addr(), raw, true, nil)
		if q == nil {
			if reply == nil {
				return // nothing to say to this client
			}
			write(reply)
			if !s.acl.Load().contains(src.Addr()) {
				return // refused: do not let it hold a connection slot
			}
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		pending.Go(func() {
			defer func() { <-slots }()
			defer func() {
				if v := recover(); v != nil {
					s.panicked("tcp", src, v)
				}
			}()
			if reply := s.finish(ctx, q); reply != nil {
				write(reply)
			}
		})
	}
}

// pause waits after a read or accept error: serveloop.Pause with this
// server's logger and a limit of maxReadBackoff.
func (s *Server) pause(stop <-chan struct{}, backoff *time.Duration, what string, err error) bool {
	return serveloop.Pause(s.log, stop, backoff, maxReadBackoff, what, err)
}

// restartAfterPanic runs loop until it returns normally, logging each
// panic. Requests recover on their own; this is for the loops.
func (s *Server) restartAfterPanic(what string, loop func()) {
	serveloop.RestartAfterPanic(loop, func(v any) { s.panicked(what, netip.AddrPort{}, v) })
}

func (s *Server) ranToEnd(what string, loop func()) bool {
	return serveloop.RanToEnd(loop, func(v any) { s.panicked(what, netip.AddrPort{}, v) })
}

// panicked counts and logs a recovered panic.
func (s *Server) panicked(what string, src netip.AddrPort, v any) {
	s.stats.errors.Add(1)
	s.log.Error("recovered from panic; please report this bug", "in", what, "src", src,
		"panic", v, "stack", string(debug.Stack()))
}
