package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"ip6m/dhcp"
	"ip6m/store"
)

func runExport(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	help := `Usage: ip6m export dhcpd|dhcpd6|csv [--data DIR] [FILE]

dhcpd   writes an ISC dhcpd.conf equivalent to the inventory (classes, shared
        networks and subnets, pools, hosts, the PacketCable option 122 space)
dhcpd6  writes the ISC dhcpd6.conf equivalent (the CableLabs option space,
        subnet6 with range6 and prefix6, hosts with fixed-address6 and
        docsis.configuration-file), as the original IP6M generated them.
csv     writes every modem (mac, serial, vendor, model, customer, plan, cmts,
        fixed_ipv4, ipv6, enabled, notes): the file ip6m import csv reads.

FILE defaults to standard output; an existing FILE is replaced atomically.
`
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, help)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	what := args[0]
	export := map[string]func(context.Context, dhcp.ExportSource, io.Writer, string, time.Time) error{
		"dhcpd": dhcp.ExportDHCPD, "dhcpd6": dhcp.ExportDHCPD6, "csv": exportModemsCSV,
	}[what]
	if export == nil {
		fmt.Fprintf(stderr, "ip6m export: unknown format %q (known: dhcpd, dhcpd6, csv)\n\n%s", what, help)
		return 2
	}
	fs := flag.NewFlagSet("export "+what, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, help) }
	data := fs.String("data", "./ip6m-data", "data folder")
	rest := args[1:]
	var file string
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		file, rest = rest[0], rest[1:]
	}
	if code, ok := parseFlags(fs, rest); !ok {
		return code
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, *data, store.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "ip6m export:", err)
		return 1
	}
	defer st.Close()
	if file == "" || file == "-" {
		if err := export(ctx, st, stdout, version, time.Now()); err != nil {
			fmt.Fprintln(stderr, "ip6m export:", err)
			return 1
		}
		return 0
	}
	if err := writeFileAtomic(file, func(w io.Writer) error { return export(ctx, st, w, version, time.Now()) }); err != nil {
		fmt.Fprintln(stderr, "ip6m export:", err)
		return 1
	}
	return 0
}

// writeFileAtomic writes path through a temporary file, synced and renamed,
// so a reader never sees half a file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
