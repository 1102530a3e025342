package ui

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ip6m/dhcp"
	"ip6m/docsiscfg"
	"ip6m/store"
)

func (s *Server) modemsCRUD() registrar {
	return &crud[store.Modem]{
		singular: "modem", plural: "Modems", path: "/modems",
		readRole: store.RoleViewer, writeRole: store.RoleOperator,
		list: s.modemListView,
		get:  s.st.GetModem,
		blank: func(r *http.Request) store.Modem {
			q := r.URL.Query()
			m := store.Modem{Enabled: true, MAC: q.Get("mac")} // from the unknown modems page
			m.CustomerID, _ = strconv.ParseInt(q.Get("customer"), 10, 64)
			m.CMTSID, _ = strconv.ParseInt(q.Get("cmts"), 10, 64)
			return m
		},
		fields: s.modemFields,
		parse: func(ctx context.Context, r *http.Request, m *store.Modem) map[string]string {
			errs := map[string]string{}
			m.MAC, m.Serial, m.Vendor, m.Model = formValue(r, "mac"), formValue(r, "serial"), formValue(r, "vendor"), formValue(r, "model")
			formInt(r, "plan_id", &m.PlanID, errs)
			formInt(r, "cmts_id", &m.CMTSID, errs)
			m.CustomerID = 0
			if acct := formValue(r, "customer"); acct != "" {
				c, err := s.customerByAccount(ctx, acct)
				if err != nil {
					errs["customer"] = err.Error()
				} else {
					m.CustomerID = c.ID
				}
			}
			m.FixedIPv4, m.IPv6, m.Prefix6 = formValue(r, "fixed_ipv4"), formValue(r, "ipv6"), formValue(r, "prefix6")
			m.Enabled = r.PostFormValue("enabled") == "on"
			m.Notes = formValue(r, "notes")
			return errs
		},
		create: s.st.CreateModem, update: s.st.UpdateModem, remove: s.st.DeleteModem,
		id:        func(m *store.Modem) *int64 { return &m.ID },
		title:     func(m store.Modem) string { return m.MAC },
		detail:    (*Server).modemDetail,
		csv:       s.modemsCSV,
		importURL: "/modems/import",
	}
}

// customerByAccount finds the customer whose account number is exactly
// acct.
func (s *Server) customerByAccount(ctx context.Context, acct string) (store.Customer, error) {
	c, err := s.st.CustomerByAccount(ctx, acct)
	if errors.Is(err, store.ErrNotFound) {
		return store.Customer{}, errNoCustomer(strings.TrimSpace(acct))
	}
	return c, err
}

type errNoCustomer string

func (e errNoCustomer) Error() string { return "no customer has account number " + string(e) }

func (s *Server) modemFields(ctx context.Context, m store.Modem, e map[string]string) ([]field, error) {
	plans, err := s.planOptions(ctx, "choose a plan")
	if err != nil {
		return nil, err
	}
	cmts, err := s.cmtsOptions(ctx, "(not yet known)")
	if err != nil {
		return nil, err
	}
	acct := ""
	if m.CustomerID != 0 {
		c, err := s.st.GetCustomer(ctx, m.CustomerID)
		if err != nil {
			return nil, err
		}
		acct = c.Account
	}
	derived := "derived from the MAC inside the CMTS's CM prefix"
	if a, ok, _ := s.st.ModemIPv6(ctx, store.Modem{MAC: m.MAC, CMTSID: m.CMTSID}); ok {
		derived += ": " + a.String()
	}
	return []field{
		{Name: "mac", Label: "MAC address", Value: m.MAC, Required: true, Mono: true, Error: e["mac"], Help: "any notation: 44:32:c8:21:09:e7, 4432.c821.09e7, 4432c82109e7"},
		{Name: "serial", Label: "Serial number", Value: m.Serial, Mono: true, Error: e["serial"]},
		{Name: "vendor", Label: "Vendor", Value: m.Vendor, Error: e["vendor"]},
		{Name: "model", Label: "Model", Value: m.Model, Error: e["model"]},
		{Name: "customer", Label: "Customer account", Value: acct, Mono: true, Error: firstNonEmpty(e["customer"], e["customer_id"])},
		{Name: "plan_id", Label: "Plan", Type: "select", Options: plans, Value: idString(m.PlanID), Required: true, Error: e["plan_id"]},
		{Name: "cmts_id", Label: "CMTS", Type: "select", Options: cmts, Value: idString(m.CMTSID), Error: e["cmts_id"]},
		{Name: "fixed_ipv4", Label: "Fixed IPv4", Value: m.FixedIPv4, Mono: true, Error: e["fixed_ipv4"], Help: "empty: an address from the CM pool"},
		{Name: "ipv6", Label: "IPv6 override", Value: m.IPv6, Mono: true, Error: e["ipv6"], Help: "empty: " + derived},
		{Name: "prefix6", Label: "Reserved delegated prefix", Value: m.Prefix6, Mono: true, Error: e["prefix6"], Help: "the router behind the modem always gets this prefix, e.g. 2001:db8:4:180::/56; empty: from the pools"},
		{Name: "enabled", Label: "Enabled (network access)", Type: "checkbox", Checked: m.Enabled, Error: e["enabled"]},
		{Name: "notes", Label: "Notes", Type: "textarea", Rows: 3, Value: m.Notes, Error: e["notes"]},
	}, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// modemFilter reads the list's filters from the query string.
func modemFilter(r *http.Request) store.ModemFilter {
	q := r.URL.Query()
	f := store.ModemFilter{Query: q.Get("q")}
	f.CMTSID, _ = strconv.ParseInt(q.Get("cmts"), 10, 64)
	f.PlanID, _ = strconv.ParseInt(q.Get("plan"), 10, 64)
	f.CustomerID, _ = strconv.ParseInt(q.Get("customer"), 10, 64)
	switch q.Get("state") {
	case "enabled":
		yes := true
		f.Enabled = &yes
	case "disabled":
		no := false
		f.Enabled = &no
	}
	return f
}

// modemListFilter is the modems list's filter from the request, with the
// health flags when a poller runs (nil otherwise).
func (s *Server) modemListFilter(r *http.Request) (store.ModemFilter, map[string]HealthFlag) {
	f := modemFilter(r)
	var health map[string]HealthFlag
	if s.cfg.Health != nil {
		health = s.cfg.Health()
		if want := r.URL.Query().Get("health"); want != "" {
			f.MACs = []string{}
			for mac, h := range health {
				if h.State == want || (want == "sick" && h.State != "good" && h.State != "unknown") {
					f.MACs = append(f.MACs, mac)
				}
			}
		}
	}
	return f, health
}

// modemsCSV downloads the filtered modems in the columns the CSV import
// reads, so the file can be edited and imported back.
func (s *Server) modemsCSV(w http.ResponseWriter, r *http.Request) error {
	f, _ := s.modemListFilter(r)
	return s.st.ExportModemsCSV(r.Context(), w, f)
}

func (s *Server) modemListView(r *http.Request) (listView, error) {
	f, health := s.modemListFilter(r)
	list, total, err := s.st.ListModems(r.Context(), f, requestedPage(r))
	if err != nil {
		return listView{}, err
	}
	cmts, err := s.cmtsOptions(r.Context(), "All CMTS")
	if err != nil {
		return listView{}, err
	}
	plans, err := s.planOptions(r.Context(), "All plans")
	if err != nil {
		return listView{}, err
	}
	q := r.URL.Query()
	filters := []field{
		{Name: "cmts", Label: "CMTS", Type: "select", Options: cmts, Value: q.Get("cmts")},
		{Name: "plan", Label: "Plan", Type: "select", Options: plans, Value: q.Get("plan")},
		{Name: "state", Label: "State", Type: "select", Value: q.Get("state"), Options: []option{{"", "Any state"}, {"enabled", "Enabled"}, {"disabled", "Disabled"}}},
	}
	if health != nil {
		filters = append(filters, field{Name: "health", Label: "Health", Type: "select", Value: q.Get("health"), Options: []option{
			{"", "Any health"}, {"sick", "Sick (warning, bad, offline)"}, {"bad", "Bad"}, {"warning", "Warning"}, {"offline", "Offline"}, {"good", "Good"}}})
	}
	return listView{
		Table:   modemTable(list, health),
		Pager:   pagerFor(r, total),
		Search:  "MAC, IP, serial, customer",
		Filters: filters,
		Links:   []option{{"/modems/unknown", "Unknown modems"}},
	}, nil
}

// modemTable renders modem rows as the modems list shows them; with
// health (a poller runs) it adds each modem's health badge.
func modemTable(list []store.ModemRow, health map[string]HealthFlag) tableView {
	t := tableView{Columns: []column{{Text: "MAC"}, {Text: "State"}, {Text: "Customer"}, {Text: "Plan"}, {Text: "CMTS"}, {Text: "Fixed IPv4"}, {Text: "Vendor / model"}, {Text: "Serial"}},
		Empty: "No modems match."}
	if health != nil {
		t.Columns = append(t.Columns[:2:2], append([]column{{Text: "Health"}}, t.Columns[2:]...)...)
	}
	for _, m := range list {
		state := cell{Text: "enabled", State: "good"}
		if !m.Enabled {
			state = cell{Text: "disabled", State: "off"}
		}
		cust := cell{Text: "—"}
		if m.CustomerID != 0 {
			cust = cell{Text: m.CustomerName, Title: m.CustomerAccount, Href: "/customers/" + idString(m.CustomerID)}
		}
		row := []cell{{Text: m.MAC, Href: "/modems/" + idString(m.ID), Mono: true}, state}
		if health != nil {
			h, ok := health[m.MAC]
			if !ok {
				h = HealthFlag{State: "unknown", Reason: "not polled yet"}
			}
			row = append(row, cell{Text: h.State, State: badgeOf(h.State), Title: h.Reason})
		}
		t.Rows = append(t.Rows, append(row, cust, cell{Text: m.PlanName}, cell{Text: m.CMTSName},
			cell{Text: m.FixedIPv4, Mono: true}, cell{Text: m.Vendor + " " + m.Model}, cell{Text: m.Serial, Mono: true}))
	}
	return t
}

// modemView is everything the modem page shows.
type modemView struct {
	Modem store.Modem
	// Plans are the plans to choose from (operators' "change plan").
	Plans    []option
	Customer *store.Customer
	Plan     *store.Plan
	CMTS     *store.CMTS
	IPv6     string
	MTAs     []store.MTA
	CPEs     []store.CPE
	Audit    []store.AuditEntry
	Leases   []store.Lease4
	// DHCP and DHCP6 are what the DHCP servers would answer now (nil: not
	// running here).
	DHCP  *dhcp.Preview
	DHCP6 *dhcp.Preview
	// Refused are the DHCP servers' recent refusals of this modem and of
	// the devices behind it (the same MAC block).
	Refused []dhcp.Refusal
	// Live says new samples stream to the graphs (a poller runs here).
	Live bool
	// Health is the modem's flag from its last poll (nil: no poller).
	Health *HealthFlag
	// Config is the config the modem gets now, decoded (empty with
	// ConfigErr set when it cannot be built; both empty without TFTP).
	Config     string
	ConfigSize int
	ConfigMICs string
	ConfigErr  string
	// Fetched is the modem's last config download, when TFTP runs here
	// (nil: none since it started); FetchKnown says TFTP runs here.
	Fetched    *Fetch
	FetchKnown bool
	// TFTPRefused are the TFTP server's recent refusals that concern this
	// modem: asked from one of its or its devices' lease addresses, or
	// naming its or its MTAs' config. Newest first.
	TFTPRefused []TFTPRefusal
}

func (s *Server) modemDetail(w http.ResponseWriter, r *http.Request, m store.Modem) {
	ctx := r.Context()
	v := modemView{Modem: m, Live: s.cfg.Live != nil}
	if s.cfg.Health != nil {
		h, ok := s.cfg.Health()[m.MAC]
		if !ok {
			h = HealthFlag{State: "unknown", Reason: "not polled yet"}
		}
		v.Health = &h
	}
	if m.CustomerID != 0 {
		c, err := s.st.GetCustomer(ctx, m.CustomerID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Customer = &c
	}
	if m.PlanID != 0 {
		p, err := s.st.GetPlan(ctx, m.PlanID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Plan = &p
	}
	if can(s.page(r, "", ""), store.RoleOperator) {
		plans, err := s.planOptions(ctx, "")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Plans = plans
	}
	if m.CMTSID != 0 {
		c, err := s.st.GetCMTS(ctx, m.CMTSID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.CMTS = &c
	}
	if a, ok, err := s.st.ModemIPv6(ctx, m); err == nil && ok {
		v.IPv6 = a.String()
	}
	var err error
	if v.MTAs, _, err = s.st.ListMTAs(ctx, m.ID, store.Page{}); err != nil {
		s.fail(w, r, err)
		return
	}
	if v.CPEs, _, err = s.st.ListCPEs(ctx, m.ID, store.Page{}); err != nil {
		s.fail(w, r, err)
		return
	}
	for _, pv := range []struct {
		src Previewer
		dst **dhcp.Preview
	}{{s.cfg.DHCP4, &v.DHCP}, {s.cfg.DHCP6, &v.DHCP6}} {
		if pv.src == nil {
			continue
		}
		p, err := pv.src.Preview(m.MAC)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		*pv.dst = &p
		for _, rf := range pv.src.Refusals() {
			if rf.MAC == m.MAC || strings.Contains(rf.Reason, m.MAC) {
				v.Refused = append(v.Refused, rf)
			}
		}
	}
	if s.cfg.Configs != nil {
		s.configView(ctx, &v)
	}
	if s.cfg.LastFetch != nil {
		v.FetchKnown = true
		if f, ok := s.cfg.LastFetch(m.MAC); ok {
			v.Fetched = &f
		}
	}
	if v.Leases, err = s.st.ModemLeases4(ctx, m.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.cfg.TFTPRefusals != nil {
		v.TFTPRefused = tftpRefusalsOf(s.cfg.TFTPRefusals(), m, v.MTAs, v.Leases)
	}
	if v.Audit, err = s.st.ListAudit(ctx, "modem", m.ID, 20); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, modemPage(s.page(r, "Modem "+m.MAC, "/modems"), v))
}

// leaseTable shows a modem's leases and those of the devices behind it.
func leaseTable(list []store.Lease4) tableView {
	t := tableView{Columns: []column{{Text: "Address"}, {Text: "Device"}, {Text: "MAC"}, {Text: "State"}, {Text: "Relay"}, {Text: "Since"}, {Text: "Until"}},
		Empty: "No IPv4 lease yet: the modem has not asked, or got nothing (see the refusals above)."}
	now := time.Now()
	for _, l := range list {
		state := cell{Text: l.State, State: "off"}
		if l.State == store.StateActive && l.Ends.After(now) {
			state = cell{Text: "active", State: "good"}
		} else if l.State == store.StateActive {
			state = cell{Text: "ended", State: "off"}
		}
		t.Rows = append(t.Rows, []cell{
			{Text: l.IP, Mono: true}, {Text: l.Kind}, {Text: l.MAC, Mono: true}, state, {Text: l.GiAddr, Mono: true},
			{Text: ago(l.Starts), Title: absTime(l.Starts)}, {Text: absTime(l.Ends)},
		})
	}
	return t
}

// modemReset resets a modem over SNMP, audited with who, when and the
// outcome.
func (s *Server) modemReset(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, "That modem")
		return
	}
	m, err := s.st.GetModem(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess, _ := sessionFrom(r.Context())
	target := "/modems/" + idString(id)
	if s.cfg.ResetModem == nil {
		http.Redirect(w, r, withFlash(target, "Reset needs the SNMP poller (ip6m serve --poll)."), http.StatusSeeOther)
		return
	}
	msg := "Reset sent to modem " + m.MAC + "; it will drop off and come back in a minute or two."
	failed, err := s.resetModem(r.Context(), sess.User.Name, m)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if failed != nil {
		msg = "Reset of " + m.MAC + " failed: " + failed.Error()
	}
	http.Redirect(w, r, withFlash(target, msg), http.StatusSeeOther)
}

// modemState enables or disables a modem from its page (?enabled=1/0),
// audited like an edit: a disabled modem gets the walled garden or nothing
// at its next DHCP exchange (reset it to make that now).
func (s *Server) modemState(w http.ResponseWriter, r *http.Request) {
	s.modemQuickEdit(w, r, func(m *store.Modem) (string, error) {
		switch r.PostFormValue("enabled") {
		case "1":
			m.Enabled = true
			return "Modem " + m.MAC + " enabled; it gets its config at its next DHCP exchange (reset it to make that now).", nil
		case "0":
			m.Enabled = false
			return "Modem " + m.MAC + " disabled; it loses network access at its next DHCP exchange (reset it to make that now).", nil
		}
		return "", errors.New("enabled must be 1 or 0")
	})
}

// modemPlan moves a modem to another plan from its page.
func (s *Server) modemPlan(w http.ResponseWriter, r *http.Request) {
	s.modemQuickEdit(w, r, func(m *store.Modem) (string, error) {
		id, err := strconv.ParseInt(r.PostFormValue("plan_id"), 10, 64)
		if err != nil || id <= 0 {
			return "", errors.New("choose a plan")
		}
		p, err := s.st.GetPlan(r.Context(), id)
		if err != nil {
			return "", err
		}
		m.PlanID = id
		return "Modem " + m.MAC + " is on plan " + p.Name + " now; it gets that config at its next download (reset it to make that now).", nil
	})
}

// modemQuickEdit changes one thing of the path's modem with change, saves
// it (validated and audited as an edit) and returns to the modem's page.
func (s *Server) modemQuickEdit(w http.ResponseWriter, r *http.Request, change func(*store.Modem) (string, error)) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, "That modem")
		return
	}
	m, err := s.st.GetModem(r.Context(), id)
	if err != nil {
		s.failOrNotFound(w, r, err, "That modem")
		return
	}
	target := "/modems/" + idString(id)
	msg, err := change(&m)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = errors.New("that plan does not exist")
		}
		http.Redirect(w, r, withFlash(target, "Nothing was changed: "+err.Error()), http.StatusSeeOther)
		return
	}
	sess, _ := sessionFrom(r.Context())
	var verr *store.ValidationError
	switch err := s.st.UpdateModem(r.Context(), sess.User.Name, &m); {
	case errors.As(err, &verr):
		msg = "Nothing was changed: " + verr.Error()
	case err != nil:
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, withFlash(target, msg), http.StatusSeeOther)
}

// resetModem resets m over SNMP (ResetModem must be set) and audits it
// with actor and the outcome. failed is the reset's own error, which the
// audit row records; err is the audit's.
func (s *Server) resetModem(ctx context.Context, actor string, m store.Modem) (failed, err error) {
	outcome := "sent"
	if failed = s.cfg.ResetModem(ctx, m.MAC); failed != nil {
		outcome = "failed: " + failed.Error()
	}
	if err := s.st.RecordAction(ctx, actor, "reset", "modem", m.ID, outcome); err != nil {
		return failed, err
	}
	s.log.Info("modem reset", "mac", m.MAC, "user", actor, "outcome", outcome)
	return failed, nil
}

// tftpRefusalsOf picks the refusals that concern modem m, newest first, at
// most 20.
func tftpRefusalsOf(all []TFTPRefusal, m store.Modem, mtas []store.MTA, leases []store.Lease4) []TFTPRefusal {
	addrs := map[string]bool{}
	for _, l := range leases {
		addrs[l.IP] = true
	}
	var macs []string // as config names spell them: 12 hex digits
	for _, mac := range append([]string{m.MAC}, macsOf(mtas)...) {
		macs = append(macs, strings.ReplaceAll(mac, ":", ""))
	}
	var out []TFTPRefusal
	for i := len(all) - 1; i >= 0 && len(out) < 20; i-- {
		r := all[i]
		hit := addrs[r.From]
		name := strings.ToLower(r.Name)
		for _, mac := range macs {
			hit = hit || strings.Contains(name, mac)
		}
		if hit {
			out = append(out, r)
		}
	}
	return out
}

func macsOf(mtas []store.MTA) []string {
	out := make([]string, len(mtas))
	for i, m := range mtas {
		out[i] = m.MAC
	}
	return out
}

// configView fills the modem page's config section: the bytes TFTP would
// serve (without the per-request stamps), decoded, with both MICs checked
// against the CMTS's shared secret.
func (s *Server) configView(ctx context.Context, v *modemView) {
	b, err := s.cfg.Configs.Preview(ctx, v.Modem.MAC)
	if err != nil {
		v.ConfigErr = err.Error()
		return
	}
	v.ConfigSize = len(b)
	text, err := docsiscfg.Decode(b, docsiscfg.DecodeOptions{})
	if err != nil {
		v.ConfigErr = "decode: " + err.Error()
		return
	}
	v.Config = string(text)
	if v.CMTS != nil {
		if check, err := docsiscfg.VerifyMICs(b, []byte(v.CMTS.SharedSecret)); err == nil {
			v.ConfigMICs = check.String()
		}
	}
}
