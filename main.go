// Command ip6m provisions and watches a DOCSIS cable network from one
// binary: DHCPv4/v6, TFTP with configs built per request, RFC 868 time, a
// DNS relay, SNMP polling into its own time-series store, and a web UI.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

// command is one subcommand: ip6m NAME ARGS…
type command struct {
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"serve":   {"run every service and the web UI", runServe},
		"demo":    {"fill a data folder with a demo network", runDemo},
		"user":    {"add users, set passwords, list users", runUser},
		"backup":  {"write a consistent copy of the database", runBackup},
		"export":  {"write the inventory as an ISC dhcpd.conf or dhcpd6.conf", runExport},
		"import":  {"read an ISC dhcpd.conf into the inventory", runImport},
		"docsis":  {"compile and decode DOCSIS/PacketCable configs (a drop-in for the docsis tool)", runDocsis},
		"version": {"print the version", runVersion},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ip6m: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	return c.run(args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("ip6m provisions and watches a DOCSIS cable network.\n\nUsage: ip6m COMMAND [flags]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-9s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nStart here:  ip6m serve --demo   (then open http://localhost:8080)\n")
	b.WriteString("Help on one command:  ip6m COMMAND -h\n")
	io.WriteString(w, b.String())
}
