package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeaConfig(t *testing.T) {
	modems := testModems(t, 100)
	tests := []struct {
		name    string
		opt     KeaOptions
		modems  []MAC
		wantErr string
	}{
		{name: "reservations", opt: KeaOptions{Subnet: netip.MustParsePrefix("10.64.0.0/16"), Reserve: true}, modems: modems},
		{name: "pool only, threads", opt: KeaOptions{Subnet: netip.MustParsePrefix("10.64.0.0/16"), Threads: 2}, modems: modems},
		{name: "subnet too small", opt: KeaOptions{Subnet: netip.MustParsePrefix("10.64.0.0/24"), Reserve: true}, modems: testModems(t, 127), wantErr: "larger --kea-subnet"},
		{name: "IPv6 subnet", opt: KeaOptions{Subnet: netip.MustParsePrefix("2001:db8::/64")}, modems: modems, wantErr: "IPv4 prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "kea-dhcp4.json")
			opt := tt.opt
			opt.Giaddr = netip.MustParseAddr("127.0.0.2")
			opt.LeaseFile = filepath.Join(dir, "leases4.csv")
			opt.Interface = "lo"
			opt.Lifetime = 3600
			err := writeKeaConfig(path, tt.modems, opt)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("failed write left %v", entries)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Parse it back generically, as Kea would see the keys.
			var cfg struct {
				Dhcp4 struct {
					InterfacesConfig struct {
						Interfaces     []string `json:"interfaces"`
						DHCPSocketType string   `json:"dhcp-socket-type"`
					} `json:"interfaces-config"`
					LeaseDatabase  map[string]any `json:"lease-database"`
					MultiThreading map[string]any `json:"multi-threading"`
					Subnet4        []struct {
						ID     int    `json:"id"`
						Subnet string `json:"subnet"`
						Relay  struct {
							IPAddresses []string `json:"ip-addresses"`
						} `json:"relay"`
						Pools []struct {
							Pool string `json:"pool"`
						} `json:"pools"`
						Reservations []struct {
							HWAddress string `json:"hw-address"`
							IPAddress string `json:"ip-address"`
						} `json:"reservations"`
					} `json:"subnet4"`
				} `json:"Dhcp4"`
			}
			dec := json.NewDecoder(strings.NewReader(string(b)))
			if err := dec.Decode(&cfg); err != nil {
				t.Fatalf("config is not JSON: %v", err)
			}
			d := cfg.Dhcp4
			if d.InterfacesConfig.DHCPSocketType != "udp" || len(d.InterfacesConfig.Interfaces) != 1 || d.InterfacesConfig.Interfaces[0] != "lo" {
				t.Errorf("interfaces-config %+v", d.InterfacesConfig)
			}
			if d.LeaseDatabase["type"] != "memfile" || d.LeaseDatabase["persist"] != true || d.LeaseDatabase["name"] != opt.LeaseFile {
				t.Errorf("lease-database %v", d.LeaseDatabase)
			}
			if d.MultiThreading["enable-multi-threading"] != (opt.Threads > 0) {
				t.Errorf("multi-threading %v", d.MultiThreading)
			}
			if len(d.Subnet4) != 1 {
				t.Fatalf("%d subnets", len(d.Subnet4))
			}
			s := d.Subnet4[0]
			if s.Subnet != "10.64.0.0/16" || len(s.Relay.IPAddresses) != 1 || s.Relay.IPAddresses[0] != "127.0.0.2" {
				t.Errorf("subnet %q relay %v", s.Subnet, s.Relay.IPAddresses)
			}
			if len(s.Pools) != 1 || s.Pools[0].Pool != "10.64.128.0 - 10.64.255.254" {
				t.Errorf("pools %+v", s.Pools)
			}
			if !opt.Reserve {
				if len(s.Reservations) != 0 {
					t.Errorf("%d reservations without --kea-reserve", len(s.Reservations))
				}
				return
			}
			if len(s.Reservations) != len(tt.modems) {
				t.Fatalf("%d reservations for %d modems", len(s.Reservations), len(tt.modems))
			}
			pool := netip.MustParseAddr("10.64.128.0")
			seenIP := map[string]bool{}
			for i, r := range s.Reservations {
				if r.HWAddress != tt.modems[i].String() {
					t.Errorf("reservation %d: hw-address %q, want %q", i, r.HWAddress, tt.modems[i])
				}
				ip, err := netip.ParseAddr(r.IPAddress)
				if err != nil || !netip.MustParsePrefix(s.Subnet).Contains(ip) || !ip.Less(pool) || seenIP[r.IPAddress] {
					t.Errorf("reservation %d: ip-address %q is not a unique address below the pool", i, r.IPAddress)
				}
				seenIP[r.IPAddress] = true
			}
		})
	}
}

// TestKeaAcceptsConfig has kea-dhcp4 itself check the written config
// (-t: parse and validate, no sockets), where Kea is installed.
func TestKeaAcceptsConfig(t *testing.T) {
	kea, err := exec.LookPath("kea-dhcp4")
	if err != nil {
		t.Skip("kea-dhcp4 not installed (apt-get install kea-dhcp4-server)")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "kea-dhcp4.json")
	for _, opt := range []KeaOptions{
		{Subnet: netip.MustParsePrefix("10.64.0.0/12"), Reserve: true, Interface: "lo"},
		{Subnet: netip.MustParsePrefix("10.64.0.0/16"), Threads: 2, Interface: "lo/127.0.0.1"},
	} {
		opt.Giaddr = netip.MustParseAddr("127.0.0.2")
		opt.LeaseFile = filepath.Join(dir, "leases4.csv")
		opt.Lifetime = 3600
		if err := writeKeaConfig(path, testModems(t, 1000), opt); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(kea, "-t", path)
		cmd.Env = append(os.Environ(), "KEA_LOCKFILE_DIR="+dir, "KEA_PIDFILE_DIR="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("kea-dhcp4 -t rejects the config (%+v): %v\n%s", opt, err, out)
		}
	}
}
