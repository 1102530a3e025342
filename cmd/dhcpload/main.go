// Command dhcpload is a DHCPv4 load generator that plays a DOCSIS CMTS relay
// agent. It sends relayed traffic (giaddr = the relay address, hops 1,
// option 82 with circuit-id "cable1/0/0:U" and remote-id = the modem MAC,
// option 60 "docsis3.0:…" for CMs and "pktc1.5:…" for MTAs, option 61) to a
// DHCPv4 server, and each simulated device does a full DORA: DISCOVER →
// OFFER → REQUEST (selecting: server-id and requested IP from the offer) →
// ACK. It reports completed exchanges per second, DISCOVER→ACK latency
// percentiles, drops, timeouts, NAKs and unexpected replies, and with
// --server-pid the server's CPU time per exchange, so ip6m and Kea can be
// compared on the same box. That time is read once the server's CPU time
// has stopped growing after the run (at most 3 s later), so work a server
// does after its replies (ip6m's database writes) counts too.
//
// # Replies and the relay port
//
// A server answers a relayed request by sending to giaddr, UDP port 67
// (RFC 2131 4.1), so dhcpload listens on --giaddr, port --relay-port. The
// server side of this has three forms:
//
//   - ip6m under test: `ip6m serve --dhcp-relay-port N` sets the port its
//     relay replies go to; use the same N for --relay-port (default 10067)
//     and no root is needed.
//   - Kea 2.2 and ISC dhcpd send to giaddr:67, whatever port they listen
//     on (Kea's -p moves only its listening port; measured: a Kea on
//     -p 10067 still answers 127.0.0.2:67). So bind 67 as root
//     (--relay-port 67), or run both in a network namespace you made.
//   - --rfc8357 adds the relay source port sub-option (82.19, RFC 8357);
//     Kea 2.2 honours it and answers to the port the relay sent from, so
//     any --relay-port works without root (measured with Kea 2.2.0). ip6m
//     may or may not implement it; without it replies go to giaddr:67.
//
// On loopback, give the relay its own address (127.0.0.2; all of 127/8
// reaches lo on Linux) so it does not collide with the server's socket.
//
// # Typical runs
//
// ip6m's demo network (and any real inventory) knows its relays by their
// CMTS addresses, such as 10.10.0.1 for CMTS-1, so the relay must send from
// such an address and receive there. Do that in a network namespace made
// for the test, with the address on its loopback interface: nothing leaves
// the namespace. ip6m and Kea can then be measured side by side on the same
// modems (as root, files under /tmp):
//
//	unshare -n sh -c '
//	  ip link set lo up; ip addr add 10.10.0.1/32 dev lo
//	  ip6m serve --data /tmp/ip6m --demo --demo-modems 10000 --http 127.0.0.1:18080 \
//	      --dhcp4 127.0.0.1:10067 --dhcp-relay-port 10067 --dhcp6 "" --tftp "" --time "" --dns "" --poll=false &
//	  IP6M=$!; sleep 2
//	  dhcpload --db /tmp/ip6m --server 127.0.0.1:10067 --giaddr 10.10.0.1 --relay-port 10067 \
//	      --server-pid $IP6M -n 50000 --duration 20s --window 32
//	  kill $IP6M
//
//	  dhcpload --db /tmp/ip6m --giaddr 10.10.0.1 --kea-config /tmp/kea/kea-dhcp4.json \
//	      --kea-reserve --kea-interface lo/127.0.0.1
//	  KEA_PIDFILE_DIR=/tmp/kea KEA_LOCKFILE_DIR=/tmp/kea kea-dhcp4 -c /tmp/kea/kea-dhcp4.json &
//	  KEA=$!; sleep 2
//	  dhcpload --db /tmp/ip6m --server 127.0.0.1:67 --giaddr 10.10.0.1 --relay-port 67 \
//	      --server-pid $KEA -n 50000 --duration 20s --window 32
//	  kill $KEA'
//
// (--kea-interface lo/127.0.0.1 keeps Kea off 10.10.0.1:67, which the relay
// binds.) Without a namespace, on 127.0.0.0/8 alone: --giaddr 127.0.0.2 and a
// server whose inventory has a relay at 127.0.0.2, or Kea with
// "relay": {"ip-addresses": ["127.0.0.2"]}, which --kea-config writes.
//
// The window matters against a single-threaded server: with 256 requests in
// flight a burst can overflow the server's socket buffer (212 KiB by
// default); each lost packet waits out --timeout. Against Kea 2.2 on the
// 2-core test box, windows of 16 to 64 gave its best rate with no drops,
// 256 dropped 0.5 % and timed out some exchanges. Compare servers with the
// same window.
//
// # Crash test
//
// --acks FILE lists every lease ACKed during the run (client MAC, address,
// kind, modem MAC). Kill the server with SIGKILL in the middle of a run, let
// dhcpload finish (--duration bounds it), restart the server and check that
// every line of FILE is in its database. Against Kea 2.2 (memfile), 22,409
// leases ACKed before a kill -9 were all in its lease file afterwards.
//
// # DHCPv6
//
// --v6 plays a CMTS as a DHCPv6 relay agent instead: Relay-Forward
// Solicit → Advertise → Request → Reply per exchange, cable modems with
// IA_NA and the CableLabs vendor options, eRouters (--cpe) with IA_NA and
// IA_PD (see relay6.go). --kea6-config writes the Kea 2.2 kea-dhcp6
// configuration for the same population. .ci/bench/dhcp6_kea.sh runs ip6m
// and Kea side by side on ::1 and prints the medians.
//
// Every run is bounded by -n (exchanges) and -duration (wall time). The
// server and relay addresses must be on a loopback interface (127/8, or an
// address added to lo in a test namespace) unless --allow-remote is given.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	server      string
	giaddr      string
	relayPort   uint
	rfc8357     bool
	allowRemote bool

	pop    PopulationSpec
	oui    string
	random int

	count    int
	duration time.Duration
	window   int
	rate     float64
	timeout  time.Duration
	retries  int
	mta, cpe int

	serverPID  int
	acksFile   string
	json       bool
	verbose    bool
	cpuProfile string

	keaConfig    string
	keaLeases    string
	keaSubnet    string
	keaReserve   bool
	keaThreads   int
	keaInterface string
	keaLifetime  int

	v6         bool
	server6    string
	relay6     string
	link       string
	kea6Config string
	kea6Leases string
	kea6Subnet string
	kea6Server string
	kea6Iface  string
}

func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("dhcpload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: dhcpload [flags]  (one of --macs, --random, --db is required)\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.server, "server", "127.0.0.1:10067", "DHCPv4 server `address:port` the relayed requests go to")
	fs.StringVar(&o.giaddr, "giaddr", "127.0.0.2", "relay (CMTS) `address`: giaddr of every request, and the address bound for replies")
	fs.UintVar(&o.relayPort, "relay-port", 10067, "UDP `port` bound on giaddr, where the server sends relay replies (Kea/ISC: 67, needs root; see --rfc8357)")
	fs.BoolVar(&o.rfc8357, "rfc8357", false, "add the relay source port sub-option (82.19): the server answers to the relay's source port instead of 67")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow server and relay addresses that are not on a loopback interface (a real lab network; never on a shared machine)")

	fs.StringVar(&o.pop.MACFile, "macs", "", "`file` of modem MACs, one per line, any notation")
	fs.IntVar(&o.random, "random", 0, "`N` random modem MACs under --oui (same --seed, same MACs)")
	fs.StringVar(&o.oui, "oui", "00:00:ca", "OUI of the --random MACs")
	fs.StringVar(&o.pop.DBDir, "db", "", "ip6m data `folder`: the enabled modems of DIR/ip6m.db (read-only)")
	fs.Uint64Var(&o.pop.Seed, "seed", 1, "seed of the random MACs, the device mix and the xids")

	fs.IntVar(&o.count, "n", 0, "exchanges to run, full DORA each (default: one per modem)")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "hard time limit of the run")
	fs.IntVar(&o.window, "window", 64, "exchanges in flight at once (see the package doc on server socket buffers)")
	fs.Float64Var(&o.rate, "rate", 0, "exchanges started per second (0: as fast as the window allows)")
	fs.DurationVar(&o.timeout, "timeout", time.Second, "wait for a reply before retransmitting")
	fs.IntVar(&o.retries, "retries", 2, "retransmissions per packet before an exchange counts as timed out")
	fs.IntVar(&o.mta, "mta", 0, "`percent` of exchanges made by MTAs (modem MAC+1, option 60 pktc1.5)")
	fs.IntVar(&o.cpe, "cpe", 0, "`percent` of exchanges made by CPEs behind the modems (modem MAC+2, remote-id = modem)")

	fs.IntVar(&o.serverPID, "server-pid", 0, "server `pid`: report its CPU time per exchange from /proc/PID/stat (read once it settles after the run)")
	fs.BoolVar(&o.json, "json", false, "print the result as JSON")
	fs.StringVar(&o.acksFile, "acks", "", "write every ACKed lease to `file` (client MAC, address, kind, modem MAC per line), e.g. for a crash test")
	fs.BoolVar(&o.verbose, "v", false, "log odd packets (debug) to stderr")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of dhcpload itself to `file`")

	fs.StringVar(&o.keaConfig, "kea-config", "", "write a Kea 2.2 kea-dhcp4 config for the population to `file` and exit")
	fs.StringVar(&o.keaLeases, "kea-leases", "", "Kea memfile lease `file` (default: kea-leases4.csv beside --kea-config)")
	fs.StringVar(&o.keaSubnet, "kea-subnet", "10.64.0.0/12", "Kea subnet `prefix`: reservations in the lower half, pool in the upper")
	fs.BoolVar(&o.keaReserve, "kea-reserve", false, "reserve a fixed address (by hw-address) for every modem")
	fs.IntVar(&o.keaThreads, "kea-threads", 0, "Kea multi-threading pool size (0: off, Kea 2.2's default)")
	fs.StringVar(&o.keaInterface, "kea-interface", "lo", "interface Kea listens on; lo/127.0.0.1 for one address only")
	fs.IntVar(&o.keaLifetime, "kea-lifetime", 3600, "Kea valid-lifetime in `seconds`")

	fs.BoolVar(&o.v6, "v6", false, "DHCPv6: Relay-Forward Solicit/Request (SARR) instead of DHCPv4 DORA (--cpe: eRouters with IA_NA and IA_PD)")
	fs.StringVar(&o.server6, "server6", "[::1]:10547", "DHCPv6 server `[address]:port` the Relay-Forwards go to")
	fs.StringVar(&o.relay6, "relay6", "[::1]:0", "relay `[address]:port` dhcpload binds (option 135 asks the server to answer to it)")
	fs.StringVar(&o.link, "link", "2001:db8:4:11::1", "link-address of the Relay-Forwards: an `address` in the modems' prefix")
	fs.StringVar(&o.kea6Config, "kea6-config", "", "write a Kea 2.2 kea-dhcp6 config for the population to `file` and exit")
	fs.StringVar(&o.kea6Leases, "kea6-leases", "", "Kea memfile lease `file` (default: kea-leases6.csv beside --kea6-config)")
	fs.StringVar(&o.kea6Subnet, "kea6-subnet", "2001:db8:4:11::/64", "Kea subnet6 `prefix` (holds --link): reservations derived from the MACs, as ip6m's")
	fs.StringVar(&o.kea6Server, "kea6-server", "2001:db8::10", "headend `address` Kea names as TFTP, time, syslog and DNS server")
	fs.StringVar(&o.kea6Iface, "kea6-interface", "lo/::1", "interface (and unicast address) Kea listens on")
	return fs
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dhcpload: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runLoad(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "dhcpload: %v\n", err)
		return 1
	}
	return 0
}

func runLoad(ctx context.Context, o options, stdout, stderr io.Writer) error {
	var err error
	if o.pop.OUI, err = parseOUI(o.oui); err != nil {
		return err
	}
	o.pop.Random = o.random
	modems, err := loadPopulation(ctx, o.pop)
	if err != nil {
		return err
	}
	giaddr, err := netip.ParseAddr(o.giaddr)
	if err != nil {
		return fmt.Errorf("--giaddr: %w", err)
	}
	if o.keaConfig != "" {
		return writeKea(o, giaddr, modems, stderr)
	}
	if o.kea6Config != "" {
		return writeKea6(o, modems, stderr)
	}
	if o.v6 {
		return runLoad6(ctx, o, modems, stdout, stderr)
	}

	server, err := netip.ParseAddrPort(o.server)
	if err != nil {
		return fmt.Errorf("--server: %w", err)
	}
	if o.relayPort > 65535 {
		return fmt.Errorf("--relay-port %d: out of range", o.relayPort)
	}
	if !o.allowRemote {
		for _, a := range []netip.Addr{server.Addr(), giaddr} {
			if !onLoopback(a) {
				return fmt.Errorf("%v is not a loopback address (127/8, or one added to lo in a network namespace): dhcpload sends load only within this machine unless --allow-remote is given", a)
			}
		}
	}
	count := o.count
	if count == 0 {
		count = len(modems)
	}
	logLevel := slog.LevelInfo
	if o.verbose {
		logLevel = slog.LevelDebug
	}
	cfg := Config{
		Server:     server,
		Giaddr:     giaddr,
		RelayPort:  uint16(o.relayPort),
		RFC8357:    o.rfc8357,
		Modems:     modems,
		Count:      count,
		Duration:   o.duration,
		Window:     o.window,
		Rate:       o.rate,
		Timeout:    o.timeout,
		Retries:    o.retries,
		MTAPercent: o.mta,
		CPEPercent: o.cpe,
		Seed:       o.pop.Seed,
		ServerPID:  o.serverPID,
		RecordACKs: o.acksFile != "",
		Log:        slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel})).With("component", "dhcpload"),
	}
	relay, err := NewRelay(cfg)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := relay.Run(ctx)
	if err != nil {
		return err
	}
	if o.acksFile != "" {
		if err := writeACKsFile(o.acksFile, res.ACKed); err != nil {
			return err
		}
	}
	if o.json {
		return res.writeJSON(stdout)
	}
	return res.writeText(stdout)
}

func writeKea(o options, giaddr netip.Addr, modems []MAC, stderr io.Writer) error {
	subnet, err := netip.ParsePrefix(o.keaSubnet)
	if err != nil {
		return fmt.Errorf("--kea-subnet: %w", err)
	}
	path, err := filepath.Abs(o.keaConfig)
	if err != nil {
		return err
	}
	leases := o.keaLeases
	if leases == "" {
		leases = filepath.Join(filepath.Dir(path), "kea-leases4.csv")
	}
	if leases, err = filepath.Abs(leases); err != nil {
		return err
	}
	err = writeKeaConfig(path, modems, KeaOptions{
		Giaddr:    giaddr,
		Subnet:    subnet,
		LeaseFile: leases,
		Interface: o.keaInterface,
		Reserve:   o.keaReserve,
		Threads:   o.keaThreads,
		Lifetime:  o.keaLifetime,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "dhcpload: wrote %s (%d modems, leases in %s)\n", path, len(modems), leases)
	return nil
}

// onLoopback reports whether packets to a stay on this machine: a is in
// 127/8 or ::1, or is assigned to a loopback interface (as 10.10.0.1 is
// after `ip addr add 10.10.0.1/32 dev lo` in a network namespace made for
// the test, so a relay can have a CMTS address the server knows).
func onLoopback(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagLoopback == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, ad := range addrs {
			if ipn, ok := ad.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Unmap() == a.Unmap() {
					return true
				}
			}
		}
	}
	return false
}

func writeACKsFile(path string, leases []Lease) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeACKs(f, leases); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeKea6(o options, modems []MAC, stderr io.Writer) error {
	subnet, err := netip.ParsePrefix(o.kea6Subnet)
	if err != nil {
		return fmt.Errorf("--kea6-subnet: %w", err)
	}
	server, err := netip.ParseAddr(o.kea6Server)
	if err != nil {
		return fmt.Errorf("--kea6-server: %w", err)
	}
	path, err := filepath.Abs(o.kea6Config)
	if err != nil {
		return err
	}
	leases := o.kea6Leases
	if leases == "" {
		leases = filepath.Join(filepath.Dir(path), "kea-leases6.csv")
	}
	if leases, err = filepath.Abs(leases); err != nil {
		return err
	}
	err = writeKea6Config(path, modems, Kea6Options{Subnet: subnet, Server: server, LeaseFile: leases, Interface: o.kea6Iface,
		Lifetime: o.keaLifetime, Threads: o.keaThreads})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "dhcpload: wrote %s (%d modems, leases in %s)\n", path, len(modems), leases)
	return nil
}

func runLoad6(ctx context.Context, o options, modems []MAC, stdout, stderr io.Writer) error {
	server, err := netip.ParseAddrPort(o.server6)
	if err != nil {
		return fmt.Errorf("--server6: %w", err)
	}
	bind, err := netip.ParseAddrPort(o.relay6)
	if err != nil {
		return fmt.Errorf("--relay6: %w", err)
	}
	link, err := netip.ParseAddr(o.link)
	if err != nil {
		return fmt.Errorf("--link: %w", err)
	}
	if !o.allowRemote {
		for _, a := range []netip.Addr{server.Addr(), bind.Addr()} {
			if !onLoopback(a) {
				return fmt.Errorf("%v is not a loopback address (::1, or one added to lo in a network namespace): dhcpload sends load only within this machine unless --allow-remote is given", a)
			}
		}
	}
	count := o.count
	if count == 0 {
		count = len(modems)
	}
	logLevel := slog.LevelInfo
	if o.verbose {
		logLevel = slog.LevelDebug
	}
	relay, err := NewRelay6(Config6{Server: server, Bind: bind, Link: link, Modems: modems, Count: count, Duration: o.duration,
		Window: o.window, Timeout: o.timeout, Retries: o.retries, CPEPercent: o.cpe, Seed: o.pop.Seed, ServerPID: o.serverPID,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel})).With("component", "dhcpload")})
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := relay.Run(ctx)
	if err != nil {
		return err
	}
	if o.json {
		return res.writeJSON(stdout)
	}
	return res.writeText(stdout)
}
