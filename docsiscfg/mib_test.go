package docsiscfg

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

func oidText(arcs []uint32) string {
	parts := make([]string, len(arcs))
	for i, a := range arcs {
		parts[i] = strconv.FormatUint(uint64(a), 10)
	}
	return strings.Join(parts, ".")
}

func TestMIBResolve(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sysContact.0", "1.3.6.1.2.1.1.4.0"},
		{"sysName", "1.3.6.1.2.1.1.5"},
		{"ifAdminStatus.5", "1.3.6.1.2.1.2.2.1.7.5"},
		{"docsDevNmAccessIp.7", "1.3.6.1.2.1.69.1.2.1.2.7"},
		{"docsDevSwAdminStatus.0", "1.3.6.1.2.1.69.1.3.3.0"},
		{"enterprises.32473.1.0", "1.3.6.1.4.1.32473.1.0"},
		{"pktcMtaDevEnabled.0", "1.3.6.1.4.1.4491.2.2.1.1.1.7.0"},
		{"pktcSigDevRgCadence.0", "1.3.6.1.2.1.169.1.1.13.0"},
		{"pktcMtaDevRealmOrgName.'AB'", "1.3.6.1.4.1.4491.2.2.1.1.3.16.1.4.65.66"},
		{`snmpCommunityName."pub"`, "1.3.6.1.6.3.18.1.1.1.2.3.112.117.98"},
		{".iso.org.dod.internet.mgmt.mib-2.system.sysContact.0", "1.3.6.1.2.1.1.4.0"},
		{".1.3.6.1.2.1", "1.3.6.1.2.1"},
		{"1.3.6.1", "1.3.6.1"},
		{"SYSCONTACT.0", "1.3.6.1.2.1.1.4.0"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			arcs, err := resolveOID(tc.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := oidText(arcs); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestMIBAmbiguousLabels: every label defined in two loaded MIB modules
// resolves to the OID the reference picks.
func TestMIBAmbiguousLabels(t *testing.T) {
	f, err := os.Open("testdata/mib-ambiguous-labels.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fields := strings.Split(line, "\t")
		label, want := fields[0], fields[1]
		node := mibLookup(label)
		if node < 0 {
			// conformance groups and compliances are not in the table
			if !strings.HasSuffix(label, "Group") && !strings.HasSuffix(label, "Compliance") && !strings.HasSuffix(label, "Groups") && !strings.HasSuffix(label, "Compliances") {
				t.Errorf("%s: not in the table", label)
			}
			continue
		}
		if got := oidText(mibArcs(node, nil)); got != want {
			t.Errorf("%s: %s, want %s", label, got, want)
		}
		n++
	}
	if n < 300 {
		t.Errorf("only %d ambiguous labels checked", n)
	}
}

func TestMIBTableSize(t *testing.T) {
	size := len(mibNodes) + len(mibNames) + len(mibLabels) + len(mibExtra)
	if size > 2<<20 {
		t.Errorf("MIB table is %d bytes, over 2 MiB", size)
	}
	if got := len(mibLabels) / mibLabelLen; got < 20000 {
		t.Errorf("only %d labels", got)
	}
}

func TestEnumLabels(t *testing.T) {
	tests := []struct {
		name string
		v    int64
		want string
	}{
		{"docsDevNmAccessStatus", 4, "createAndGo"},
		{"docsDevFilterIpBroadcast", 2, "false"},
		{"ifAdminStatus", 2, "down"},
		{"docsDevNmAccessControl", 3, "readWrite"},
		{"sysContact", 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := enumLabel(mibLookup(tc.name), tc.v); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
