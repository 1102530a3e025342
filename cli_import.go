package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"ip6m/dhcp/dhcpdconf"
	"ip6m/store"
)

const importHelp = `Usage: ip6m import dhcpd|dhcpd6 [--data DIR] [--dry-run] [--cmts NAME] [--plan NAME] FILE
       ip6m import csv [--data DIR] [--dry-run] FILE   (modems: see ip6m import csv --help)

dhcpd reads an ISC dhcpd.conf (DHCPv4, with its include files) into the inventory:
subnets and pools become networks with their ranges and options, hosts become
modems, MTAs and CPEs, class rules keyed by the relay's remote-id name the
known modems and their MTAs, shared-networks and remote-id classes name the
CMTSes, and next-server, server-identifier and the PacketCable option 122
values become settings. The whole file is checked first: if anything is wrong,
nothing is written and every problem is listed with its file and line.
What has no equivalent in ip6m is reported, line by line.

dhcpd6 reads an ISC dhcpd6.conf the same way: subnet6 with range6 and prefix6
become v6 networks (their CableLabs docsis.*/vsio options, by code, their time
and syslog servers and time offset), shared-networks name the CMTSes, hosts
(by hardware ethernet, or a DUID-LL/LLT host-identifier option
dhcp6.client-id) become modems, a fixed-address6 other than the one ip6m
derives from the MAC becomes the modem's IPv6 address, and the CableLabs TFTP
server becomes server.ipv6. fixed-prefix6 and other statements without an
equivalent are reported.

Flags:
  --data DIR    data folder (default ./ip6m-data)
  --dry-run     check and report, write nothing
  --cmts NAME   CMTS for networks the file does not place (default CMTS-1;
                created if missing)
  --plan NAME   an existing plan for every imported modem (default: create
                "Imported from dhcpd.conf", network access only, with the
                file's CPE lease limit)
`

func runImport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, importHelp)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "csv" {
		return runImportCSV(args[1:], stdin, stdout, stderr)
	}
	imports := map[string]func(context.Context, *store.Store, string, dhcpdconf.Options) (dhcpdconf.Report, error){
		"dhcpd": dhcpdconf.Import, "dhcpd6": dhcpdconf.Import6,
	}
	format := args[0]
	importFile := imports[format]
	if importFile == nil {
		fmt.Fprintf(stderr, "ip6m import: unknown format %q (known: dhcpd, dhcpd6, csv)\n\n%s", format, importHelp)
		return 2
	}
	fs := flag.NewFlagSet("import "+format, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importHelp) }
	data := fs.String("data", "./ip6m-data", "data folder")
	dry := fs.Bool("dry-run", false, "check and report, write nothing")
	cmts := fs.String("cmts", "CMTS-1", "CMTS for networks the file does not place")
	plan := fs.String("plan", "", "an existing plan for every imported modem")
	// FILE may stand before, between or after the flags.
	files, code, ok := parseFlagsAndFiles(fs, args[1:])
	if !ok {
		return code
	}
	if len(files) != 1 {
		fmt.Fprintf(stderr, "ip6m import %s: give one FILE (got %d)\n\n%s", format, len(files), importHelp)
		return 2
	}
	ctx := context.Background()
	st, err := store.Open(ctx, *data, store.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "ip6m import:", err)
		return 1
	}
	defer st.Close()
	start := time.Now()
	rep, err := importFile(ctx, st, files[0], dhcpdconf.Options{DryRun: *dry, CMTS: *cmts, Plan: *plan, Actor: "ip6m import"})
	if rep.File != "" {
		io.WriteString(stdout, rep.String())
	}
	if err != nil {
		if errors.Is(err, dhcpdconf.ErrInvalid) {
			fmt.Fprintf(stderr, "ip6m import: %v; nothing was written (see the report)\n", err)
		} else {
			fmt.Fprintln(stderr, "ip6m import:", err)
		}
		return 1
	}
	fmt.Fprintf(stdout, "\n(%s, database %s)\n", time.Since(start).Round(time.Millisecond), st.Path())
	return 0
}
