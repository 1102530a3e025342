// Command snmpsim simulates thousands of DOCSIS cable modems and a CMTS on
// loopback for load runs of ip6m's SNMP poller: every modem answers on its
// own 127.x.y.z address, all on one UDP port (see package ip6m/snmp/snmpsim).
//
//	snmpsim -modems 10000 -port 16161 -dead 0.3 -multi 0.5
//
// It prints the port and the address range, then serves until SIGINT or
// SIGTERM. With -targets FILE it also writes one "key address community
// mac kind" line per device, for feeding a test inventory.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"ip6m/snmp/snmpsim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "snmpsim:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		modems    = flag.Int("modems", 1000, "number of simulated modems")
		port      = flag.Uint("port", 16161, "UDP port of every simulated device (0: any)")
		first     = flag.String("first", "127.1.0.1", "address of the first modem")
		cmtsAddr  = flag.String("cmts", "127.0.1.1", "address of the CMTS")
		noCMTS    = flag.Bool("no-cmts", false, "simulate no CMTS")
		noIF3     = flag.Bool("no-if3", false, "the CMTS has no DOCS-IF3 tables")
		community = flag.String("community", "public", "read community")
		write     = flag.String("write-community", "private", "write community")
		dead      = flag.Float64("dead", 0, "share of modems that never answer")
		slow      = flag.Float64("slow", 0, "share of modems that answer late")
		slowDelay = flag.Duration("slow-delay", 300*time.Millisecond, "delay of the slow modems")
		multi     = flag.Float64("multi", 0.3, "share of DOCSIS 3.0 modems (8x4 channels)")
		ofdm      = flag.Float64("ofdm", 0.3, "share of those with DOCSIS 3.1 OFDM/OFDMA")
		legacy    = flag.Float64("legacy", 0.1, "share of modems without 64-bit counters")
		seed      = flag.Uint64("seed", 1, "random seed of the modem profiles")
		readers   = flag.Int("readers", 2, "goroutines reading the socket")
		targets   = flag.String("targets", "", "write the device list to this file")
	)
	flag.Parse()
	fa, err := netip.ParseAddr(*first)
	if err != nil {
		return err
	}
	ca, err := netip.ParseAddr(*cmtsAddr)
	if err != nil {
		return err
	}
	sim, err := snmpsim.New(snmpsim.Config{
		Modems: *modems, Port: uint16(*port), FirstAddr: fa, CMTSAddr: ca, NoCMTS: *noCMTS, NoIF3: *noIF3,
		Community: *community, WriteCommunity: *write,
		Dead: *dead, Slow: *slow, SlowDelay: *slowDelay, MultiChannel: *multi, OFDM: *ofdm, Legacy: *legacy,
		Seed: *seed, Readers: *readers,
	})
	if err != nil {
		return err
	}
	if *targets != "" {
		if err := writeTargets(*targets, sim, *community, !*noCMTS); err != nil {
			sim.Close()
			return err
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	log.Info("serving", "modems", sim.Len(), "port", sim.Port(), "first", sim.Addr(0).Addr(), "last", sim.Addr(sim.Len()-1).Addr(), "cmts", sim.CMTSAddr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = sim.Run(ctx)
	log.Info("stopped", "requests", sim.Requests.Load())
	return err
}

func writeTargets(path string, sim *snmpsim.Sim, community string, cmts bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	for i := range sim.Len() {
		mac := sim.Profile(i).MAC
		fmt.Fprintf(f, "%s %s %s %s modem\n", mac, sim.Addr(i), community, mac)
	}
	if cmts {
		fmt.Fprintf(f, "cmts-1 %s %s - cmts\n", sim.CMTSAddr(), community)
	}
	return f.Close()
}
