package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// KeaOptions shape the kea-dhcp4 (Kea 2.2) configuration written by
// --kea-config, so the same population can be replayed against Kea.
type KeaOptions struct {
	Giaddr    netip.Addr   // the relay: subnet selected by "relay": {"ip-addresses": [giaddr]}
	Subnet    netip.Prefix // reservations from its first half, the dynamic pool is its second half
	LeaseFile string       // memfile, persist true
	Interface string       // e.g. "lo"
	Reserve   bool         // one reservation (hw-address → fixed address, file) per modem
	Threads   int          // Kea multi-threading: 0 = off (Kea 2.2's default), else thread-pool-size
	Lifetime  int          // valid-lifetime, seconds
}

// The JSON shapes below are the subset of Kea 2.2's kea-dhcp4 syntax the
// load test needs; field order follows the Kea manual's examples.
type keaFile struct {
	Dhcp4 keaDhcp4 `json:"Dhcp4"`
}

type keaDhcp4 struct {
	InterfacesConfig struct {
		Interfaces     []string `json:"interfaces"`
		DHCPSocketType string   `json:"dhcp-socket-type"`
	} `json:"interfaces-config"`
	LeaseDatabase struct {
		Type        string `json:"type"`
		Persist     bool   `json:"persist"`
		Name        string `json:"name"`
		LFCInterval int    `json:"lfc-interval"`
	} `json:"lease-database"`
	MultiThreading struct {
		Enable         bool `json:"enable-multi-threading"`
		ThreadPoolSize int  `json:"thread-pool-size,omitempty"`
		QueueSize      int  `json:"packet-queue-size,omitempty"`
	} `json:"multi-threading"`
	HostReservationIdentifiers []string        `json:"host-reservation-identifiers"`
	ReservationsGlobal         bool            `json:"reservations-global"`
	ReservationsInSubnet       bool            `json:"reservations-in-subnet"`
	ReservationsOutOfPool      bool            `json:"reservations-out-of-pool"`
	ValidLifetime              int             `json:"valid-lifetime"`
	RenewTimer                 int             `json:"renew-timer"`
	RebindTimer                int             `json:"rebind-timer"`
	OptionData                 []keaOptionData `json:"option-data"`
	Subnet4                    []keaSubnet     `json:"subnet4"`
	Loggers                    []keaLogger     `json:"loggers"`
}

type keaOptionData struct {
	Name string `json:"name"`
	Data string `json:"data"`
}

type keaSubnet struct {
	ID     int    `json:"id"`
	Subnet string `json:"subnet"`
	Relay  struct {
		IPAddresses []string `json:"ip-addresses"`
	} `json:"relay"`
	NextServer   string           `json:"next-server"`
	Pools        []keaPool        `json:"pools"`
	OptionData   []keaOptionData  `json:"option-data"`
	Reservations []keaReservation `json:"reservations"`
}

type keaPool struct {
	Pool string `json:"pool"`
}

type keaReservation struct {
	HWAddress    string `json:"hw-address"`
	IPAddress    string `json:"ip-address"`
	BootFileName string `json:"boot-file-name,omitempty"`
}

type keaLogger struct {
	Name          string `json:"name"`
	OutputOptions []struct {
		Output string `json:"output"`
	} `json:"output_options"` // Kea 2.2 spelling; 2.5+ also reads output-options
	Severity string `json:"severity"`
}

// keaConfig builds the configuration for modems. Every address it uses is
// inside opt.Subnet: the router is its first host, reservations follow, and
// the pool is the upper half (CM without reservation, MTAs, CPEs).
func keaConfig(modems []MAC, opt KeaOptions) (keaFile, error) {
	var f keaFile
	p := opt.Subnet.Masked()
	if !p.Addr().Is4() || p.Bits() > 24 || p.Bits() < 8 {
		return f, fmt.Errorf("kea subnet %v: want an IPv4 prefix from /8 to /24", opt.Subnet)
	}
	if !opt.Giaddr.Is4() {
		return f, fmt.Errorf("kea relay address %v: want IPv4", opt.Giaddr)
	}
	size := uint32(1) << (32 - p.Bits())
	half := size / 2
	if opt.Reserve && uint32(len(modems)) > half-2 {
		return f, fmt.Errorf("kea subnet %v holds %d reservations in its lower half, not %d modems: use a larger --kea-subnet", p, half-2, len(modems))
	}
	if opt.LeaseFile == "" || !filepath.IsAbs(opt.LeaseFile) {
		return f, fmt.Errorf("kea lease file %q: want an absolute path", opt.LeaseFile)
	}
	base := ip4ToUint(p.Addr())
	at := func(off uint32) string { return uintToIP4(base + off).String() }

	d := &f.Dhcp4
	d.InterfacesConfig.Interfaces = []string{opt.Interface}
	d.InterfacesConfig.DHCPSocketType = "udp"
	d.LeaseDatabase.Type = "memfile"
	d.LeaseDatabase.Persist = true
	d.LeaseDatabase.Name = opt.LeaseFile
	d.LeaseDatabase.LFCInterval = 3600
	if opt.Threads > 0 {
		d.MultiThreading.Enable = true
		d.MultiThreading.ThreadPoolSize = opt.Threads
		d.MultiThreading.QueueSize = 64
	}
	d.HostReservationIdentifiers = []string{"hw-address"}
	d.ReservationsInSubnet = opt.Reserve
	d.ReservationsOutOfPool = opt.Reserve
	d.ValidLifetime = opt.Lifetime
	d.RenewTimer = opt.Lifetime / 2
	d.RebindTimer = opt.Lifetime * 7 / 8
	// The DOCSIS options ip6m sends a CM (2, 4, 7) so both servers build
	// replies of about the same size.
	d.OptionData = []keaOptionData{
		{Name: "time-offset", Data: "0"},
		{Name: "time-servers", Data: opt.Giaddr.String()},
		{Name: "log-servers", Data: opt.Giaddr.String()},
		{Name: "domain-name-servers", Data: opt.Giaddr.String()},
	}
	s := keaSubnet{
		ID:         1,
		Subnet:     p.String(),
		NextServer: opt.Giaddr.String(),
		Pools:      []keaPool{{Pool: at(half) + " - " + at(size-2)}},
		OptionData: []keaOptionData{{Name: "routers", Data: at(1)}},
	}
	s.Relay.IPAddresses = []string{opt.Giaddr.String()}
	if opt.Reserve {
		s.Reservations = make([]keaReservation, len(modems))
		for i, m := range modems {
			s.Reservations[i] = keaReservation{
				HWAddress:    m.String(),
				IPAddress:    at(2 + uint32(i)),
				BootFileName: strings.ReplaceAll(m.String(), ":", "") + ".cfg",
			}
		}
	} else {
		s.Reservations = []keaReservation{}
	}
	d.Subnet4 = []keaSubnet{s}
	lg := keaLogger{Name: "kea-dhcp4", Severity: "WARN"}
	lg.OutputOptions = append(lg.OutputOptions, struct {
		Output string `json:"output"`
	}{Output: "stdout"})
	d.Loggers = []keaLogger{lg}
	return f, nil
}

// writeKeaConfig writes the configuration to path: temp file, fsync, rename.
func writeKeaConfig(path string, modems []MAC, opt KeaOptions) error {
	f, err := keaConfig(modems, opt)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode kea config: %w", err)
	}
	b = append(b, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kea-config-*")
	if err != nil {
		return fmt.Errorf("write kea config: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write kea config %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync kea config %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write kea config %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write kea config %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write kea config: %w", err)
	}
	return nil
}

func ip4ToUint(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func uintToIP4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
