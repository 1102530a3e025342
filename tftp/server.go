// Package tftp is ip6m's read-only TFTP server (on github.com/pin/tftp/v3):
// it answers cable modems and MTAs with configs built per request from the
// inventory, and serves firmware and other files from a folder.
//
// A read request goes through, in order: the name check (NUL, control
// characters, backslashes, absolute paths and ".." are refused before
// anything is looked up), the config names the DHCP server hands out (the
// settings dhcp.cm_file, dhcp.mta_file and dhcp.walled_file, see configs.go),
// and last the static folder (Config.Root), opened through os.Root so no
// symlink can lead out of it. Configs are built in memory and cached; files
// are streamed from disk. Every refused request is counted by reason, kept
// in a short list for the UI (Refusals) and logged at Warn, at most once per
// source address every ten seconds.
//
// Anti-theft (on unless Config.DisableAntiTheft): a modem's or MTA's config
// goes only to the address that holds that device's active, unexpired
// lease, checked before anything else about the device is looked up, so a
// subscriber cannot fetch a faster plan's config or even learn which MACs
// exist. IPv6 sources are refused until the store can say who holds a v6
// address (Lease6Source). CM configs carry TLV 19 (this server's time,
// rounded down to Config.StampBucket) and TLV 20 (the requester's address;
// TLV 59 for IPv6) before the MICs, for CMTSes that enforce TFTP.
//
// What pin/tftp v3.1.0 does and does not do (read from its source):
//   - Options: blksize (RFC 2348) and tsize (RFC 2349) are acknowledged in
//     the OACK. blksize is clamped to Config.MaxBlockSize and to the MTU of
//     the interface the request came in on, minus the IP and UDP headers.
//     timeout (RFC 2349) and windowsize (RFC 7440) are dropped from the
//     OACK, which RFC 2347 allows: the client then uses its own timeout
//     and a window of one block. The library's SetAnticipate sends several
//     blocks without negotiating windowsize, which is not RFC 7440; it is
//     left off.
//   - Every ERROR the library sends has code 1 ("file not found"), whatever
//     the reason (sender.abort and receiver.abort); the reason is in the
//     message text: "file not found", "access violation" (refusals),
//     "access violation: this TFTP server is read-only" (write requests),
//     "server busy, try again later".
//   - The block number is a uint16 that wraps from 65535 to 0, so files over
//     32 MB at 512-byte blocks (65535 × 512 bytes) go through; the client
//     must wrap to 0 as well (pin/tftp's and tftp-hpa's do: tested).
//   - Each transfer gets its own socket on an ephemeral port bound to the
//     address the request came to (RFC 1350's TIDs).
package tftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	tftplib "github.com/pin/tftp/v3"
)

// Defaults and bounds.
const (
	DefaultMaxBlockSize = 1468  // fits an Ethernet frame: 1500 - 20 (IPv4) - 8 (UDP) - 4 (TFTP)
	MaxBlockSize        = 65464 // RFC 2348's upper bound
	DefaultTimeout      = 5 * time.Second
	DefaultRetries      = 5
	DefaultMaxTransfers = 1024
	DefaultRefusalLog   = 256
	DefaultCacheBytes   = 16 << 20
	DefaultStampBucket  = time.Minute

	logEvery = 10 * time.Second // one Warn per source address per this
)

// Config configures a Server. The zero value of every field but Addr is a
// sensible default.
type Config struct {
	// Addr is the listen address, e.g. ":69". A host-less address listens
	// on one IPv4 and one IPv6 socket (the same port; with port 0 the v6
	// socket tries the v4 one's); a literal address only there.
	Addr string
	// Root is the folder static files (firmware) are served from; empty:
	// none. It must exist.
	Root string
	// Source is the inventory configs are built from (*store.Store); nil:
	// only static files are served.
	Source ConfigSource
	Logger *slog.Logger     // nil: slog.Default()
	Now    func() time.Time // nil: time.Now; lease expiry and TLV 19

	// MaxBlockSize caps blksize: 0 means DefaultMaxBlockSize; 513..65464.
	MaxBlockSize int
	// Timeout is how long a block waits for its ACK before it is sent
	// again, Retries how often. 0: DefaultTimeout, DefaultRetries.
	Timeout time.Duration
	Retries int
	// MaxTransfers bounds the transfers in progress; a request above it is
	// refused ("busy"). 0: DefaultMaxTransfers.
	MaxTransfers int

	// DisableAntiTheft serves a modem's (or MTA's) config to any address,
	// not only to the one that holds the device's active lease.
	DisableAntiTheft bool
	// NoStamp leaves TLV 19 (TFTP server timestamp) and TLV 20 (the
	// requester's address; TLV 59 for IPv6) out of CM configs.
	NoStamp bool
	// StampBucket rounds the TLV 19 timestamp down, so that repeated
	// requests within it are served from the cache. 0: DefaultStampBucket.
	StampBucket time.Duration
	// CacheBytes bounds the compiled-config cache. 0: DefaultCacheBytes.
	CacheBytes int
	// RefusalLog is how many refused requests Refusals keeps. 0:
	// DefaultRefusalLog.
	RefusalLog int
}

// Stats counts what a Server has done since New.
type Stats struct {
	Requests  uint64            // read and write requests received
	Transfers uint64            // transfers completed
	Bytes     uint64            // bytes of completed transfers
	Refused   uint64            // requests refused, all reasons
	RefusedBy map[string]uint64 // requests refused, by reason (the Reason* constants)
	Errors    uint64            // transfers that failed midway, configs that did not build, recovered panics
	Malformed uint64            // datagrams on the listening socket that were no request
	Active    int64             // transfers in progress
	Compiles  uint64            // configs compiled
	CacheHits uint64            // configs served from the cache
}

// Server is a running TFTP server: one socket per address family.
type Server struct {
	log          *slog.Logger
	now          func() time.Time
	timeout      time.Duration
	maxTransfers int64

	conns   []*net.UDPConn
	libs    []*tftplib.Server
	root    *os.Root
	rootDir string
	build   *builder // nil without a Source

	stop    context.Context // ends when Run's context does
	stopFn  context.CancelFunc
	running atomic.Bool

	refusals *refusalLog
	fetches  fetchLog
	errLog   errorLimiter
	stats    struct {
		requests, transfers, bytes, errors, malformed atomic.Uint64
		active                                        atomic.Int64
	}
}

// New checks cfg and binds the sockets. A bind error is returned wrapped,
// so errors.Is(err, syscall.EACCES) or syscall.EADDRINUSE tell what went
// wrong.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		return nil, errors.New("tftp: listen address is empty")
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("tftp: %w", err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("tftp: listen address %q: bad port", cfg.Addr)
	}
	blk := cfg.MaxBlockSize
	switch {
	case blk == 0:
		blk = DefaultMaxBlockSize
	case blk <= 512 || blk > MaxBlockSize:
		// pin/tftp ignores a cap of 512 or less (SetBlockSize).
		return nil, fmt.Errorf("tftp: max block size %d is not in 513..%d", blk, MaxBlockSize)
	}
	if cfg.Timeout < 0 || cfg.Retries < 0 || cfg.MaxTransfers < 0 || cfg.CacheBytes < 0 || cfg.RefusalLog < 0 || cfg.StampBucket < 0 {
		return nil, errors.New("tftp: negative timeout, retries, max transfers, cache size, refusal log or stamp bucket")
	}
	s := &Server{
		log:          cfg.Logger,
		now:          cfg.Now,
		timeout:      orDefault(cfg.Timeout, DefaultTimeout),
		maxTransfers: int64(orDefault(cfg.MaxTransfers, DefaultMaxTransfers)),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "tftp")
	if s.now == nil {
		s.now = time.Now
	}
	s.refusals = newRefusalLog(orDefault(cfg.RefusalLog, DefaultRefusalLog), s.log)
	if cfg.Root != "" {
		st, err := os.Stat(cfg.Root)
		if err != nil {
			return nil, fmt.Errorf("tftp: root folder: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("tftp: root folder %s is not a folder", cfg.Root)
		}
		if s.root, err = os.OpenRoot(cfg.Root); err != nil {
			return nil, fmt.Errorf("tftp: root folder: %w", err)
		}
		s.rootDir = cfg.Root
	}
	if cfg.Source != nil {
		s.build = newBuilder(cfg.Source, builderOptions{
			now:        s.now,
			antiTheft:  !cfg.DisableAntiTheft,
			stamp:      !cfg.NoStamp,
			bucket:     orDefault(cfg.StampBucket, DefaultStampBucket),
			cacheBytes: orDefault(cfg.CacheBytes, DefaultCacheBytes),
			log:        s.log,
		})
	}
	if err := s.bind(host, port); err != nil {
		s.closeAll()
		return nil, err
	}
	s.stop, s.stopFn = context.WithCancel(context.Background())
	for range s.conns {
		l := tftplib.NewServer(s.serveRead, s.serveWrite)
		l.SetBlockSize(blk)
		l.SetTimeout(s.timeout)
		l.SetRetries(orDefault(cfg.Retries, DefaultRetries))
		// Resend as soon as the timeout passes; the default adds up to a
		// second of random sleep on top.
		l.SetBackoff(func(int) time.Duration { return 0 })
		l.SetHook(hook{s})
		s.libs = append(s.libs, l)
	}
	return s, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// bind opens one socket per family for a host-less (or unspecified)
// address, else the one given.
func (s *Server) bind(host, port string) error {
	listen := func(network, addr string) (*net.UDPConn, error) {
		pc, err := (&net.ListenConfig{}).ListenPacket(context.Background(), network, addr)
		if err != nil {
			return nil, fmt.Errorf("tftp: listen %s: %w", addr, err)
		}
		return pc.(*net.UDPConn), nil
	}
	if host != "" {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("tftp: listen address %q: the host must be an IP address", host)
		}
		network := "udp4"
		if a.Is6() && !a.Is4In6() {
			network = "udp6"
		}
		c, err := listen(network, net.JoinHostPort(a.Unmap().String(), port))
		if err != nil {
			return err
		}
		s.conns = append(s.conns, c)
		return nil
	}
	c4, err := listen("udp4", net.JoinHostPort("0.0.0.0", port))
	if err != nil {
		return err
	}
	s.conns = append(s.conns, c4)
	p6 := port
	if port == "0" {
		p6 = strconv.Itoa(c4.LocalAddr().(*net.UDPAddr).Port)
	}
	c6, err := listen("udp6", net.JoinHostPort("::", p6))
	if err != nil && port == "0" {
		c6, err = listen("udp6", "[::]:0")
	}
	if err != nil {
		if errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EPROTONOSUPPORT) {
			s.log.Warn("no IPv6 on this host: serving IPv4 only", "err", err)
			return nil
		}
		return err
	}
	s.conns = append(s.conns, c6)
	return nil
}

func (s *Server) closeAll() {
	for _, c := range s.conns {
		c.Close()
	}
	if s.root != nil {
		s.root.Close()
	}
}

// Addr returns the address of the first socket (IPv4 when there are two).
func (s *Server) Addr() net.Addr { return s.conns[0].LocalAddr() }

// Addrs returns the address of every socket.
func (s *Server) Addrs() []net.Addr {
	out := make([]net.Addr, len(s.conns))
	for i, c := range s.conns {
		out[i] = c.LocalAddr()
	}
	return out
}

// Run serves until ctx ends, then stops taking requests, tells the
// transfers in progress to stop (each notices before its next block),
// releases the listening sockets and returns. It waits for the transfers at
// most Timeout + 1 s: one stuck waiting for an ACK then ends on its own
// within Timeout × Retries and closes its socket. It can be called once.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("tftp: Run called twice")
	}
	addrs := make([]string, len(s.conns))
	for i, c := range s.conns {
		addrs[i] = c.LocalAddr().String()
	}
	s.log.Info("serving", "addrs", addrs, "root", s.rootDir, "configs", s.build != nil)
	var wg sync.WaitGroup
	for i := range s.libs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serve(s.libs[i], s.conns[i])
		}()
	}
	<-ctx.Done()
	s.stopFn()
	done := make(chan struct{})
	go func() {
		defer close(done)
		var sw sync.WaitGroup
		for _, l := range s.libs {
			sw.Add(1)
			go func() {
				defer sw.Done()
				defer s.recoverPanic("shutdown")
				l.Shutdown() // closes the socket, waits for the transfers
			}()
		}
		sw.Wait()
	}()
	for _, c := range s.conns {
		c.Close() // also when Serve had not set its connection yet
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(s.timeout + time.Second):
		s.log.Warn("stopped with transfers still waiting for an ACK; they end on their timeout", "active", s.stats.active.Load())
	}
	if s.root != nil {
		s.root.Close()
	}
	s.log.Info("stopped")
	return nil
}

// serve runs the library's read loop on c, starting it again if it panics.
func (s *Server) serve(l *tftplib.Server, c *net.UDPConn) {
	for {
		panicked := func() (p bool) {
			defer func() {
				if v := recover(); v != nil {
					p = true
					s.stats.errors.Add(1)
					s.log.Error("panic in the TFTP read loop; restarting it", "addr", c.LocalAddr().String(), "panic", v, "stack", string(debug.Stack()))
				}
			}()
			l.Serve(c)
			return false
		}()
		if !panicked || s.stop.Err() != nil {
			return
		}
	}
}

func (s *Server) recoverPanic(what string) {
	if v := recover(); v != nil {
		s.stats.errors.Add(1)
		s.log.Error("panic", "in", what, "panic", v, "stack", string(debug.Stack()))
	}
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Requests:  s.stats.requests.Load(),
		Transfers: s.stats.transfers.Load(),
		Bytes:     s.stats.bytes.Load(),
		Errors:    s.stats.errors.Load(),
		Malformed: s.stats.malformed.Load(),
		Active:    s.stats.active.Load(),
	}
	st.Refused, st.RefusedBy = s.refusals.counts()
	if s.build != nil {
		st.Compiles, st.CacheHits = s.build.compiles.Load(), s.build.hits.Load()
	}
	return st
}

// OnRefusal has fn called with refused requests, as often as they are
// logged: each source's first refusal, then at most every ten seconds per
// source while it keeps being refused. fn must return at once.
func (s *Server) OnRefusal(fn func(Refusal)) {
	if fn == nil {
		s.refusals.notify.Store(nil)
		return
	}
	s.refusals.notify.Store(&fn)
}

// Refusals returns the most recent refused requests, oldest first.
func (s *Server) Refusals() []Refusal { return s.refusals.list() }

// serveWrite answers a write request: this server is read-only.
func (s *Server) serveWrite(name string, wt io.WriterTo) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.stats.errors.Add(1)
			s.log.Error("panic answering a write request", "panic", v, "stack", string(debug.Stack()))
			err = errors.New("internal error")
		}
	}()
	s.stats.requests.Add(1)
	var from netip.AddrPort
	if it, ok := wt.(tftplib.IncomingTransfer); ok {
		ra := it.RemoteAddr()
		from = ra.AddrPort()
	}
	s.refusals.add(s.now(), from, name, ReasonWrite, "")
	return errors.New("access violation: this TFTP server is read-only")
}

// serveRead answers a read request.
func (s *Server) serveRead(name string, rf io.ReaderFrom) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.stats.errors.Add(1)
			s.log.Error("panic answering a read request", "file", name, "panic", v, "stack", string(debug.Stack()))
			err = errors.New("internal error")
		}
	}()
	s.stats.requests.Add(1)
	ot, _ := rf.(tftplib.OutgoingTransfer)
	var from netip.AddrPort
	if ot != nil {
		ra := ot.RemoteAddr()
		from = ra.AddrPort()
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if s.stats.active.Add(1) > s.maxTransfers {
		s.stats.active.Add(-1)
		s.refusals.add(s.now(), from, name, ReasonBusy, "")
		return errors.New("server busy, try again later")
	}
	defer s.stats.active.Add(-1)

	start := time.Now()
	f, err := s.open(s.stop, name, from.Addr())
	if err != nil {
		var r *refusal
		if errors.As(err, &r) {
			s.refusals.add(s.now(), from, name, r.reason, r.detail)
			return errors.New(r.message())
		}
		s.stats.errors.Add(1)
		s.refusals.add(s.now(), from, name, ReasonBuildFailed, err.Error())
		if s.errLog.allow(err.Error(), s.now()) {
			s.log.Error("cannot build the file asked for (the same error is logged at most once a minute)", "file", name, "from", from.String(), "err", err)
		}
		return errors.New("cannot build this file now")
	}
	defer f.Close()
	if ot != nil {
		ot.SetSize(f.size)
	}
	n, err := rf.ReadFrom(&stopReader{ctx: s.stop, r: f.r})
	if err != nil {
		// The library has sent the ERROR (or the peer sent one) already.
		s.stats.errors.Add(1)
		s.log.Debug("transfer failed", "file", name, "from", from.String(), "bytes", n, "err", err)
		return nil
	}
	s.stats.transfers.Add(1)
	s.stats.bytes.Add(uint64(n))
	if f.mac != "" {
		s.fetches.add(f.mac, Fetch{Time: s.now(), From: from, Name: name, Kind: f.kind, Bytes: n})
	}
	s.log.Debug("sent", "file", name, "from", from.String(), "bytes", n, "kind", f.kind, "took", time.Since(start))
	return nil
}

// hook receives the library's reports. Transfers are counted by the
// handlers; what only the hook sees is a datagram on the listening socket
// that the library could not take as a request (its read loop reports it
// with no file name and goes on).
type hook struct{ s *Server }

func (h hook) OnSuccess(tftplib.TransferStats) {}

func (h hook) OnFailure(st tftplib.TransferStats, err error) {
	if st.Filename == "" && st.RemoteAddr == nil {
		h.s.stats.malformed.Add(1)
		h.s.log.Debug("not a request", "err", err)
	}
}

// stopReader fails once the server stops, so a transfer ends at its next block.
type stopReader struct {
	ctx context.Context
	r   io.Reader
}

func (r *stopReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, errors.New("server shutting down")
	}
	return r.r.Read(p)
}
