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

func TestExportDHCPD6(t *testing.T) {
	f := newFixture6(t, "2001:db8:4:200::")
	var buf bytes.Buffer
	if err := ExportDHCPD6(context.Background(), f.st, &buf, "test", time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "dhcpd6.conf.golden")
	if *update {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./dhcp -run TestExportDHCPD6 -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("export differs from %s (run with -update if intended):\n%s", golden, buf.String())
	}
	for _, want := range []string{
		"option vsio.docsis code 4491 = encapsulate docsis;", "prefix6 2001:db8:4:100:: 2001:db8:4:200:: /64;",
		"fixed-address6 2001:db8:4:11:0:4432:c821:9e7;", `option docsis.configuration-file "cm/4432c82109e7.cfg";`,
		"option docsis.time-offset 3600;", "option docsis.tftp-servers 2001:db8::10;",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("export lacks %q", want)
		}
	}
	dhcpd, err := exec.LookPath("dhcpd")
	if err != nil {
		t.Skip("ISC dhcpd not installed; syntax not checked")
	}
	conf := filepath.Join(t.TempDir(), "dhcpd6.conf")
	os.WriteFile(conf, buf.Bytes(), 0o644)
	lf := filepath.Join(t.TempDir(), "dhcpd6.leases")
	os.WriteFile(lf, nil, 0o644)
	if out, err := exec.Command(dhcpd, "-t", "-6", "-cf", conf, "-lf", lf).CombinedOutput(); err != nil {
		t.Fatalf("dhcpd -6 -t rejects the export: %v\n%s", err, out)
	}
}
