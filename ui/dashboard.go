package ui

import (
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"ip6m/store"
)

// dashboardView is the front page: totals, modems per CMTS, recent changes.
type dashboardView struct {
	Counts   store.Counts
	PerCMTS  []cmtsCount
	Recent   []store.AuditEntry
	Services []serviceView
	Events   []eventView
	// Health counts modems by state (nil: no poller here).
	Health map[string]int
}

type serviceView struct {
	Name, Addr string
	Counters   []Counter
}

// eventView is a service's event with the service's name.
type eventView struct {
	Event
	Service string
}

type cmtsCount struct {
	ID               int64
	Name             string
	Modems, Disabled int
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var v dashboardView
	var err error
	if v.Counts, err = s.st.Count(ctx); err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.st.ListCMTS(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	per, err := s.st.ModemsPerCMTS(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, c := range list {
		v.PerCMTS = append(v.PerCMTS, cmtsCount{ID: c.ID, Name: c.Name, Modems: per[c.ID][0], Disabled: per[c.ID][1]})
	}
	if n := per[0]; n[0] > 0 {
		v.PerCMTS = append(v.PerCMTS, cmtsCount{Name: "(no CMTS)", Modems: n[0], Disabled: n[1]})
	}
	if s.cfg.Health != nil {
		v.Health = map[string]int{}
		for _, h := range s.cfg.Health() {
			v.Health[h.State]++
		}
	}
	for _, svc := range s.cfg.Services {
		sv := serviceView{Name: svc.Name, Addr: svc.Addr}
		if svc.Counters != nil {
			sv.Counters = svc.Counters()
		}
		v.Services = append(v.Services, sv)
		if svc.Events != nil {
			for _, e := range svc.Events() {
				v.Events = append(v.Events, eventView{Event: e, Service: svc.Name})
			}
		}
	}
	slices.SortFunc(v.Events, func(a, b eventView) int { return b.At.Compare(a.At) })
	if len(v.Events) > 15 {
		v.Events = v.Events[:15]
	}
	if v.Recent, err = s.st.ListAudit(ctx, "", 0, 10); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, dashboardPage(s.page(r, "Dashboard", "/"), v))
}

// search answers the search box on every page: one exact hit opens the
// thing, several show the modems list filtered by the query.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		http.Redirect(w, r, "/modems", http.StatusSeeOther)
		return
	}
	list, total, err := s.st.ListModems(ctx, store.ModemFilter{Query: q}, store.Page{Size: 2})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if total == 1 {
		http.Redirect(w, r, "/modems/"+idString(list[0].ID), http.StatusSeeOther)
		return
	}
	if total == 0 {
		// Not a modem: maybe a CMTS by name, a customer by account, or a
		// network by address or prefix.
		cmts, err := s.st.ListCMTS(ctx)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, c := range cmts {
			if strings.EqualFold(c.Name, q) {
				http.Redirect(w, r, "/cmts/"+idString(c.ID), http.StatusSeeOther)
				return
			}
		}
		if c, err := s.customerByAccount(ctx, q); err == nil {
			http.Redirect(w, r, "/customers/"+idString(c.ID), http.StatusSeeOther)
			return
		} else if !errors.As(err, new(errNoCustomer)) {
			s.fail(w, r, err)
			return
		}
		if id, ok, err := s.networkFor(r, q); err != nil {
			s.fail(w, r, err)
			return
		} else if ok {
			http.Redirect(w, r, "/networks/"+idString(id), http.StatusSeeOther)
			return
		}
		if _, total, err := s.st.ListCustomers(ctx, q, store.Page{Size: 1}); err == nil && total > 0 {
			http.Redirect(w, r, "/customers?q="+urlQuery(q), http.StatusSeeOther)
			return
		}
	}
	http.Redirect(w, r, "/modems?q="+urlQuery(q), http.StatusSeeOther)
}

// networkFor finds the network whose prefix is q or contains address q.
func (s *Server) networkFor(r *http.Request, q string) (int64, bool, error) {
	var addr netip.Addr
	if p, err := netip.ParsePrefix(q); err == nil {
		addr = p.Masked().Addr()
	} else if a, err := netip.ParseAddr(q); err == nil {
		addr = a.Unmap()
	} else {
		return 0, false, nil
	}
	nets, err := s.st.ListNetworks(r.Context(), 0)
	if err != nil {
		return 0, false, err
	}
	best, bestBits := int64(0), -1
	for _, n := range nets {
		if p := n.ParsedPrefix(); p.IsValid() && p.Contains(addr) && p.Bits() > bestBits {
			best, bestBits = n.ID, p.Bits()
		}
	}
	return best, bestBits >= 0, nil
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	entries, err := s.st.ListAudit(r.Context(), "", 0, 200)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, auditPage(s.page(r, "Audit log", "/audit"), entries))
}
