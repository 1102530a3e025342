package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ip6m/snmp/snmpsim"
)

func TestWriteTargets(t *testing.T) {
	sim, err := snmpsim.New(snmpsim.Config{Modems: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	path := filepath.Join(t.TempDir(), "targets")
	if err := writeTargets(path, sim, "public", true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 || !strings.HasSuffix(lines[0], " modem") || !strings.HasPrefix(lines[3], "cmts-1 127.0.1.1:") {
		t.Errorf("targets:\n%s", b)
	}
	if f := strings.Fields(lines[1]); len(f) != 5 || f[1] != sim.Addr(1).String() {
		t.Errorf("line %q, want the address %s", lines[1], sim.Addr(1))
	}
}
