package dhcp

import (
	"net/netip"
	"sync"
	"time"

	"ip6m/store"
)

// lease is the server's in-memory view of one v4 address binding.
type lease struct {
	ip        netip.Addr
	client    string // client-id (option 61) if sent, else the MAC
	mac       [6]byte
	kind      string
	state     string
	networkID int64
	modemID   int64
	expires   time.Time // lease end; for offers, when the offer lapses
	starts    time.Time
	giaddr    netip.Addr
	remoteID  []byte
	circuitID []byte
	hostname  string
}

// leases is the allocator: who holds which address, and which addresses
// are free. Every operation is O(1) amortised: each range has a cursor to
// its never-used addresses, and freed addresses go on a per-network stack.
type leases struct {
	mu       sync.Mutex
	byIP     map[netip.Addr]*lease
	byClient map[string]*lease
	cursor   map[addrRange]netip.Addr // next never-handed address of each range
	free     map[int64][]netip.Addr   // per network: released, expired, lapsed offers
	cpes     map[int64]map[string]bool
	// quarantine keeps declined addresses out of use until then.
	quarantine map[netip.Addr]time.Time
}

func newLeases() *leases {
	return &leases{
		byIP:       map[netip.Addr]*lease{},
		byClient:   map[string]*lease{},
		cursor:     map[addrRange]netip.Addr{},
		free:       map[int64][]netip.Addr{},
		cpes:       map[int64]map[string]bool{},
		quarantine: map[netip.Addr]time.Time{},
	}
}

// load fills the table from the store at start.
func (ls *leases) load(list []store.Lease4, now time.Time) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, sl := range list {
		ip, err := netip.ParseAddr(sl.IP)
		if err != nil {
			continue
		}
		mac, _ := store.MACBytes(sl.MAC)
		l := &lease{ip: ip, client: clientKey(sl.ClientID, mac), mac: mac, kind: sl.Kind, state: sl.State,
			networkID: sl.NetworkID, modemID: sl.ModemID, expires: sl.Ends, starts: sl.Starts,
			remoteID: sl.RemoteID, circuitID: sl.CircuitID, hostname: sl.Hostname}
		l.giaddr, _ = netip.ParseAddr(sl.GiAddr)
		switch sl.State {
		case store.StateActive:
			if !l.expires.After(now) {
				l.state = store.StateExpired
			}
		case store.StateDeclined:
			ls.quarantine[ip] = sl.Ends
		case store.StateOffered:
			l.state = store.StateExpired // an offer does not survive a restart
		}
		ls.byIP[ip] = l
		if sl.State != store.StateDeclined {
			ls.byClient[l.client] = l
		}
		if l.state == store.StateActive && l.kind == store.KindCPE {
			ls.countCPE(l, true)
		}
	}
}

// clientKey identifies a client: its client-identifier, else its MAC.
func clientKey(clientID []byte, mac [6]byte) string {
	if len(clientID) > 0 {
		return "id:" + string(clientID)
	}
	return "hw:" + string(mac[:])
}

// live reports whether l holds its address at now (an active lease or a
// pending offer).
func (l *lease) live(now time.Time) bool {
	return (l.state == store.StateActive || l.state == store.StateOffered) && l.expires.After(now)
}

func (ls *leases) countCPE(l *lease, add bool) {
	set := ls.cpes[l.modemID]
	if add {
		if set == nil {
			set = map[string]bool{}
			ls.cpes[l.modemID] = set
		}
		set[l.client] = true
		return
	}
	delete(set, l.client)
}

// usable reports whether ip may be handed to client: not held by anyone
// else, not reserved for another device, not quarantined.
func (ls *leases) usable(ip netip.Addr, client string, reserved map[netip.Addr][6]byte, nw *network4, now time.Time) bool {
	if _, ok := reserved[ip]; ok {
		return false
	}
	if ip == nw.gateway || ip == nw.broadcast || ip == nw.prefix.Addr() {
		return false
	}
	if until, ok := ls.quarantine[ip]; ok && until.After(now) {
		return false
	}
	if l, ok := ls.byIP[ip]; ok && l.client != client && l.live(now) {
		return false
	}
	return true
}

// pick chooses an address for client on nw: its reservation, else the
// address it had (if still free), else a free or never-used one. It returns
// the zero address when the pool is exhausted.
func (ls *leases) pick(client string, d Decision, reserved map[netip.Addr][6]byte, now time.Time) (netip.Addr, string) {
	nw := d.Network
	if d.Fixed.IsValid() {
		if l, ok := ls.byIP[d.Fixed]; ok && l.client != client && l.live(now) {
			return netip.Addr{}, "its fixed address " + d.Fixed.String() + " is held by " + macText(l.mac)
		}
		return d.Fixed, ""
	}
	if l, ok := ls.byClient[client]; ok && l.networkID == nw.id && inRanges(nw, l.ip) {
		if _, res := reserved[l.ip]; !res {
			if until, q := ls.quarantine[l.ip]; !q || !until.After(now) {
				return l.ip, ""
			}
		}
	}
	stack := ls.free[nw.id]
	for len(stack) > 0 {
		ip := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if inRanges(nw, ip) && ls.usable(ip, client, reserved, nw, now) {
			ls.free[nw.id] = stack
			return ip, ""
		}
	}
	ls.free[nw.id] = stack
	for _, r := range nw.ranges {
		next, started := ls.cursor[r]
		if !started {
			next = r.first
		}
		for next.IsValid() && next.Compare(r.last) <= 0 {
			ip := next
			next = next.Next()
			if ls.usable(ip, client, reserved, nw, now) {
				if _, held := ls.byIP[ip]; !held || ls.byIP[ip].client == client {
					ls.cursor[r] = next
					return ip, ""
				}
			}
		}
		ls.cursor[r] = next
	}
	// Last resort: scan for addresses whose leases ended but were not yet
	// swept (rare: only between sweeps when the pool is full).
	for ip, l := range ls.byIP {
		if l.networkID == nw.id && inRanges(nw, ip) && ls.usable(ip, client, reserved, nw, now) {
			return ip, ""
		}
	}
	return netip.Addr{}, "no free address in " + nw.prefix.String()
}

func inRanges(nw *network4, ip netip.Addr) bool {
	for _, r := range nw.ranges {
		if r.contains(ip) {
			return true
		}
	}
	return false
}

// bind records client's lease on ip (taking the address over from a
// previous, no longer live holder) and returns it.
func (ls *leases) bind(ip netip.Addr, client string, update func(*lease)) *lease {
	l := ls.byIP[ip]
	if l == nil || l.client != client {
		if old := ls.byClient[client]; old != nil && old.ip != ip {
			// The client moves: its old address goes back to the pool.
			if old.kind == store.KindCPE {
				ls.countCPE(old, false)
			}
			delete(ls.byIP, old.ip)
			ls.free[old.networkID] = append(ls.free[old.networkID], old.ip)
		}
		if l != nil {
			if prev := ls.byClient[l.client]; prev == l {
				delete(ls.byClient, l.client)
			}
			if l.kind == store.KindCPE {
				ls.countCPE(l, false)
			}
		}
		l = &lease{ip: ip, client: client}
		ls.byIP[ip] = l
	}
	ls.byClient[client] = l
	wasCPE := l.kind == store.KindCPE && l.state == store.StateActive
	update(l)
	if isCPE := l.kind == store.KindCPE && (l.state == store.StateActive || l.state == store.StateOffered); isCPE != wasCPE {
		ls.countCPE(l, isCPE)
	}
	return l
}

// cpeCount is how many CPEs behind modem hold or are offered a lease,
// other than client.
func (ls *leases) cpeCount(modemID int64, client string) int {
	n := len(ls.cpes[modemID])
	if ls.cpes[modemID][client] {
		n--
	}
	return n
}

// end marks a lease released, expired or declined and frees its address
// (a declined one only after its quarantine).
func (ls *leases) end(l *lease, state string, now time.Time, quarantine time.Duration) {
	if l.kind == store.KindCPE {
		ls.countCPE(l, false)
	}
	l.state = state
	if state == store.StateDeclined {
		ls.quarantine[l.ip] = now.Add(quarantine)
		if ls.byClient[l.client] == l {
			delete(ls.byClient, l.client)
		}
		l.expires = now.Add(quarantine)
	}
	ls.free[l.networkID] = append(ls.free[l.networkID], l.ip)
}

// sweep ends every active lease whose time is up and drops lapsed offers;
// it returns the expired leases (copies) for the history.
func (ls *leases) sweep(now time.Time) []lease {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	var expired []lease
	for _, l := range ls.byIP {
		if l.expires.After(now) {
			continue
		}
		switch l.state {
		case store.StateActive:
			ls.end(l, store.StateExpired, now, 0)
			expired = append(expired, *l)
		case store.StateOffered:
			ls.end(l, store.StateExpired, now, 0)
		}
	}
	for ip, until := range ls.quarantine {
		if !until.After(now) {
			delete(ls.quarantine, ip)
		}
	}
	return expired
}
