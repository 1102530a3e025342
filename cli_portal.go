package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ip6m/dhcp"
	"ip6m/store"
	"ip6m/ui"
)

// portalClients are the CPEs on the self-registration portal: those
// holding a lease behind a modem the inventory does not know (the DHCP
// server grants those only where a network lets unknown modems register).
// The DNS relay answers them with the portal's address, and the portal
// knows from it which modem a visitor sits behind. The set follows the
// committed lease ops; it starts from the store.
type portalClients struct {
	mu sync.RWMutex
	m  map[netip.Addr]ui.PortalClient
	// n is len(m), read without the lock: every DNS query and every lease
	// commit asks, and nearly always nobody is on the portal.
	n atomic.Int64
}

func newPortalClients(ctx context.Context, st *store.Store) (*portalClients, error) {
	p := &portalClients{m: map[netip.Addr]ui.PortalClient{}}
	list, err := st.PortalLeases4(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	for _, l := range list {
		p.add(l)
	}
	return p, nil
}

// add records l if it is a portal lease.
func (p *portalClients) add(l store.Lease4) {
	a, err := netip.ParseAddr(l.IP)
	modem, ok := dhcp.RemoteIDMAC(l.RemoteID)
	if err != nil || !ok {
		return
	}
	p.mu.Lock()
	p.m[a] = ui.PortalClient{ModemMAC: store.FormatMAC(modem), Relay: l.GiAddr}
	p.n.Store(int64(len(p.m)))
	p.mu.Unlock()
}

// observe follows a committed lease op: a grant or renewal of a CPE behind
// no modem puts its address on the portal; anything else about the address
// (a grant behind a registered modem, a release, an expiry) takes it off.
func (p *portalClients) observe(op store.LeaseOp) {
	l := op.V4
	if l == nil {
		return
	}
	if (op.Event == store.EventGrant || op.Event == store.EventRenew) && l.Kind == store.KindCPE && l.ModemID == 0 && l.State == store.StateActive {
		p.add(*l)
		return
	}
	if p.n.Load() == 0 {
		return
	}
	a, err := netip.ParseAddr(l.IP)
	if err != nil {
		return
	}
	p.mu.Lock()
	delete(p.m, a)
	p.n.Store(int64(len(p.m)))
	p.mu.Unlock()
}

// lookup reports whether addr is on the portal.
func (p *portalClients) lookup(addr netip.Addr) (ui.PortalClient, bool) {
	if p.n.Load() == 0 {
		return ui.PortalClient{}, false
	}
	p.mu.RLock()
	c, ok := p.m[addr.Unmap()]
	p.mu.RUnlock()
	return c, ok
}

// portalDNS is the DNS relay's question about a client: on the portal,
// the answer to every name is the server's IPv4 address (setting
// server.ipv4, where the registration page listens).
func portalDNS(st *store.Store, p *portalClients) func(netip.Addr) (netip.Addr, bool) {
	return func(c netip.Addr) (netip.Addr, bool) {
		if _, ok := p.lookup(c); !ok {
			return netip.Addr{}, false
		}
		v, err := st.Setting(context.Background(), dhcp.SettingServerIPv4, "")
		if err != nil {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil || !a.Is4() {
			return netip.Addr{}, false
		}
		return a, true
	}
}

// portalServer serves the self-registration page.
type portalServer struct {
	ln  net.Listener
	hs  *http.Server
	log *slog.Logger
}

func newPortalServer(addr string, h http.Handler, log *slog.Logger) (*portalServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &portalServer{ln: ln, log: log, hs: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}}, nil
}

func (p *portalServer) Addr() net.Addr { return p.ln.Addr() }

// Run serves until ctx ends.
func (p *portalServer) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- p.hs.Serve(p.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.hs.Shutdown(sctx); err != nil {
		p.hs.Close()
	}
	return nil
}
