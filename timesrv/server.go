// Package timesrv is the RFC 868 time server that cable modems ask for the
// time of day while they boot (the server DHCPv4 option 4 and DHCPv6 vendor
// sub-option 37 point them to).
//
// Over UDP every datagram, whatever it holds, gets one 4-byte reply; over
// TCP the server sends the 4 bytes as soon as it accepts and closes. The
// work per request is bounded: a reply is never bigger than 4 bytes, each
// source address has a token bucket, datagrams from the ports of other
// "answer anything" services are dropped so two servers cannot be made to
// talk to each other forever, and TCP connections have a deadline and a cap.
package timesrv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"ip6m/internal/ratelimit"
	"ip6m/internal/serveloop"
)

// Defaults and bounds.
const (
	DefaultRatePerSecond = 10 // requests per second per source address
	DefaultBurst         = 20 // requests a source may send at once

	maxSources  = 16384           // source addresses the rate limit remembers
	maxTCPConns = 64              // TCP connections answered at the same time
	tcpTimeout  = 2 * time.Second // deadline of a TCP connection
	udpReadSize = 2048            // read buffer; a longer datagram is truncated, which is fine
	maxReaders  = 4               // goroutines reading the UDP socket
	maxBackoff  = time.Second     // longest pause after repeated read or accept errors
)

// Config configures a Server. The rate limit runs on the Now clock too, so a
// clock that stands still (in tests) never refills a bucket.
type Config struct {
	Addr          string           // listen address, e.g. ":37"
	Logger        *slog.Logger     // nil: slog.Default()
	Now           func() time.Time // nil: time.Now
	RatePerSecond float64          // per source address; 0: DefaultRatePerSecond
	Burst         int              // per source address; 0: DefaultBurst
}

// Stats counts what a Server has done since New.
type Stats struct {
	UDPRequests uint64 // datagrams received
	TCPRequests uint64 // connections accepted below the cap
	RateLimited uint64 // requests (UDP or TCP) dropped by the per-source limit
	LoopPorts   uint64 // datagrams dropped for coming from a port of an answer-anything service
	TCPBusy     uint64 // connections closed unanswered because 64 were being answered already
	Errors      uint64 // read, write and accept errors, and recovered panics
}

// Server answers RFC 868 time requests on one UDP socket and one TCP listener.
type Server struct {
	log *slog.Logger
	now func() time.Time
	udp *net.UDPConn
	tcp *net.TCPListener

	limit      *ratelimit.Limiter
	readers    int
	maxConns   int
	tcpTimeout time.Duration

	running atomic.Bool
	stats   struct {
		udp, tcp, limited, loop, busy, errors atomic.Uint64
	}
}

// New checks cfg and binds the UDP socket and the TCP listener at cfg.Addr.
// A host-less address such as ":37" listens on IPv4 and IPv6 where the system
// allows dual-stack sockets; "127.0.0.1:3737" or "[::1]:3737" only there. A
// bind error is returned wrapped, so errors.Is(err, syscall.EACCES) or
// syscall.EADDRINUSE still tell what went wrong.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		return nil, errors.New("time server: listen address is empty")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("time server: %w", err)
	}
	rate := cfg.RatePerSecond
	switch {
	case rate == 0:
		rate = DefaultRatePerSecond
	case rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0):
		return nil, fmt.Errorf("time server: rate %v per second is not a positive number", cfg.RatePerSecond)
	}
	burst := cfg.Burst
	switch {
	case burst == 0:
		burst = DefaultBurst
	case burst < 0:
		return nil, fmt.Errorf("time server: burst %d is negative", cfg.Burst)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}

	var lc net.ListenConfig
	pc, err := lc.ListenPacket(context.Background(), "udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("time server: %w", err)
	}
	ln, err := lc.Listen(context.Background(), "tcp", cfg.Addr)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("time server: %w", err)
	}
	return &Server{
		log:        log.With("component", "time"),
		now:        now,
		udp:        pc.(*net.UDPConn),
		tcp:        ln.(*net.TCPListener),
		limit:      ratelimit.New(rate, burst, maxSources),
		readers:    min(runtime.GOMAXPROCS(0), maxReaders),
		maxConns:   maxTCPConns,
		tcpTimeout: tcpTimeout,
	}, nil
}

// UDPAddr returns the address the UDP socket is bound to.
func (s *Server) UDPAddr() net.Addr { return s.udp.LocalAddr() }

// TCPAddr returns the address the TCP listener is bound to.
func (s *Server) TCPAddr() net.Addr { return s.tcp.Addr() }

// Stats returns the counters. They are read one by one, not as a snapshot.
func (s *Server) Stats() Stats {
	return Stats{
		UDPRequests: s.stats.udp.Load(),
		TCPRequests: s.stats.tcp.Load(),
		RateLimited: s.stats.limited.Load(),
		LoopPorts:   s.stats.loop.Load(),
		TCPBusy:     s.stats.busy.Load(),
		Errors:      s.stats.errors.Load(),
	}
}

// Run answers requests until ctx is done, then closes the sockets, waits for
// the connections in progress (each has a deadline of tcpTimeout) and returns
// nil. A Server runs once.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("time server: Run called more than once")
	}
	rate, burst := s.limit.Rate()
	s.log.Info("time server listening", "udp", s.UDPAddr(), "tcp", s.TCPAddr(),
		"rate_per_second", rate, "burst", burst)

	stop := make(chan struct{}) // closed at shutdown, to cut backoff pauses short
	var wg sync.WaitGroup
	for range s.readers {
		wg.Go(func() {
			buf := make([]byte, udpReadSize)
			var reply [4]byte
			s.restartAfterPanic("udp", func() { s.serveUDP(stop, buf, reply[:]) })
		})
	}
	wg.Go(func() {
		sem := make(chan struct{}, s.maxConns)
		s.restartAfterPanic("tcp", func() { s.serveTCP(stop, sem, &wg) })
	})

	<-ctx.Done()
	close(stop)
	s.udp.Close()
	s.tcp.Close()
	wg.Wait()
	st := s.Stats()
	s.log.Info("time server stopped", "udp_requests", st.UDPRequests, "tcp_requests", st.TCPRequests,
		"rate_limited", st.RateLimited, "loop_ports", st.LoopPorts, "tcp_busy", st.TCPBusy, "errors", st.Errors)
	return nil
}

// serveUDP reads datagrams until the socket is closed. buf and reply belong
// to this goroutine.
func (s *Server) serveUDP(stop <-chan struct{}, buf, reply []byte) {
	var backoff time.Duration
	for {
		n, src, err := s.udp.ReadFromUDPAddrPort(buf)
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
		s.answerUDP(n, src, reply)
	}
}

// answerUDP answers one datagram of n bytes from src, using reply as its
// buffer.
func (s *Server) answerUDP(n int, src netip.AddrPort, reply []byte) {
	defer func() {
		if v := recover(); v != nil {
			s.panicked("udp", src, v)
		}
	}()
	s.stats.udp.Add(1)
	verbose := s.log.Enabled(context.Background(), slog.LevelDebug)
	if loopPort(src.Port()) {
		s.stats.loop.Add(1)
		if verbose {
			s.log.Debug("dropped datagram from a loop-prone port", "proto", "udp", "src", unmap(src), "size", n)
		}
		return
	}
	now := s.now()
	if !s.limit.Allow(src.Addr(), now) {
		s.stats.limited.Add(1)
		if verbose {
			s.log.Debug("rate limited", "proto", "udp", "src", unmap(src), "size", n)
		}
		return
	}
	v := Seconds(now)
	binary.BigEndian.PutUint32(reply, v)
	if _, err := s.udp.WriteToUDPAddrPort(reply[:4], src); err != nil {
		s.stats.errors.Add(1)
		if verbose {
			s.log.Debug("udp write", "src", unmap(src), "err", err)
		}
		return
	}
	if verbose {
		s.log.Debug("time request", "proto", "udp", "src", unmap(src), "size", n, "rfc868", v, "time", now.UTC())
	}
}

// loopPort reports whether a datagram from port p must go unanswered: port
// 0 is not a valid source, and echo (7), daytime (13), qotd (17), chargen (19)
// and time (37) answer any datagram too, so a request forged to come from one
// of them would start an endless exchange between two servers.
func loopPort(p uint16) bool {
	switch p {
	case 0, 7, 13, 17, 19, 37:
		return true
	}
	return false
}

// serveTCP accepts connections until the listener is closed, answering each
// in its own goroutine (counted in wg) while sem has room and closing it
// unanswered when it has not.
func (s *Server) serveTCP(stop <-chan struct{}, sem chan struct{}, wg *sync.WaitGroup) {
	var backoff time.Duration
	for {
		c, err := s.tcp.AcceptTCP()
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
		if backoff > 0 {
			s.log.Info("tcp accepts work again")
			backoff = 0
		}
		select {
		case sem <- struct{}{}:
		default:
			s.stats.busy.Add(1)
			if s.log.Enabled(context.Background(), slog.LevelDebug) {
				s.log.Debug("too many connections", "proto", "tcp", "src", c.RemoteAddr(), "max", cap(sem))
			}
			c.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			s.answerTCP(c)
		})
	}
}

// answerTCP sends the time on c and closes it.
func (s *Server) answerTCP(c *net.TCPConn) {
	defer c.Close()
	var src netip.AddrPort
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		src = a.AddrPort()
	}
	defer func() {
		if v := recover(); v != nil {
			s.panicked("tcp", src, v)
		}
	}()
	s.stats.tcp.Add(1)
	verbose := s.log.Enabled(context.Background(), slog.LevelDebug)
	now := s.now()
	if !s.limit.Allow(src.Addr(), now) {
		s.stats.limited.Add(1)
		if verbose {
			s.log.Debug("rate limited", "proto", "tcp", "src", unmap(src))
		}
		return
	}
	// The deadline is on the system clock, whatever clock the reply comes from.
	if err := c.SetDeadline(time.Now().Add(s.tcpTimeout)); err != nil {
		s.stats.errors.Add(1)
		if verbose {
			s.log.Debug("tcp deadline", "src", unmap(src), "err", err)
		}
		return
	}
	v := Seconds(now)
	var reply [4]byte
	binary.BigEndian.PutUint32(reply[:], v)
	if _, err := c.Write(reply[:]); err != nil {
		s.stats.errors.Add(1)
		if verbose {
			s.log.Debug("tcp write", "src", unmap(src), "err", err)
		}
		return
	}
	if verbose {
		s.log.Debug("time request", "proto", "tcp", "src", unmap(src), "rfc868", v, "time", now.UTC())
	}
}

// pause waits after a read or accept error: serveloop.Pause with this
// server's logger and a limit of maxBackoff.
func (s *Server) pause(stop <-chan struct{}, backoff *time.Duration, what string, err error) bool {
	return serveloop.Pause(s.log, stop, backoff, maxBackoff, what, err)
}

// restartAfterPanic runs loop until it returns normally, logging each
// panic. Requests recover on their own; this is for the loops.
func (s *Server) restartAfterPanic(proto string, loop func()) {
	serveloop.RestartAfterPanic(loop, func(v any) { s.panicked(proto, netip.AddrPort{}, v) })
}

// panicked counts and logs a recovered panic.
func (s *Server) panicked(proto string, src netip.AddrPort, v any) {
	s.stats.errors.Add(1)
	s.log.Error("recovered from panic; please report this bug", "proto", proto, "src", unmap(src),
		"panic", v, "stack", string(debug.Stack()))
}

// unmap shows an IPv4 peer of a dual-stack socket as IPv4.
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
