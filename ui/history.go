package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"ip6m/store"
)

// historyView is the lease-history search: who had an address (at a time),
// or what a device had.
type historyView struct {
	Query, At string
	Error     string
	Table     tableView
	Searched  bool
	CSV       string // the result as a CSV download
}

// historyTimeLayout is what the datetime-local input sends.
const historyTimeLayout = "2006-01-02T15:04"

// leaseHistory answers the abuse desk's question: the address → the
// device → its modem → the customer, for v4 and v6, optionally at a time.
func (s *Server) leaseHistory(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := historyView{Query: strings.TrimSpace(r.URL.Query().Get("q")), At: strings.TrimSpace(r.URL.Query().Get("at"))}
	p := s.page(r, "Lease history", "/leases")
	p.Query = ""
	if v.Query == "" {
		s.render(w, r, historyPage(p, v))
		return
	}
	v.Searched = true
	q, msg, err := s.historyQuery(ctx, v.Query, v.At)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if msg != "" {
		v.Error = msg
		w.WriteHeader(http.StatusUnprocessableEntity)
		s.render(w, r, historyPage(p, v))
		return
	}
	list, err := s.st.LeaseHistory(ctx, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	customers, err := s.historyCustomers(ctx, list)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Table = tableView{Columns: []column{{Text: "From"}, {Text: "Until"}, {Text: "Event"}, {Text: "Address"}, {Text: "Device"}, {Text: "Modem"}, {Text: "Customer"}, {Text: "Relay"}},
		Empty: "No lease matches."}
	for _, h := range list {
		addr := h.Address
		if h.Type == "pd" || h.Family == 6 && h.PrefixLen < 128 {
			addr = fmt.Sprintf("%s/%d", h.Address, h.PrefixLen)
		}
		cust := cell{Text: "—"}
		if c, ok := customers[h.CustomerID]; ok {
			cust = cell{Text: c.Name + " (" + c.Account + ")", Href: "/customers/" + idString(c.ID)}
		}
		modem := cell{Text: h.ModemMAC, Mono: true}
		if h.ModemMAC != "" {
			modem.Href = "/search?q=" + urlQuery(h.ModemMAC)
		}
		v.Table.Rows = append(v.Table.Rows, []cell{
			{Text: absTime(h.Starts)}, {Text: absTime(h.Ends)}, {Text: historyEvent(h)},
			{Text: addr, Mono: true}, {Text: h.MAC + " (" + h.Kind + ")", Mono: true}, modem, cust, {Text: h.Relay, Mono: true},
		})
	}
	if wantsCSV(r) {
		csvHeaders(w, "lease-history")
		if err := writeTableCSV(w, v.Table); err != nil {
			s.log.Error("CSV export", "list", "lease history", "err", err)
		}
		return
	}
	v.CSV = csvURL(r)
	s.render(w, r, historyPage(p, v))
}

// historyQuery reads a lease-history search as the page and the API take
// it: query is an IPv4/IPv6 address, a prefix (its first address), a MAC
// (the device's or its modem's) or a customer's account number; at, when
// set, is a time (2026-12-01T14:05 in UTC, or RFC 3339) the lease must have
// covered. msg says what is wrong with the input, for the person.
func (s *Server) historyQuery(ctx context.Context, query, at string) (q store.HistoryQuery, msg string, err error) {
	if a, perr := netip.ParseAddr(query); perr == nil {
		q.Address = a.Unmap().String()
	} else if pf, perr := netip.ParsePrefix(query); perr == nil {
		q.Address = pf.Masked().Addr().String()
	} else if mac, perr := store.NormalizeMAC(query); perr == nil {
		q.MAC = mac
	} else {
		c, cerr := s.customerByAccount(ctx, query)
		var none errNoCustomer
		switch {
		case errors.As(cerr, &none):
			return q, fmt.Sprintf("%q is not an IP address, a prefix, a MAC address or a customer's account number.", query), nil
		case cerr != nil:
			return q, "", cerr
		}
		q.CustomerID = c.ID
	}
	if at != "" {
		t, perr := time.ParseInLocation(historyTimeLayout, at, time.UTC)
		if perr != nil {
			t, perr = time.Parse(time.RFC3339, at)
		}
		if perr != nil {
			return q, fmt.Sprintf("%q is not a time like 2026-12-01T14:05 (UTC).", at), nil
		}
		q.At = t
	}
	return q, "", nil
}

// historyCustomers looks up the customers a history names, once each; a
// customer deleted since shows as "(deleted)".
func (s *Server) historyCustomers(ctx context.Context, list []store.HistoryEntry) (map[int64]store.Customer, error) {
	customers := map[int64]store.Customer{}
	for _, h := range list {
		if _, ok := customers[h.CustomerID]; h.CustomerID == 0 || ok {
			continue
		}
		c, err := s.st.GetCustomer(ctx, h.CustomerID)
		if errors.Is(err, store.ErrNotFound) {
			c, err = store.Customer{Meta: store.Meta{ID: h.CustomerID}, Name: "(deleted)"}, nil
		}
		if err != nil {
			return nil, err
		}
		customers[h.CustomerID] = c
	}
	return customers, nil
}

// historyEvent names a history row's events: its own, the renewals folded
// into it and how it ended ("grant, renewed 23×, released").
func historyEvent(h store.HistoryEntry) string {
	text := h.Event
	if h.Renewals > 0 {
		text += fmt.Sprintf(", renewed %d×", h.Renewals)
	}
	if h.Ended != "" {
		text += ", " + map[string]string{"release": "released", "expire": "expired", "decline": "declined"}[h.Ended]
	}
	return text
}
