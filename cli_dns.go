package main

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"ip6m/dns"
	"ip6m/store"
)

// dnsInventory gives the DNS relay the names of the provisioned devices
// (from their current leases) and the client networks it answers.
type dnsInventory struct{ st *store.Store }

// NamesVersion changes with the inventory and with every lease commit.
func (d dnsInventory) NamesVersion() int64 {
	return d.st.InventoryVersion() + d.st.CommitStats().Requests
}

// LocalHosts names every device holding an active lease: one name per
// device with its v4 and v6 addresses.
func (d dnsInventory) LocalHosts(ctx context.Context) ([]dns.Host, error) {
	now := time.Now()
	l4, err := d.st.Leases4(ctx, now)
	if err != nil {
		return nil, err
	}
	l6, err := d.st.Leases6(ctx, now)
	if err != nil {
		return nil, err
	}
	byMAC := map[string]*dns.Host{}
	var order []string
	add := func(kind, mac, ip string) {
		if kind == store.KindUnknown || mac == "" {
			return
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return
		}
		h := byMAC[mac]
		if h == nil {
			h = &dns.Host{Kind: kind, MAC: mac}
			byMAC[mac] = h
			order = append(order, mac)
		}
		h.Addrs = append(h.Addrs, a)
	}
	for _, l := range l4 {
		if l.State == store.StateActive {
			add(l.Kind, l.MAC, l.IP)
		}
	}
	for _, l := range l6 {
		if l.State == store.StateActive && l.Type == "na" {
			add(l.Kind, l.MAC, l.Address)
		}
	}
	out := make([]dns.Host, 0, len(order))
	for _, mac := range order {
		out = append(out, *byMAC[mac])
	}
	return out, nil
}

// NetworksVersion changes with the inventory.
func (d dnsInventory) NetworksVersion() int64 { return d.st.InventoryVersion() }

// ClientPrefixes are every network of the inventory and the prefixes
// delegated from its pools (customers' routed LANs).
func (d dnsInventory) ClientPrefixes(ctx context.Context) ([]netip.Prefix, error) {
	nets, err := d.st.ListNetworks(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, n := range nets {
		if p, err := netip.ParsePrefix(n.Prefix); err == nil {
			out = append(out, p)
		}
		for _, pool := range n.PDPools {
			first, err1 := netip.ParseAddr(pool.First)
			last, err2 := netip.ParseAddr(pool.Last)
			if err1 != nil || err2 != nil {
				continue
			}
			out = append(out, coveringPrefix(first, last))
		}
	}
	return out, nil
}

// coveringPrefix is the shortest prefix holding both addresses.
func coveringPrefix(a, b netip.Addr) netip.Prefix {
	for bits := a.BitLen(); bits >= 0; bits-- {
		p, _ := a.Prefix(bits)
		if p.Contains(b) {
			return p
		}
	}
	return netip.PrefixFrom(a, 0)
}

// splitList splits a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
