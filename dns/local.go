package dns

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"
)

// Names gives the provisioned devices the relay answers for itself. main.go
// passes an adapter over the store's inventory and leases.
type Names interface {
	// NamesVersion changes whenever the hosts may have changed (an
	// inventory edit, a new lease); the server reloads when it does.
	NamesVersion() int64
	// LocalHosts returns every device with a name and its addresses.
	LocalHosts(ctx context.Context) ([]Host, error)
}

// Host is one local name. Its name is either Name, or, when Name is empty,
// made from Kind and MAC: Kind "cm" and MAC "44:32:c8:21:09:e7" under the
// domain "example.net" give "cm-4432c82109e7.cm.example.net". A Name
// without a trailing dot is relative to the domain; with one it is taken as
// it is (it must still lie under the domain to be answered).
type Host struct {
	Kind  string // "cm", "mta", "cpe": one DNS label
	MAC   string // any of the usual spellings; 12 hex digits once the separators go
	Name  string // instead of Kind and MAC
	Addrs []netip.Addr
}

// HostName returns the fully qualified, lower-case name of h under domain,
// or an error saying why it has none.
func HostName(h Host, domain string) (string, error) {
	domain = mdns.CanonicalName(domain)
	if h.Name != "" {
		n := h.Name
		if !mdns.IsFqdn(n) {
			n = n + "." + domain
			if domain == "." {
				n = mdns.Fqdn(h.Name)
			}
		}
		if _, ok := mdns.IsDomainName(n); !ok {
			return "", fmt.Errorf("host name %q is not a domain name", h.Name)
		}
		return mdns.CanonicalName(n), nil
	}
	kind := strings.ToLower(h.Kind)
	if kind == "" || !isLabel(kind) {
		return "", fmt.Errorf("host kind %q is not one DNS label", h.Kind)
	}
	var mac strings.Builder
	for _, r := range strings.ToLower(h.MAC) {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f':
			mac.WriteRune(r)
		case r == ':' || r == '-' || r == '.':
		default:
			return "", fmt.Errorf("host MAC %q: %q is not a hex digit", h.MAC, r)
		}
	}
	if mac.Len() != 12 {
		return "", fmt.Errorf("host MAC %q does not have 12 hex digits", h.MAC)
	}
	n := kind + "-" + mac.String() + "." + kind + "." + domain
	if domain == "." {
		n = kind + "-" + mac.String() + "." + kind + "."
	}
	return n, nil
}

func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// localZone is one immutable snapshot of the local names, swapped in whole
// when Names changes.
type localZone struct {
	domain string              // canonical and fully qualified; "" when there is no local domain
	soa    *mdns.SOA           // synthesised, for negative answers
	fwd    map[string]*address // host name → addresses
	ents   map[string]struct{} // names between the domain and a host name (empty non-terminals)
	rev    map[string]string   // reverse name (in-addr.arpa, ip6.arpa) → host name
	hosts  int
}

type address struct {
	v4, v6 []netip.Addr
}

// buildZone makes a snapshot from hosts. Hosts without a usable name are
// skipped and counted in bad, with the first reason in firstErr.
func buildZone(domain string, ttl uint32, hosts []Host, serial uint32) (z *localZone, bad int, firstErr error) {
	z = &localZone{
		fwd:  make(map[string]*address, len(hosts)),
		ents: make(map[string]struct{}),
		rev:  make(map[string]string, len(hosts)),
	}
	if domain == "" {
		return z, 0, nil
	}
	z.domain = mdns.CanonicalName(domain)
	mbox := "hostmaster." + z.domain
	ns := "ns." + z.domain
	if z.domain == "." {
		mbox, ns = "hostmaster.", "ns."
	}
	z.soa = &mdns.SOA{
		Hdr:     mdns.RR_Header{Name: z.domain, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: ttl},
		Ns:      ns,
		Mbox:    mbox,
		Serial:  serial,
		Refresh: 3600, Retry: 600, Expire: 86400,
		Minttl: ttl,
	}
	for _, h := range hosts {
		name, err := HostName(h, z.domain)
		if err == nil && !mdns.IsSubDomain(z.domain, name) {
			err = fmt.Errorf("host name %q is outside the local domain %q", name, z.domain)
		}
		if err != nil {
			bad++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		a := z.fwd[name]
		if a == nil {
			a = &address{}
			z.fwd[name] = a
			z.hosts++
		}
		for _, ip := range h.Addrs {
			ip = ip.Unmap().WithZone("")
			if !ip.IsValid() {
				continue
			}
			if ip.Is4() {
				a.v4 = append(a.v4, ip)
			} else {
				a.v6 = append(a.v6, ip)
			}
			if arpa, err := mdns.ReverseAddr(ip.String()); err == nil {
				z.rev[arpa] = name // the last host with an address wins
			}
		}
		// Every name between the host and the domain exists (with no data).
		for off, end := mdns.NextLabel(name, 0); !end; off, end = mdns.NextLabel(name, off) {
			parent := name[off:]
			if parent == z.domain || len(parent) <= len(z.domain) {
				break
			}
			z.ents[parent] = struct{}{}
		}
	}
	return z, bad, firstErr
}

// answer fills resp for a question about a local name and reports whether
// the name was local. qname is canonical (lower case).
func (z *localZone) answer(qname string, qtype uint16, ttl uint32, resp *mdns.Msg) bool {
	if host, ok := z.rev[qname]; ok {
		resp.Authoritative = true
		if qtype == mdns.TypePTR || qtype == mdns.TypeANY {
			resp.Answer = append(resp.Answer, &mdns.PTR{
				Hdr: mdns.RR_Header{Name: qname, Rrtype: mdns.TypePTR, Class: mdns.ClassINET, Ttl: ttl},
				Ptr: host,
			})
		}
		return true
	}
	if z.domain == "" || !mdns.IsSubDomain(z.domain, qname) {
		return false
	}
	resp.Authoritative = true
	if a, ok := z.fwd[qname]; ok {
		if qtype == mdns.TypeA || qtype == mdns.TypeANY {
			for _, ip := range a.v4 {
				resp.Answer = append(resp.Answer, &mdns.A{
					Hdr: mdns.RR_Header{Name: qname, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: ttl},
					A:   ip.AsSlice(),
				})
			}
		}
		if qtype == mdns.TypeAAAA || qtype == mdns.TypeANY {
			for _, ip := range a.v6 {
				resp.Answer = append(resp.Answer, &mdns.AAAA{
					Hdr:  mdns.RR_Header{Name: qname, Rrtype: mdns.TypeAAAA, Class: mdns.ClassINET, Ttl: ttl},
					AAAA: ip.AsSlice(),
				})
			}
		}
		if len(resp.Answer) == 0 {
			resp.Ns = append(resp.Ns, z.soa)
		}
		return true
	}
	if qname == z.domain {
		if qtype == mdns.TypeSOA || qtype == mdns.TypeANY {
			resp.Answer = append(resp.Answer, z.soa)
		} else {
			resp.Ns = append(resp.Ns, z.soa)
		}
		return true
	}
	if _, ok := z.ents[qname]; !ok {
		resp.Rcode = mdns.RcodeNameError
	}
	resp.Ns = append(resp.Ns, z.soa)
	return true
}
