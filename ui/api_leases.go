package ui

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"ip6m/store"
)

type lease4JSON struct {
	IP        string    `json:"ip"`
	MAC       string    `json:"mac"`
	ClientID  string    `json:"client_id"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	NetworkID *int64    `json:"network_id"`
	ModemID   *int64    `json:"modem_id"`
	GiAddr    string    `json:"giaddr"`
	RemoteID  string    `json:"remote_id"`
	CircuitID string    `json:"circuit_id"`
	Hostname  string    `json:"hostname"`
	Starts    time.Time `json:"starts"`
	Ends      time.Time `json:"ends"`
}

func lease4Out(l store.Lease4) lease4JSON {
	return lease4JSON{IP: l.IP, MAC: l.MAC, ClientID: hex.EncodeToString(l.ClientID), Kind: l.Kind, State: l.State,
		NetworkID: optID(l.NetworkID), ModemID: optID(l.ModemID), GiAddr: l.GiAddr,
		RemoteID: hex.EncodeToString(l.RemoteID), CircuitID: hex.EncodeToString(l.CircuitID), Hostname: l.Hostname,
		Starts: l.Starts, Ends: l.Ends}
}

type lease6JSON struct {
	Type        string    `json:"type"`
	Address     string    `json:"address"`
	PrefixLen   int       `json:"prefix_len"`
	DUID        string    `json:"duid"`
	IAID        uint32    `json:"iaid"`
	MAC         string    `json:"mac"`
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	NetworkID   *int64    `json:"network_id"`
	ModemID     *int64    `json:"modem_id"`
	LinkAddress string    `json:"link_address"`
	RemoteID    string    `json:"remote_id"`
	Starts      time.Time `json:"starts"`
	Ends        time.Time `json:"ends"`
}

func lease6Out(l store.Lease6) lease6JSON {
	return lease6JSON{Type: l.Type, Address: l.Address, PrefixLen: l.PrefixLen, DUID: hex.EncodeToString(l.DUID), IAID: l.IAID,
		MAC: l.MAC, Kind: l.Kind, State: l.State, NetworkID: optID(l.NetworkID), ModemID: optID(l.ModemID),
		LinkAddress: l.LinkAddress, RemoteID: hex.EncodeToString(l.RemoteID), Starts: l.Starts, Ends: l.Ends}
}

var leaseStates = []string{store.StateOffered, store.StateActive, store.StateReleased, store.StateExpired, store.StateDeclined}

// leaseFilter reads the filters the two current-lease lists share; addr
// parses the address parameter for the family.
func leaseFilter(p *params, addrParam string, family int) store.LeaseFilter {
	f := store.LeaseFilter{ModemID: p.id("modem_id"), State: p.oneOf("state", leaseStates...)}
	if s := p.str(addrParam); s != "" {
		a, err := netip.ParseAddr(s)
		if pf, perr := netip.ParsePrefix(s); err != nil && perr == nil && family == 6 {
			a, err = pf.Masked().Addr(), nil
		}
		a = a.Unmap()
		if err != nil || (family == 4) != a.Is4() {
			p.fail(addrParam, "is not an IPv"+strconv.Itoa(family)+" address")
		}
		f.Address = a.String()
	}
	if s := p.str("mac"); s != "" {
		mac, err := store.NormalizeMAC(s)
		if err != nil {
			p.fail("mac", err.Error())
		}
		f.MAC = mac
	}
	return f
}

// apiLeases4 lists the IPv4 leases that have not ended.
func (s *Server) apiLeases4(w http.ResponseWriter, r *http.Request) error {
	p := queryParams(r, "limit", "offset", "ip", "mac", "modem_id", "state")
	page := p.page()
	f := leaseFilter(p, "ip", 4)
	if err := p.err(); err != nil {
		return err
	}
	list, total, err := s.st.ListLeases4(r.Context(), f, page)
	if err != nil {
		return err
	}
	writeList(w, list, total, page, lease4Out)
	return nil
}

// apiLeases6 lists the IPv6 bindings (addresses and delegated prefixes)
// that have not ended.
func (s *Server) apiLeases6(w http.ResponseWriter, r *http.Request) error {
	p := queryParams(r, "limit", "offset", "address", "mac", "modem_id", "state", "type")
	page := p.page()
	f := leaseFilter(p, "address", 6)
	f.Type = p.oneOf("type", "na", "pd")
	if err := p.err(); err != nil {
		return err
	}
	list, total, err := s.st.ListLeases6(r.Context(), f, page)
	if err != nil {
		return err
	}
	writeList(w, list, total, page, lease6Out)
	return nil
}

// historyJSON is one lease of the history with the chain the abuse desk
// wants: the address → the device that held it → its modem → the
// customer, as they were at the time.
type historyJSON struct {
	At        time.Time        `json:"at"`
	Event     string           `json:"event"`
	Family    int              `json:"family"`
	Type      string           `json:"type"`
	Address   string           `json:"address"`
	PrefixLen int              `json:"prefix_len"`
	Starts    time.Time        `json:"starts"`
	Ends      time.Time        `json:"ends"`
	Relay     string           `json:"relay"`
	Device    historyDevice    `json:"device"`
	Modem     *historyModem    `json:"modem"`
	Customer  *historyCustomer `json:"customer"`
}

type historyDevice struct {
	MAC  string `json:"mac"`
	Kind string `json:"kind"`
}

// historyModem is the owning modem; ID is null when it has been deleted
// since.
type historyModem struct {
	MAC string `json:"mac"`
	ID  *int64 `json:"id"`
}

type historyCustomer struct {
	ID      int64  `json:"id"`
	Account string `json:"account"`
	Name    string `json:"name"`
}

type historyAnswer struct {
	Query historyQueryJSON `json:"query"`
	Items []historyJSON    `json:"items"`
}

type historyQueryJSON struct {
	Address    string     `json:"address,omitempty"`
	MAC        string     `json:"mac,omitempty"`
	CustomerID int64      `json:"customer_id,omitempty"`
	At         *time.Time `json:"at,omitempty"`
}

// apiLeaseHistory answers the lease-history search exactly as the UI's
// /leases page reads it (q and at), newest first, at most limit rows.
func (s *Server) apiLeaseHistory(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := queryParams(r, "q", "at", "limit")
	limit := p.num("limit", 500, 1, 10000)
	if p.str("q") == "" {
		p.fail("q", "is required: an IP address, a prefix, a MAC or a customer's account number")
	}
	if err := p.err(); err != nil {
		return err
	}
	q, msg, err := s.historyQuery(ctx, p.str("q"), p.str("at"))
	if err != nil {
		return err
	}
	if msg != "" {
		field := "q"
		if q.Address != "" || q.MAC != "" || q.CustomerID != 0 {
			field = "at"
		}
		return badRequest(msg, map[string]string{field: msg})
	}
	q.Limit = int(limit)
	list, err := s.st.LeaseHistory(ctx, q)
	if err != nil {
		return err
	}
	customers, err := s.historyCustomers(ctx, list)
	if err != nil {
		return err
	}
	modems := map[string]*int64{}
	ans := historyAnswer{Query: historyQueryJSON{Address: q.Address, MAC: q.MAC, CustomerID: q.CustomerID, At: optTime(q.At)}, Items: []historyJSON{}}
	for _, h := range list {
		j := historyJSON{At: h.At, Event: h.Event, Family: h.Family, Type: h.Type, Address: h.Address, PrefixLen: h.PrefixLen,
			Starts: h.Starts, Ends: h.Ends, Relay: h.Relay, Device: historyDevice{MAC: h.MAC, Kind: h.Kind}}
		if h.ModemMAC != "" {
			id, ok := modems[h.ModemMAC]
			if !ok {
				if id, err = s.modemIDByMAC(ctx, h.ModemMAC); err != nil {
					return err
				}
				modems[h.ModemMAC] = id
			}
			j.Modem = &historyModem{MAC: h.ModemMAC, ID: id}
		}
		if c, ok := customers[h.CustomerID]; ok {
			j.Customer = &historyCustomer{ID: c.ID, Account: c.Account, Name: c.Name}
		}
		ans.Items = append(ans.Items, j)
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// modemIDByMAC is the id of the modem with mac, or nil when there is none.
func (s *Server) modemIDByMAC(ctx context.Context, mac string) (*int64, error) {
	m, err := s.st.ModemByMAC(ctx, mac)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &m.ID, nil
}
