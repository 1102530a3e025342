package dhcpdconf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bigConf is a dhcpd.conf with n modem host blocks (every fourth with an
// MTA host, every other one in a CPE subclass), as a large headend has;
// with fixed, every modem has a fixed address.
func bigConf(n int, fixed bool) string {
	var b strings.Builder
	b.WriteString(`server-identifier 10.0.0.10;
next-server 10.0.0.10;
class "cpe" { match option agent.remote-id; lease limit 4; }
shared-network "CMTS-1" {
	subnet 10.10.0.0 netmask 255.255.0.0 {
		option routers 10.10.0.1;
		pool { deny unknown-clients; range 10.10.200.1 10.10.200.250; }
	}
	subnet 10.11.0.0 netmask 255.255.0.0 {
		option routers 10.11.0.1;
		pool { allow members of "pktc-mta"; range 10.11.200.1 10.11.200.250; }
	}
	subnet 100.64.0.0 netmask 255.255.0.0 {
		option routers 100.64.0.1;
		pool { allow members of "cpe"; range 100.64.0.10 100.64.255.250; }
	}
}
subnet 10.0.0.0 netmask 255.255.255.0 { }
`)
	for i := range n {
		mac := fmt.Sprintf("00:00:ca:%02x:%02x:%02x", i>>14&0xff, i>>6&0xff, i<<2&0xff)
		fa := ""
		if fixed {
			fa = fmt.Sprintf("\tfixed-address 10.10.%d.%d;\n", 1+i/250, 1+i%250)
		}
		fmt.Fprintf(&b, "host cm-%d {\n\thardware ethernet %s;\n%s\tfilename \"cm/cm-%d.cfg\";\n}\n", i, mac, fa, i)
		if i%4 == 0 {
			mta := fmt.Sprintf("00:00:ca:%02x:%02x:%02x", i>>14&0xff, i>>6&0xff, i<<2&0xff|1)
			fmt.Fprintf(&b, "host mta-%d { hardware ethernet %s; filename \"mta/mta-%d.bin\"; }\n", i, mta, i)
		}
		if i%2 == 0 {
			fmt.Fprintf(&b, "subclass \"cpe\" %s;\n", mac)
		}
	}
	return b.String()
}

// BenchmarkParse20000Hosts parses a file of 20,000 modem hosts (and 5,000
// MTA hosts).
func BenchmarkParse20000Hosts(b *testing.B) {
	src := []byte(bigConf(20000, true))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Parse("big.conf", src, ParseOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImportDryRun20000Hosts parses, maps and checks the file against
// an empty store: everything but the writes.
func BenchmarkImportDryRun20000Hosts(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.conf")
	if err := os.WriteFile(path, []byte(bigConf(20000, true)), 0o644); err != nil {
		b.Fatal(err)
	}
	st := openStore(b)
	for b.Loop() {
		rep, err := Import(context.Background(), st, path, Options{DryRun: true})
		if err != nil || rep.Created.Modems != 20000 || rep.Created.MTAs != 5000 {
			b.Fatalf("%v %+v", err, rep.Created)
		}
	}
}

// TestImport20000Hosts writes a 20,000-host file into a store and logs how
// long each part takes. The writes go through the store's Create* calls,
// one durable transaction each; set IP6M_BIG_IMPORT=1 to run it (about a
// minute on the 2-core test machine).
func TestImport20000Hosts(t *testing.T) {
	if os.Getenv("IP6M_BIG_IMPORT") == "" {
		t.Skip("set IP6M_BIG_IMPORT=1 to import 20,000 hosts into a store")
	}
	for _, fixed := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "big.conf")
		if err := os.WriteFile(path, []byte(bigConf(20000, fixed)), 0o644); err != nil {
			t.Fatal(err)
		}
		st := openStore(t)
		start := time.Now()
		rep, err := Import(context.Background(), st, path, Options{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		dry := time.Since(start)
		start = time.Now()
		rep, err = Import(context.Background(), st, path, Options{})
		if err != nil || rep.Created.Modems != 20000 || rep.Created.MTAs != 5000 {
			t.Fatalf("%v %+v", err, rep.Created)
		}
		t.Logf("20,000 modems (fixed addresses: %v) + 5,000 MTAs: parse+map+check %s, full import %s", fixed, dry, time.Since(start))
	}
}
