package dhcp

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestExportDHCPD: the export of the test network matches its golden file,
// and Debian's ISC dhcpd accepts it (dhcpd -t) when it is installed.
func TestExportDHCPD(t *testing.T) {
	f := newFixture(t, false)
	var buf bytes.Buffer
	if err := ExportDHCPD(context.Background(), f.st, &buf, "test", time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "dhcpd.conf.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./dhcp -run TestExportDHCPD -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("export differs from %s (run with -update if intended):\n%s", golden, buf.String())
	}
	for _, want := range []string{
		`subclass "cpe-plan-`, `lease limit 2;`, `host cm-4432c82109e7`, `filename "cm/4432c82109e7.cfg";`,
		`fixed-address 127.10.0.50;`, `deny booting;`, `filename "mta/4432c82109e8.bin";`, `shared-network "CMTS-1"`,
		`option packetcable.kerberos-realm-name 05:42:41:53:49:43:01:31:00;`, `range 127.64.0.10 127.64.0.20;`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("export lacks %q", want)
		}
	}
	dhcpd, err := exec.LookPath("dhcpd")
	if err != nil {
		t.Skip("ISC dhcpd not installed (apt-get install isc-dhcp-server); syntax not checked")
	}
	conf := filepath.Join(t.TempDir(), "dhcpd.conf")
	os.WriteFile(conf, buf.Bytes(), 0o644)
	lf := filepath.Join(t.TempDir(), "dhcpd.leases")
	os.WriteFile(lf, nil, 0o644)
	if out, err := exec.Command(dhcpd, "-t", "-4", "-cf", conf, "-lf", lf).CombinedOutput(); err != nil {
		t.Fatalf("dhcpd -t rejects the export: %v\n%s", err, out)
	}
}
