package ui

import (
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
	var q store.HistoryQuery
	if a, err := netip.ParseAddr(v.Query); err == nil {
		q.Address = a.Unmap().String()
	} else if pf, err := netip.ParsePrefix(v.Query); err == nil {
		q.Address = pf.Masked().Addr().String()
	} else if mac, err := store.NormalizeMAC(v.Query); err == nil {
		q.MAC = mac
	} else {
		v.Error = fmt.Sprintf("%q is not an IP address, a prefix or a MAC address.", v.Query)
	}
	if v.At != "" && v.Error == "" {
		t, err := time.ParseInLocation(historyTimeLayout, v.At, time.UTC)
		if err != nil {
			t, err = time.Parse(time.RFC3339, v.At)
		}
		if err != nil {
			v.Error = fmt.Sprintf("%q is not a time like 2026-12-01T14:05 (UTC).", v.At)
		}
		q.At = t
	}
	if v.Error != "" {
		w.WriteHeader(http.StatusUnprocessableEntity)
		s.render(w, r, historyPage(p, v))
		return
	}
	list, err := s.st.LeaseHistory(ctx, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	customers := map[int64]store.Customer{}
	for _, h := range list {
		if _, ok := customers[h.CustomerID]; h.CustomerID != 0 && !ok {
			c, err := s.st.GetCustomer(ctx, h.CustomerID)
			if err != nil {
				c = store.Customer{Name: "(deleted)"}
			}
			customers[h.CustomerID] = c
		}
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
			{Text: absTime(h.Starts)}, {Text: absTime(h.Ends)}, {Text: h.Event},
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
