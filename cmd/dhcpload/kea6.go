package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// Kea6Options shape the kea-dhcp6 (Kea 2.2) configuration written by
// --kea6-config, so the same population can be replayed against Kea.
type Kea6Options struct {
	Subnet    netip.Prefix // the modems' prefix; the relay's link-address must be inside
	Server    netip.Addr   // this headend's address: TFTP, time and syslog servers, DNS
	LeaseFile string       // memfile, persist true
	Interface string       // e.g. "lo/::1": unicast on loopback
	Lifetime  int          // valid and preferred lifetime, seconds
	Threads   int          // Kea multi-threading: 0 = off (Kea 2.2's default)
}

type kea6File struct {
	Dhcp6 kea6Dhcp6 `json:"Dhcp6"`
}

type kea6Dhcp6 struct {
	DataDirectory    string `json:"data-directory"` // where Kea keeps its server DUID
	InterfacesConfig struct {
		Interfaces []string `json:"interfaces"`
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
	HostReservationIdentifiers []string         `json:"host-reservation-identifiers"`
	ReservationsGlobal         bool             `json:"reservations-global"`
	ReservationsInSubnet       bool             `json:"reservations-in-subnet"`
	ReservationsOutOfPool      bool             `json:"reservations-out-of-pool"`
	PreferredLifetime          int              `json:"preferred-lifetime"`
	ValidLifetime              int              `json:"valid-lifetime"`
	RenewTimer                 int              `json:"renew-timer"`
	RebindTimer                int              `json:"rebind-timer"`
	OptionData                 []kea6OptionData `json:"option-data"`
	Subnet6                    []kea6Subnet     `json:"subnet6"`
	Loggers                    []keaLogger      `json:"loggers"`
}

type kea6OptionData struct {
	Space string `json:"space,omitempty"`
	Name  string `json:"name"`
	Data  string `json:"data"`
}

type kea6Subnet struct {
	ID           int               `json:"id"`
	Subnet       string            `json:"subnet"`
	Pools        []keaPool         `json:"pools"`
	PDPools      []kea6PDPool      `json:"pd-pools"`
	Reservations []kea6Reservation `json:"reservations"`
}

type kea6PDPool struct {
	Prefix       string `json:"prefix"`
	PrefixLen    int    `json:"prefix-len"`
	DelegatedLen int    `json:"delegated-len"`
}

type kea6Reservation struct {
	DUID        string           `json:"duid"`
	IPAddresses []string         `json:"ip-addresses"`
	OptionData  []kea6OptionData `json:"option-data"`
}

// kea6Config builds the configuration: every modem a reservation by its
// DUID-LL (the address ip6m derives from its MAC inside the subnet, and its
// config file as ip6m names it, CableLabs sub-option 33); the CableLabs
// TFTP, syslog and time servers and time offset for all (sent, as by ip6m,
// only when the vendor ORO asks); a dynamic range for the eRouters' IA_NA
// in the subnet's ::1:0/112 and a pool of /64s for their IA_PD.
func kea6Config(modems []MAC, opt Kea6Options) (kea6File, error) {
	var f kea6File
	p := opt.Subnet.Masked()
	if !p.Addr().Is6() || p.Bits() > 64 {
		return f, fmt.Errorf("kea6 subnet %v: want an IPv6 prefix of /64 or shorter", opt.Subnet)
	}
	if !opt.Server.Is6() {
		return f, fmt.Errorf("kea6 server address %v: want an IPv6 address", opt.Server)
	}
	d := &f.Dhcp6
	d.DataDirectory = filepath.Dir(opt.LeaseFile)
	d.InterfacesConfig.Interfaces = []string{opt.Interface}
	d.LeaseDatabase.Type, d.LeaseDatabase.Persist, d.LeaseDatabase.Name = "memfile", true, opt.LeaseFile
	if opt.Threads > 0 {
		d.MultiThreading.Enable, d.MultiThreading.ThreadPoolSize, d.MultiThreading.QueueSize = true, opt.Threads, 256
	}
	d.HostReservationIdentifiers = []string{"duid"}
	d.ReservationsInSubnet, d.ReservationsOutOfPool = true, true
	lt := opt.Lifetime
	d.PreferredLifetime, d.ValidLifetime, d.RenewTimer, d.RebindTimer = lt, lt, lt/2, lt*4/5
	srv := opt.Server.String()
	d.OptionData = []kea6OptionData{
		{Name: "dns-servers", Data: srv},
		{Space: "vendor-4491", Name: "tftp-servers", Data: srv},
		{Space: "vendor-4491", Name: "syslog-servers", Data: srv},
		{Space: "vendor-4491", Name: "time-servers", Data: srv},
		{Space: "vendor-4491", Name: "time-offset", Data: "3600"},
	}
	base := p.Addr().As16()
	pool := base
	pool[13] = 1 // ::1:0/112
	sub := kea6Subnet{ID: 1, Subnet: p.String(), Pools: []keaPool{{Pool: netip.PrefixFrom(netip.AddrFrom16(pool), 112).String()}}}
	// Delegated /64s from the /48 above the subnet's /64s: 2001:db8:4:11::/64 → 2001:db8:5::/48.
	pd := base
	pd[5]++
	for i := 6; i < 16; i++ {
		pd[i] = 0
	}
	sub.PDPools = []kea6PDPool{{Prefix: netip.AddrFrom16(pd).String(), PrefixLen: 48, DelegatedLen: 64}}
	sub.Reservations = make([]kea6Reservation, 0, len(modems))
	for _, m := range modems {
		a := base
		copy(a[10:], m[:])
		sub.Reservations = append(sub.Reservations, kea6Reservation{
			DUID:        "00:03:00:01:" + m.String(),
			IPAddresses: []string{netip.AddrFrom16(a).String()},
			OptionData:  []kea6OptionData{{Space: "vendor-4491", Name: "config-file", Data: "cm/" + strings.ReplaceAll(m.String(), ":", "") + ".cfg"}},
		})
	}
	d.Subnet6 = []kea6Subnet{sub}
	d.Loggers = []keaLogger{{Name: "kea-dhcp6", Severity: "WARN"}}
	d.Loggers[0].OutputOptions = append(d.Loggers[0].OutputOptions, struct {
		Output string `json:"output"`
	}{Output: "stderr"})
	return f, nil
}

func writeKea6Config(path string, modems []MAC, opt Kea6Options) error {
	f, err := kea6Config(modems, opt)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kea6-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
