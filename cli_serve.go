package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"time"

	"ip6m/dhcp"
	"ip6m/dns"
	"ip6m/internal/events"
	"ip6m/snmp"
	"ip6m/store"
	"ip6m/tftp"
	"ip6m/timesrv"
	"ip6m/tsdb"
	"ip6m/ui"
)

// serveConfig is what `ip6m serve` was told.
type serveConfig struct {
	data       string
	httpAddr   string
	dhcp4      string
	dhcp6      string
	tftp       string
	time       string
	dns        string
	metrics    string
	portal     string
	relayPort  int
	demo       bool
	demoModems int
	logLevel   string
	cpuProfile string
	poll       bool
	dnsUp      string
	dnsDomain  string
	dnsRate    float64
}

func serveFlags(stderr io.Writer) (*flag.FlagSet, *serveConfig) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.data, "data", "./ip6m-data", "data folder: holds ip6m.db and tsdb/")
	fs.StringVar(&c.httpAddr, "http", ":8080", "web UI listen address")
	fs.StringVar(&c.dhcp4, "dhcp4", ":67", "DHCPv4 listen address (empty: off)")
	fs.StringVar(&c.dhcp6, "dhcp6", ":547", "DHCPv6 listen address (empty: off)")
	fs.StringVar(&c.tftp, "tftp", ":69", "TFTP listen address (empty: off)")
	fs.StringVar(&c.time, "time", ":37", "RFC 868 time listen address, UDP and TCP (empty: off)")
	fs.StringVar(&c.dns, "dns", ":53", "DNS relay listen address (empty: off)")
	fs.StringVar(&c.dnsUp, "dns-upstream", "", "resolvers the DNS relay forwards to, comma separated (empty: those of /etc/resolv.conf)")
	fs.StringVar(&c.dnsDomain, "dns-domain", "ip6m.lan", "domain of the provisioned devices' names, e.g. cm-4432c82109e7.cm.ip6m.lan (empty: none)")
	fs.Float64Var(&c.dnsRate, "dns-rate", 500, "DNS queries per second one client address may send (-1: no limit)")
	fs.IntVar(&c.relayPort, "dhcp-relay-port", 67, "UDP port of the relays (CMTSes) DHCPv4 replies go to; change only to load-test on one machine")
	fs.BoolVar(&c.demo, "demo", false, "fill an empty database with the demo network first")
	fs.BoolVar(&c.poll, "poll", true, "poll every modem (at its lease address) and CMTS over SNMP every 10 s into data/tsdb")
	fs.IntVar(&c.demoModems, "demo-modems", store.DefaultDemoModems, "size of the demo network, with --demo")
	fs.StringVar(&c.portal, "portal", "", "self-registration page listen address, normally :80 on the server's address (empty: off); see the networks' self-registration setting")
	fs.StringVar(&c.metrics, "metrics", "", "Prometheus /metrics listen address, e.g. 10.0.0.1:9237 (empty: off); no login, so keep it on a management network")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a Go CPU profile to this file until the server stops (for performance work)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: ip6m serve [flags]

Runs every service and the web UI until interrupted (Ctrl-C or SIGTERM).
Standard ports below 1024 need root or CAP_NET_BIND_SERVICE; give a high
port (--dhcp4 :10067) or an empty value (--dns "") to run without.

Example, as a normal user:
  ip6m serve --demo --dhcp4 :10067 --dhcp6 :10547 --tftp :10069 --time :10037 --dns :10053

Flags:
`)
		fs.PrintDefaults()
	}
	return fs, c
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// service is a long-running part: Run returns after releasing its sockets.
type service struct {
	name string
	run  func(context.Context) error
}

// serveGCPercent is the server's GOGC unless the environment sets one.
const serveGCPercent = 400

func runServe(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, cfg := serveFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ip6m serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log, err := newLogger(stderr, cfg.logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "ip6m serve:", err)
		return 2
	}
	if os.Getenv("GOGC") == "" {
		// The server's live heap is small (the inventory, the DNS cache)
		// and its garbage comes fast under a reboot storm, so it collects
		// at five times the live heap, not twice. GOGC 100 -> 200 took a
		// tenth off a relayed DHCPv6 exchange (BenchmarkSARR, median of
		// 4: 45 -> 40 µs) for 99 -> 105 MB RSS with a full DNS cache
		// (100,000 entries). 200 -> 400: a DHCPv6 reboot storm
		// (dhcp6_kea.sh REBOOT=1 WINDOW=256, medians of 7, twice) 40-42
		// -> 37 µs CPU per exchange and 29-32k -> 34-36k exchanges/s, for
		// a peak RSS in that storm of 113-119 -> 140-158 MB and 114 ->
		// 134 MB with the full DNS cache (dns_compare.sh). GOGC
		// overrides.
		debug.SetGCPercent(serveGCPercent)
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "ip6m serve:", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "ip6m serve:", err)
			return 1
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log, stdout); err != nil {
		log.Error("ip6m stopped", "err", err)
		return 1
	}
	return 0
}

// serve opens the store, builds the services, runs them until ctx ends or
// one fails, and closes the store last.
func serve(ctx context.Context, cfg *serveConfig, log *slog.Logger, stdout io.Writer) error {
	start := time.Now()
	st, err := store.Open(ctx, cfg.data, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("database open", "path", st.Path(), "schema", store.SchemaVersion())

	if cfg.demo {
		res, err := st.FillDemo(ctx, store.DemoOptions{Modems: cfg.demoModems})
		switch {
		case err == nil:
			log.Info("demo network created", "cmts", res.CMTS, "modems", res.Modems, "mtas", res.MTAs, "cpes", res.CPEs, "customers", res.Customers)
		case errors.Is(err, store.ErrNotEmpty):
			log.Info("demo: the database already holds an inventory; keeping it")
		default:
			return err
		}
	}
	if err := firstRunAdmin(ctx, st, log, stdout); err != nil {
		return err
	}

	var services []service
	var shown []ui.Service // what the dashboard lists
	var preview, preview6 ui.Previewer
	var resetModem func(context.Context, string) error
	var series ui.SeriesSource
	var live *ui.Live
	var health func() map[string]ui.HealthFlag
	var upstream func(int64) ([]ui.UpstreamRow, time.Time, bool)
	var configs ui.ConfigPreviewer
	var mets metrics
	var lastFetch func(string) (ui.Fetch, bool)
	var tftpRefusals func() []ui.TFTPRefusal
	bus := events.New(0)
	feed := newEventFeed(bus, st, log)
	mets.events = feed
	portals, err := newPortalClients(ctx, st)
	if err != nil {
		return fmt.Errorf("self-registration portal: %w", err)
	}
	st.ObserveLeases(func(ops []store.LeaseOp) {
		for _, op := range ops {
			portals.observe(op)
		}
		feed.sendOps(ops)
	})
	defer st.ObserveLeases(nil)
	if cfg.dhcp4 != "" {
		d4, err := dhcp.New(ctx, dhcp.Config{Addr: cfg.dhcp4, Inventory: st, Leases: st, Logger: log, RelayPort: cfg.relayPort})
		if err != nil {
			log.Error(bindAdvice("DHCPv4", cfg.dhcp4, err))
		} else {
			services = append(services, service{"DHCPv4", d4.Run})
			d4.OnRefusal(func(r dhcp.Refusal) { feed.send(dhcpRefusalEvent("DHCPv4", r)) })
			preview = d4
			mets.dhcp4 = d4
			shown = append(shown, ui.Service{Name: "DHCPv4", Addr: d4.Addr().String(), Counters: func() []ui.Counter {
				return dhcpCounters(d4.Stats())
			}, Events: func() []ui.Event { return dhcpEvents(d4.Refusals()) }})
		}
	}
	if cfg.dhcp6 != "" {
		d6, err := dhcp.New6(ctx, dhcp.Config6{Addr: cfg.dhcp6, Inventory: st, Leases: st, Settings: st, Logger: log})
		if err != nil {
			log.Error(bindAdvice("DHCPv6", cfg.dhcp6, err))
		} else {
			services = append(services, service{"DHCPv6", d6.Run})
			d6.OnRefusal(func(r dhcp.Refusal) { feed.send(dhcpRefusalEvent("DHCPv6", r)) })
			preview6 = d6
			mets.dhcp6 = d6
			shown = append(shown, ui.Service{Name: "DHCPv6", Addr: d6.Addr().String(), Counters: func() []ui.Counter {
				return dhcpCounters(d6.Stats())
			}, Events: func() []ui.Event { return dhcpEvents(d6.Refusals()) }})
		}
	}
	if cfg.tftp != "" {
		root := filepath.Join(cfg.data, "tftp")
		if err := os.MkdirAll(root, 0o750); err != nil {
			return fmt.Errorf("TFTP folder: %w", err)
		}
		tf, err := tftp.New(tftp.Config{Addr: cfg.tftp, Root: root, Source: st, Logger: log})
		if err != nil {
			log.Error(bindAdvice("TFTP", cfg.tftp, err))
		} else {
			services = append(services, service{"TFTP", tf.Run})
			tf.OnRefusal(func(r tftp.Refusal) { feed.send(tftpRefusalEvent(r)) })
			configs = tf
			lastFetch = func(mac string) (ui.Fetch, bool) {
				f, ok := tf.LastFetch(mac)
				return ui.Fetch{At: f.Time, From: f.From.Addr().String(), Name: f.Name, Bytes: f.Bytes}, ok
			}
			tftpRefusals = func() []ui.TFTPRefusal {
				list := tf.Refusals()
				out := make([]ui.TFTPRefusal, len(list))
				for i, r := range list {
					out[i] = ui.TFTPRefusal{At: r.Time, From: r.From.Addr().String(), Name: r.Name, Reason: r.Reason, Detail: r.Detail}
				}
				return out
			}
			mets.tftp = tf
			shown = append(shown, ui.Service{Name: "TFTP", Addr: tf.Addr().String(), Counters: func() []ui.Counter {
				s := tf.Stats()
				out := []ui.Counter{{Name: "transfers", Value: int64(s.Transfers)}, {Name: "configs compiled", Value: int64(s.Compiles)},
					{Name: "cache hits", Value: int64(s.CacheHits)}, {Name: "refused", Value: int64(s.Refused)}, {Name: "errors", Value: int64(s.Errors)}}
				for _, k := range slices.Sorted(maps.Keys(s.RefusedBy)) {
					out = append(out, ui.Counter{Name: "refused: " + k, Value: int64(s.RefusedBy[k])})
				}
				return out
			}, Events: func() []ui.Event {
				var out []ui.Event
				for _, r := range tf.Refusals() {
					out = append(out, ui.Event{At: r.Time, Text: fmt.Sprintf("refused %q to %s: %s %s", r.Name, r.From.Addr(), r.Reason, r.Detail)})
				}
				return out
			}})
		}
	}
	if cfg.poll {
		db, err := tsdb.Open(filepath.Join(cfg.data, "tsdb"), tsdb.Options{})
		if err != nil {
			return fmt.Errorf("time series: %w", err)
		}
		defer db.Close()
		live = ui.NewLive()
		poller, err := snmp.New(snmp.Config{Targets: pollTargets{st}, Sink: liveSink{db, live}, Logger: log, SummaryOnly: true,
			OnModemState: func(cmts, modem string, online bool, _ time.Time) { feed.send(modemStateEvent(cmts, modem, online)) }})
		if err != nil {
			return err
		}
		services = append(services, service{"time series", db.Run}, service{"SNMP poller", poller.Run})
		resetModem = func(ctx context.Context, mac string) error { return resetByLease(ctx, st, poller, mac) }
		series = db
		mets.poller, mets.tsdb = poller, db
		health = func() map[string]ui.HealthFlag { return healthFlags(poller) }
		upstream = func(id int64) ([]ui.UpstreamRow, time.Time, bool) { return upstreamRows(poller, id) }
		shown = append(shown, ui.Service{Name: "SNMP poller", Addr: "every 10 s", Counters: func() []ui.Counter {
			st := poller.Stats()
			return []ui.Counter{{Name: "devices", Value: int64(st.Devices)}, {Name: "polls/s", Value: int64(st.PollsPerSec + 0.5)}, {Name: "backed off", Value: int64(st.BackedOff)}, {Name: "polls answered", Value: int64(st.Polls)}, {Name: "timeouts", Value: int64(st.Timeouts)},
				{Name: "late", Value: int64(st.Late)}, {Name: "in flight", Value: int64(st.InFlight)}}
		}})
	}
	if cfg.time != "" {
		ts, err := timesrv.New(timesrv.Config{Addr: cfg.time, Logger: log})
		if err != nil {
			log.Error(bindAdvice("time (RFC 868)", cfg.time, err))
		} else {
			services = append(services, service{"time (RFC 868)", ts.Run})
			mets.time = ts
			shown = append(shown, ui.Service{Name: "time (RFC 868)", Addr: ts.UDPAddr().String(), Counters: func() []ui.Counter {
				st := ts.Stats()
				return []ui.Counter{{Name: "UDP requests", Value: int64(st.UDPRequests)}, {Name: "TCP requests", Value: int64(st.TCPRequests)},
					{Name: "rate limited", Value: int64(st.RateLimited)}, {Name: "errors", Value: int64(st.Errors)}}
			}})
		}
	}
	if cfg.dns != "" {
		ups := splitList(cfg.dnsUp)
		if len(ups) == 0 {
			if ups, err = dns.ResolvConfUpstreams("/etc/resolv.conf"); err != nil {
				log.Error("DNS relay: no upstream resolver: give --dns-upstream", "err", err)
			}
		}
		if len(ups) > 0 {
			rel, err := dns.New(dns.Config{Addrs: splitList(cfg.dns), Upstreams: ups, Domain: cfg.dnsDomain, Portal: portalDNS(st, portals),
				Names: dnsInventory{st}, Networks: dnsInventory{st}, RatePerSecond: cfg.dnsRate, Logger: log})
			if err != nil {
				log.Error(bindAdvice("DNS relay", cfg.dns, err))
			} else {
				services = append(services, service{"DNS relay", rel.Run})
				mets.dns = rel
				shown = append(shown, ui.Service{Name: "DNS relay", Addr: rel.Addr().String(), Counters: func() []ui.Counter {
					st := rel.Stats()
					return []ui.Counter{{Name: "queries", Value: int64(st.Queries)}, {Name: "cache hits", Value: int64(st.CacheHits)},
						{Name: "cache misses", Value: int64(st.CacheMisses)}, {Name: "refused", Value: int64(st.Refused)}}
				}})
			}
		}
	}
	if cfg.metrics != "" {
		ms, err := newMetricsServer(cfg.metrics, &mets, log)
		if err != nil {
			log.Error(bindAdvice("Prometheus metrics", cfg.metrics, err))
		} else {
			services = append(services, service{"metrics", ms.Run})
			log.Info("Prometheus metrics listening", "addr", ms.Addr().String()+"/metrics")
		}
	}
	if cfg.httpAddr != "" || cfg.portal != "" {
		web, err := ui.New(ui.Config{Store: st, Logger: log, Addr: cfg.httpAddr, Version: version, Services: shown, DHCP4: preview, DHCP6: preview6, ResetModem: resetModem, Series: series, Live: live, Health: health, Upstream: upstream, Configs: configs, LastFetch: lastFetch, TFTPRefusals: tftpRefusals, Events: bus,
			Portal: portals.lookup})
		if err != nil {
			return err
		}
		if cfg.httpAddr != "" {
			if err := web.Listen(); err != nil {
				log.Error(bindAdvice("web UI", cfg.httpAddr, err))
			} else {
				services = append(services, service{"web UI", web.Run})
			}
		}
		if cfg.portal != "" {
			ps, err := newPortalServer(cfg.portal, web.PortalHandler(), log)
			if err != nil {
				log.Error(bindAdvice("self-registration page", cfg.portal, err))
			} else {
				services = append(services, service{"self-registration page", ps.Run})
				log.Info("self-registration page listening", "addr", ps.Addr().String())
			}
		}
	}
	if len(services) == 0 {
		return errors.New("no service could start; see the lines above")
	}
	services = append(services, service{"events", feed.Run})
	log.Info("ip6m running", "version", version, "startup", time.Since(start).Round(time.Millisecond).String())
	// The servers are made (the DHCPv6 server may have stored its DUID,
	// a change of the inventory's version): read the inventory for
	// placing events now, not on the first lease of a storm.
	feed.Load(ctx)
	return runServices(ctx, services, log)
}

// runServices runs each service in its own goroutine; the first failure
// stops the rest. It returns once all have returned, or after a bounded
// wait.
func runServices(ctx context.Context, services []service, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(services))
	for _, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.run(ctx); err != nil {
				errc <- fmt.Errorf("%s: %w", s.name, err)
				cancel()
			}
		}()
	}
	<-ctx.Done()
	log.Info("stopping")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		log.Error("some services did not stop within 10 s; exiting anyway")
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// dhcpCounters lists a DHCP server's counters for the dashboard.
func dhcpCounters(st dhcp.Stats) []ui.Counter {
	out := []ui.Counter{{Name: "received", Value: st.Received}, {Name: "replied", Value: st.Replied}, {Name: "leases committed", Value: st.LeasesCommitted},
		{Name: "refused", Value: st.Refused}, {Name: "NAKs", Value: st.NAKs}}
	for _, k := range slices.Sorted(maps.Keys(st.Drops)) {
		out = append(out, ui.Counter{Name: "dropped: " + k, Value: st.Drops[k]})
	}
	return out
}

// dhcpEvents shows a DHCP server's refused devices on the dashboard.
func dhcpEvents(list []dhcp.Refusal) []ui.Event {
	out := make([]ui.Event, 0, len(list))
	for _, r := range list {
		text := fmt.Sprintf("no lease for %s via %s: %s", r.MAC, r.Relay, r.Reason)
		if r.Count > 1 {
			text += fmt.Sprintf(" (%d times)", r.Count)
		}
		out = append(out, ui.Event{At: r.Time, Text: text})
	}
	return out
}

// bindAdvice turns a listen error into one line an operator can act on.
func bindAdvice(service, addr string, err error) string {
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return fmt.Sprintf("%s: cannot listen on %s: permission denied; run as root, grant CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep ip6m), or choose a port above 1023; the other services keep running", service, addr)
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Sprintf("%s: cannot listen on %s: the address is in use by another program (is the old server still running?); the other services keep running", service, addr)
	}
	return fmt.Sprintf("%s: cannot listen on %s: %v; the other services keep running", service, addr, err)
}

// firstRunAdmin makes sure a fresh box is never open: with no users, it
// creates "admin" with a random password and prints it once.
func firstRunAdmin(ctx context.Context, st *store.Store, log *slog.Logger, stdout io.Writer) error {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw := randomPassword()
	if err := st.CreateUser(ctx, "system", &store.User{Name: "admin", Role: store.RoleAdmin, Password: pw}); err != nil {
		return fmt.Errorf("create first admin: %w", err)
	}
	log.Info("first run: created user admin")
	fmt.Fprintf(stdout, "\n  First run: log in as  admin  with password  %s\n  It is shown only this once; change it with: ip6m user passwd admin\n\n", pw)
	return nil
}
