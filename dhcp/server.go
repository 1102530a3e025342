package dhcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"golang.org/x/net/ipv4"

	"ip6m/store"
)

// Config is what New needs.
type Config struct {
	// Addr is the DHCPv4 listen address, e.g. ":67".
	Addr      string
	Inventory Inventory
	Leases    LeaseStore
	Logger    *slog.Logger
	// Now is the clock for lease times; nil means time.Now.
	Now func() time.Time
	// RelayPort is where replies to relays go (giaddr:RelayPort); 0 means
	// 67. Tests and load runs on loopback use a high port.
	RelayPort int
	// ClientPort is where replies to direct clients go; 0 means 68.
	ClientPort int
	// Refresh is how often the inventory version is checked; 0 means 1 s.
	Refresh time.Duration
	// PerMACRate and PerMACBurst limit the packets one client MAC may send
	// (per second, and at once); 0 means 5/s with a burst of 20, far above
	// what a working client needs.
	PerMACRate  float64
	PerMACBurst int
}

// Server is the DHCPv4 server.
type Server struct {
	base
	cfg        Config
	conn       *ipv4.PacketConn
	raw        net.PacketConn
	leases     *leases
	fallbackID netip.Addr
	limit      *macLimiter
}

type counters struct {
	received, replied, leasesCommitted, refused, naks atomic.Int64
	mu                                                sync.Mutex
	drops                                             map[string]int64
}

// Stats are the server's counters.
type Stats struct {
	Received, Replied, LeasesCommitted, Refused, NAKs int64
	Drops                                             map[string]int64
}

// New checks cfg, loads the inventory and the leases, and binds the socket.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Inventory == nil || cfg.Leases == nil {
		return nil, errors.New("dhcp: no inventory or lease store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RelayPort == 0 {
		cfg.RelayPort = 67
	}
	if cfg.ClientPort == 0 {
		cfg.ClientPort = 68
	}
	if cfg.Refresh == 0 {
		cfg.Refresh = time.Second
	}
	if cfg.PerMACRate == 0 {
		cfg.PerMACRate = 5
	}
	if cfg.PerMACBurst == 0 {
		cfg.PerMACBurst = 20
	}
	s := &Server{cfg: cfg, leases: newLeases(), limit: newMACLimiter(cfg.PerMACRate, cfg.PerMACBurst, 200_000)}
	if err := s.base.init(ctx, cfg.Inventory, cfg.Logger.With("component", "dhcp4"), cfg.Now, cfg.Refresh); err != nil {
		return nil, fmt.Errorf("dhcp: %w", err)
	}
	sn := s.snap.Load()
	list, err := cfg.Leases.Leases4(ctx, s.now().Add(-declineQuarantine))
	if err != nil {
		return nil, fmt.Errorf("dhcp: %w", err)
	}
	s.leases.load(list, s.now())

	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
			if serr == nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(ctx, "udp4", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dhcp listen %s: %w", cfg.Addr, err)
	}
	s.raw = pc
	// A CMTS reboot storm arrives in bursts: a deep socket buffer keeps
	// them from being dropped while the workers catch up.
	if uc, ok := pc.(*net.UDPConn); ok {
		uc.SetReadBuffer(8 << 20)
		uc.SetWriteBuffer(4 << 20)
	}
	s.conn = ipv4.NewPacketConn(pc)
	if err := s.conn.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
		pc.Close()
		return nil, fmt.Errorf("dhcp listen %s: %w", cfg.Addr, err)
	}
	if a, ok := pc.LocalAddr().(*net.UDPAddr); ok {
		s.fallbackID, _ = netip.AddrFromSlice(a.IP.To4())
	}
	s.log.Info("DHCPv4 ready", "addr", pc.LocalAddr().String(), "leases", len(list), "modems", len(sn.modems), "networks", len(sn.nets))
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.raw.LocalAddr() }

// Run serves until ctx is done, then closes the socket and waits for the
// requests in flight.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.maintain(ctx, s.Sweep) }()
	// Stopping ends the reads; the socket closes once the replies being
	// committed are sent.
	go func() { defer wg.Done(); <-ctx.Done(); s.raw.SetReadDeadline(time.Now()) }()
	defer s.raw.Close()
	buf := make([]byte, 4096)
	for {
		n, cm, src, err := s.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, net.ErrClosed) {
				break
			}
			s.log.Warn("read", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.stats.received.Add(1)
		msg, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			s.countDrop("malformed")
			s.log.Debug("malformed packet", "src", src, "err", err)
			continue
		}
		if len(msg.ClientHWAddr) == 6 && !s.limit.allow([6]byte(msg.ClientHWAddr), s.now()) {
			s.countDrop("rate limit (per MAC)")
			continue
		}
		var local netip.Addr
		if cm != nil && cm.Dst != nil {
			local, _ = netip.AddrFromSlice(cm.Dst.To4())
			if local.IsMulticast() || local == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
				local = s.interfaceAddr(cm.IfIndex)
			}
		}
		s.serve(ctx, inbound4{msg: msg, local: local}, src)
	}
	s.drain()
	wg.Wait()
	s.log.Info("DHCPv4 stopped", "received", s.stats.received.Load(), "replied", s.stats.replied.Load())
	return nil
}

// serve handles one request and sends the reply where RFC 2131 4.1 says.
// A reply that grants a lease leaves once the lease is durable: the lease
// store's committer sends it, right after the sync, so no goroutine waits
// for the disk (a release or decline is committed the same way, without a
// reply).
func (s *Server) serve(ctx context.Context, in inbound4, src net.Addr) {
	defer func() {
		if v := recover(); v != nil {
			s.countDrop("panic")
			s.log.Error("panic handling a request", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	var ops []store.LeaseOp
	in.deferred = &ops
	resp, err := s.handle4(ctx, in)
	if len(ops) > 0 {
		var out []byte
		var dst net.Addr
		if err == nil && resp != nil {
			out, dst = resp.ToBytes(), s.destination(in.msg, resp)
		}
		mac := net.HardwareAddr(in.msg.ClientHWAddr).String()
		s.committing.Add(1)
		cerr := s.cfg.Leases.CommitLeasesThen(ctx, ops, func(cerr error) {
			defer s.committing.Done()
			if cerr != nil {
				s.countDrop("error")
				s.log.Error("request failed", "mac", mac, "err", fmt.Errorf("commit leases: %w", cerr))
				return
			}
			s.stats.leasesCommitted.Add(int64(len(ops)))
			if out != nil {
				s.send(out, dst)
			}
		})
		if cerr != nil {
			s.committing.Done()
			s.countDrop("error")
			s.log.Error("request failed", "mac", mac, "err", fmt.Errorf("commit leases: %w", cerr))
			return
		}
		if err == nil {
			return
		}
	}
	if err != nil {
		var d errDrop
		if errors.As(err, &d) {
			s.countDrop(dropKind(d.reason))
			s.log.Debug("no reply", "mac", net.HardwareAddr(in.msg.ClientHWAddr).String(), "why", d.reason)
			return
		}
		s.countDrop("error")
		s.log.Error("request failed", "mac", net.HardwareAddr(in.msg.ClientHWAddr).String(), "err", err)
		return
	}
	s.send(resp.ToBytes(), s.destination(in.msg, resp))
}

// send sends a reply.
func (s *Server) send(out []byte, dst net.Addr) {
	if _, err := s.raw.WriteTo(out, dst); err != nil {
		s.countDrop("send")
		s.log.Warn("send reply", "to", dst, "err", err)
		return
	}
	s.stats.replied.Add(1)
}

// destination is where a reply goes: to the relay, to the client's
// address when it has one, else broadcast on the link.
func (s *Server) destination(req, resp *dhcpv4.DHCPv4) net.Addr {
	if gi := ip4(req.GatewayIPAddr); gi.IsValid() {
		return &net.UDPAddr{IP: gi.AsSlice(), Port: s.cfg.RelayPort}
	}
	if ci := ip4(req.ClientIPAddr); ci.IsValid() && resp.MessageType() != dhcpv4.MessageTypeNak {
		return &net.UDPAddr{IP: ci.AsSlice(), Port: s.cfg.ClientPort}
	}
	// Without raw sockets a server cannot unicast to an address the client
	// does not have yet, so it broadcasts (RFC 2131 4.1 allows it).
	return &net.UDPAddr{IP: net.IPv4bcast, Port: s.cfg.ClientPort}
}

func (s *Server) interfaceAddr(ifindex int) netip.Addr {
	ifi, err := net.InterfaceByIndex(ifindex)
	if err != nil {
		return netip.Addr{}
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok && ip.Is4() {
				return ip
			}
		}
	}
	return netip.Addr{}
}

// Sweep expires the leases whose time is up and records it in the history.
func (s *Server) Sweep(ctx context.Context) {
	expired := s.leases.sweep(s.now())
	if len(expired) == 0 {
		return
	}
	sn := s.snap.Load()
	ops := make([]store.LeaseOp, 0, len(expired))
	for i := range expired {
		op := store.LeaseOp{Event: store.EventExpire, V4: expired[i].record()}
		if m := sn.modemsID[expired[i].modemID]; m != nil {
			op.ModemMAC, op.CustomerID = m.macText, m.customerID
		}
		ops = append(ops, op)
	}
	if err := s.cfg.Leases.CommitLeases(ctx, ops...); err != nil {
		s.log.Error("record expired leases", "count", len(ops), "err", err)
		return
	}
	s.log.Debug("leases expired", "count", len(ops))
}

// dropKind turns a drop reason into a counter name (the reason's first
// words, without addresses).
func dropKind(reason string) string {
	for _, k := range []string{"refused", "client chose server", "init-reboot", "not a BOOTREQUEST", "hardware address", "option 82",
		"message type", "REQUEST without", "release", "decline", "inform refused"} {
		if len(reason) >= len(k) && reason[:len(k)] == k {
			return k
		}
	}
	return "other"
}
