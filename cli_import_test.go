package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ip6m/store"
)

func importRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runImport(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestImportCLI(t *testing.T) {
	seed := filepath.Join("dhcp", "dhcpdconf", "testdata", "seed_dhcpd.conf")
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		out  string // in stdout, or stderr when code != 0
	}{
		{[]string{"-h"}, 0, "Usage: ip6m import dhcpd"},
		{nil, 2, "Usage: ip6m import dhcpd"},
		{[]string{"dhcpd", "-h"}, 0, "Usage: ip6m import dhcpd"},
		{[]string{"xml", "x"}, 2, `unknown format "xml"`},
		{[]string{"dhcpd", "--data", dir}, 2, "give one FILE (got 0)"},
		{[]string{"dhcpd", "a", "b", "--data", dir}, 2, "give one FILE (got 2)"},
		{[]string{"dhcpd", "--data", dir, "--dry-run", seed}, 0, "dry run, nothing was written"},
		{[]string{"dhcpd", seed, "--data", dir, "--plan", "Nope"}, 1, "1 error in " + seed},
		{[]string{"dhcpd", filepath.Join(dir, "missing.conf"), "--data", dir}, 1, "no such file"},
		{[]string{"dhcpd", "--data", dir, seed, "--cmts", "Headend"}, 0, "import of " + seed + ": done"},
	} {
		code, out, errs := importRun(t, tc.args...)
		got := out
		if code != 0 || tc.code == 0 && len(tc.args) > 0 && tc.args[len(tc.args)-1] == "-h" || len(tc.args) == 0 || tc.args[0] == "-h" {
			got = out + errs
		}
		if code != tc.code || !strings.Contains(got, tc.out) {
			t.Errorf("import %q: %d\n%s%s\nwant %d and %q", tc.args, code, out, errs, tc.code, tc.out)
		}
	}
	// The dry run and the refused runs wrote nothing before the real one;
	// the real one put the seed's networks on CMTS-1 (named by its class,
	// so --cmts is not needed).
	st, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.Count(context.Background())
	if err != nil || c.Modems != 6 || c.MTAs != 5 || c.Networks != 3 || c.CMTS != 1 || c.Plans != 1 {
		t.Fatalf("after import: %+v %v", c, err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
		t.Fatal(err)
	}
}

// TestImportCommand: ip6m import is in the command table.
func TestImportCommand(t *testing.T) {
	if code, _, errs := cli(t, "", "import", "-h"); code != 0 || !strings.Contains(errs, "ip6m import dhcpd") {
		t.Fatalf("ip6m import -h: %d %q", code, errs)
	}
	if code, out, _ := cli(t, "", "-h"); code != 0 || !strings.Contains(out, "import") {
		t.Fatalf("usage lacks import: %q", out)
	}
}

// TestImport6CLI: ip6m import dhcpd6 takes the v4 import's flags and prints
// the same report.
func TestImport6CLI(t *testing.T) {
	seed := filepath.Join("dhcp", "dhcpdconf", "testdata", "seed_dhcpd6.conf")
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		out  string // in stdout, or stderr when code != 0
	}{
		{[]string{"dhcpd6", "--data", dir}, 2, "ip6m import dhcpd6: give one FILE (got 0)"},
		{[]string{"dhcpd6", "--data", dir, "--dry-run", seed}, 0, "dry run, nothing was written"},
		{[]string{"dhcpd6", seed, "--data", dir, "--plan", "Nope"}, 1, "1 error in " + seed},
		{[]string{"dhcpd6", "--data", dir, seed, "--cmts", "Headend"}, 0, "import of " + seed + ": done"},
	} {
		code, out, errs := importRun(t, tc.args...)
		got := out
		if code != 0 {
			got = out + errs
		}
		if code != tc.code || !strings.Contains(got, tc.out) {
			t.Errorf("import %q: %d\n%s%s\nwant %d and %q", tc.args, code, out, errs, tc.code, tc.out)
		}
	}
	st, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.Count(context.Background())
	if err != nil || c.Modems != 3 || c.Networks != 2 || c.CMTS != 1 || c.Plans != 1 {
		t.Fatalf("after import: %+v %v", c, err)
	}
	cl, _ := st.ListCMTS(context.Background())
	if len(cl) != 1 || cl[0].Name != "Headend" {
		t.Fatalf("CMTS %+v: want the --cmts name for the file's subnet6 outside any shared-network", cl)
	}
}
