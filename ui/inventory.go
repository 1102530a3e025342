package ui

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"ip6m/store"
)

func (s *Server) cmtsCRUD() registrar {
	return &crud[store.CMTS]{
		singular: "CMTS", plural: "CMTS", path: "/cmts",
		readRole: store.RoleViewer, writeRole: store.RoleOperator,
		list: func(r *http.Request) (listView, error) {
			list, err := s.st.ListCMTS(r.Context())
			if err != nil {
				return listView{}, err
			}
			counts, err := s.st.ModemsPerCMTS(r.Context())
			if err != nil {
				return listView{}, err
			}
			t := tableView{Columns: []column{{Text: "Name"}, {Text: "Management IPv4"}, {Text: "Management IPv6"}, {Text: "Modems", Num: true}, {Text: "Disabled", Num: true}, {Text: "Notes"}},
				Empty: "No CMTS yet. Add the first one: every modem and network hangs off a CMTS."}
			for _, c := range list {
				n := counts[c.ID]
				t.Rows = append(t.Rows, []cell{
					{Text: c.Name, Href: "/cmts/" + idString(c.ID)},
					{Text: c.MgmtIPv4, Mono: true}, {Text: c.MgmtIPv6, Mono: true},
					{Text: itoa(n[0]), Num: true, Href: "/modems?cmts=" + idString(c.ID)},
					{Text: itoa(n[1]), Num: true},
					{Text: c.Notes},
				})
			}
			return listView{Table: t}, nil
		},
		get:   s.st.GetCMTS,
		blank: func(*http.Request) store.CMTS { return store.CMTS{SNMPRead: "public"} },
		fields: func(_ context.Context, c store.CMTS, e map[string]string) ([]field, error) {
			return []field{
				{Name: "name", Label: "Name", Value: c.Name, Required: true, Error: e["name"], Help: "as the seed calls it: CMTS-1"},
				{Name: "mgmt_ipv4", Label: "Management IPv4", Value: c.MgmtIPv4, Mono: true, Error: e["mgmt_ipv4"]},
				{Name: "mgmt_ipv6", Label: "Management IPv6", Value: c.MgmtIPv6, Mono: true, Error: e["mgmt_ipv6"]},
				{Name: "snmp_read", Label: "SNMP read community", Value: c.SNMPRead, Error: e["snmp_read"]},
				{Name: "snmp_write", Label: "SNMP write community", Type: "password", Value: c.SNMPWrite, Error: e["snmp_write"], Help: "used only for actions such as resetting a modem"},
				{Name: "shared_secret", Label: "DOCSIS shared secret", Type: "password", Value: c.SharedSecret, Error: e["shared_secret"], Help: "the key of the CMTS MIC (TLV 7); must match the CMTS's cable shared-secret"},
				{Name: "notes", Label: "Notes", Type: "textarea", Rows: 3, Value: c.Notes, Error: e["notes"]},
			}, nil
		},
		parse: func(_ context.Context, r *http.Request, c *store.CMTS) map[string]string {
			c.Name, c.MgmtIPv4, c.MgmtIPv6 = formValue(r, "name"), formValue(r, "mgmt_ipv4"), formValue(r, "mgmt_ipv6")
			c.SNMPRead, c.SNMPWrite, c.SharedSecret = formValue(r, "snmp_read"), r.PostFormValue("snmp_write"), r.PostFormValue("shared_secret")
			c.Notes = formValue(r, "notes")
			return nil
		},
		create: s.st.CreateCMTS, update: s.st.UpdateCMTS, remove: s.st.DeleteCMTS,
		id:     func(c *store.CMTS) *int64 { return &c.ID },
		title:  func(c store.CMTS) string { return c.Name },
		detail: (*Server).cmtsDetail,
	}
}

// cmtsView is the CMTS page: its facts, its networks, and its modems'
// upstream levels as it reports them.
type cmtsView struct {
	CMTS     store.CMTS
	Modems   int
	Disabled int
	Networks tableView
	Upstream tableView
	Polled   bool
	At       time.Time
}

func (s *Server) cmtsDetail(w http.ResponseWriter, r *http.Request, c store.CMTS) {
	ctx := r.Context()
	per, err := s.st.ModemsPerCMTS(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	nets, err := s.st.ListNetworks(ctx, c.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := cmtsView{CMTS: c, Modems: per[c.ID][0], Disabled: per[c.ID][1]}
	v.Networks = tableView{Columns: []column{{Text: "Prefix"}, {Text: "Purpose"}, {Text: "Gateway"}}, Empty: "No networks on this CMTS."}
	for _, n := range nets {
		v.Networks.Rows = append(v.Networks.Rows, []cell{{Text: n.Prefix, Href: "/networks/" + idString(n.ID), Mono: true}, {Text: purposeLabel(n.Purpose)}, {Text: n.Gateway, Mono: true}})
	}
	v.Upstream = tableView{Columns: []column{{Text: "Modem"}, {Text: "State"}, {Text: "Address"}, {Text: "Receive power", Num: true}, {Text: "SNR", Num: true}},
		Empty: "The CMTS has not reported any modem yet."}
	if s.cfg.Upstream != nil {
		rows, at, ok := s.cfg.Upstream(c.ID)
		v.Polled, v.At = ok, at
		slices.SortFunc(rows, func(a, b UpstreamRow) int { return strings.Compare(a.MAC, b.MAC) })
		for _, u := range rows {
			state := cell{Text: "online", State: "good"}
			if !u.Online {
				state = cell{Text: "not registered", State: "off"}
			}
			v.Upstream.Rows = append(v.Upstream.Rows, []cell{
				{Text: u.MAC, Href: "/search?q=" + urlQuery(u.MAC), Mono: true}, state, {Text: u.IP, Mono: true},
				{Text: fmt.Sprintf("%.1f dBmV", u.RxPower), Num: true, State: badgeOf(u.RxState)},
				{Text: fmt.Sprintf("%.1f dB", u.SNR), Num: true, State: badgeOf(u.SNRState)},
			})
		}
	}
	s.render(w, r, cmtsPage(s.page(r, "CMTS "+c.Name, "/cmts"), v))
}

// cmtsOptions lists the CMTSes for a select.
func (s *Server) cmtsOptions(ctx context.Context, empty string) ([]option, error) {
	list, err := s.st.ListCMTS(ctx)
	if err != nil {
		return nil, err
	}
	var opts []option
	for _, c := range list {
		opts = append(opts, option{idString(c.ID), c.Name})
	}
	return selectOptions(empty, opts...), nil
}

// planOptions lists the plans for a select.
func (s *Server) planOptions(ctx context.Context, empty string) ([]option, error) {
	list, err := s.st.ListPlans(ctx)
	if err != nil {
		return nil, err
	}
	var opts []option
	for _, p := range list {
		opts = append(opts, option{idString(p.ID), p.Name})
	}
	return selectOptions(empty, opts...), nil
}

func (s *Server) networksCRUD() registrar {
	return &crud[store.Network]{
		singular: "network", plural: "Networks", path: "/networks",
		readRole: store.RoleViewer, writeRole: store.RoleOperator,
		list: func(r *http.Request) (listView, error) {
			cmtsID, _ := strconv.ParseInt(r.URL.Query().Get("cmts"), 10, 64)
			list, err := s.st.ListNetworks(r.Context(), cmtsID)
			if err != nil {
				return listView{}, err
			}
			names, err := s.cmtsNames(r.Context())
			if err != nil {
				return listView{}, err
			}
			t := tableView{Columns: []column{{Text: "Prefix"}, {Text: "Name"}, {Text: "CMTS"}, {Text: "Purpose"}, {Text: "Gateway"}, {Text: "Dynamic ranges"}, {Text: "Prefix delegation"}, {Text: "Lease", Num: true}},
				Empty: "No networks yet."}
			for _, n := range list {
				var ranges, pools []string
				for _, rg := range n.Ranges {
					ranges = append(ranges, rg.First+" – "+rg.Last)
				}
				for _, p := range n.PDPools {
					pools = append(pools, fmt.Sprintf("%s – %s /%d", p.First, p.Last, p.Len))
				}
				cmts := names[n.CMTSID]
				if n.CMTSID == 0 {
					cmts = "(server)"
				}
				t.Rows = append(t.Rows, []cell{
					{Text: n.Prefix, Href: "/networks/" + idString(n.ID), Mono: true},
					{Text: n.Name}, {Text: cmts}, {Text: purposeLabel(n.Purpose)}, {Text: n.Gateway, Mono: true},
					{Text: strings.Join(ranges, ", "), Mono: true}, {Text: strings.Join(pools, ", "), Mono: true},
					{Text: duration(n.LeaseTime), Num: true},
				})
			}
			opts, err := s.cmtsOptions(r.Context(), "All CMTS")
			if err != nil {
				return listView{}, err
			}
			return listView{Table: t, Filters: []field{{Name: "cmts", Label: "CMTS", Type: "select", Options: opts, Value: r.URL.Query().Get("cmts")}}}, nil
		},
		get: s.st.GetNetwork,
		blank: func(r *http.Request) store.Network {
			id, _ := strconv.ParseInt(r.URL.Query().Get("cmts"), 10, 64)
			return store.Network{CMTSID: id, Purpose: store.PurposeCM, LeaseTime: 86400, MaxLeaseTime: 86400, UnknownPolicy: store.PolicyIgnore}
		},
		fields: func(ctx context.Context, n store.Network, e map[string]string) ([]field, error) {
			opts, err := s.cmtsOptions(ctx, "(none: the server's own network)")
			if err != nil {
				return nil, err
			}
			var ranges, pools []string
			for _, rg := range n.Ranges {
				ranges = append(ranges, rg.First+" - "+rg.Last)
			}
			for _, p := range n.PDPools {
				pools = append(pools, fmt.Sprintf("%s - %s /%d", p.First, p.Last, p.Len))
			}
			return []field{
				{Name: "prefix", Label: "Prefix", Value: n.Prefix, Required: true, Mono: true, Error: e["prefix"], Help: "a v4 subnet (10.10.0.0/16) or a v6 prefix (2001:db8:4:11::/64)"},
				{Name: "name", Label: "Name", Value: n.Name, Error: e["name"]},
				{Name: "cmts_id", Label: "CMTS", Type: "select", Options: opts, Value: idString(n.CMTSID), Error: e["cmts_id"]},
				{Name: "purpose", Label: "Purpose", Type: "select", Value: n.Purpose, Error: e["purpose"], Options: []option{
					{store.PurposeCM, purposeLabel(store.PurposeCM)}, {store.PurposeMTA, purposeLabel(store.PurposeMTA)},
					{store.PurposeCPE, purposeLabel(store.PurposeCPE)}, {store.PurposeServer, purposeLabel(store.PurposeServer)}}},
				{Name: "gateway", Label: "Gateway (router)", Value: n.Gateway, Mono: true, Error: e["gateway"]},
				{Name: "ranges", Label: "Dynamic ranges", Type: "textarea", Rows: 3, Mono: true, Value: strings.Join(ranges, "\n"), Error: firstError(e, "ranges"), Help: "one per line: FIRST - LAST"},
				{Name: "pd_pools", Label: "Prefix delegation pools (v6)", Type: "textarea", Rows: 2, Mono: true, Value: strings.Join(pools, "\n"), Error: firstError(e, "pd_pools"), Help: "one per line: FIRST - LAST /LEN, e.g. 2001:db8:4:100:: - 2001:db8:4:200:: /64"},
				{Name: "lease_time", Label: "Lease time (s)", Type: "number", Value: strconv.FormatInt(n.LeaseTime, 10), Error: e["lease_time"]},
				{Name: "max_lease_time", Label: "Maximum lease time (s)", Type: "number", Value: strconv.FormatInt(n.MaxLeaseTime, 10), Error: e["max_lease_time"]},
				{Name: "dns_servers", Label: "DNS servers", Value: n.DNSServers, Mono: true, Error: e["dns_servers"], Help: "comma separated"},
				{Name: "time_servers", Label: "Time servers (RFC 868)", Value: n.TimeServers, Mono: true, Error: e["time_servers"]},
				{Name: "log_servers", Label: "Log servers (syslog)", Value: n.LogServers, Mono: true, Error: e["log_servers"]},
				{Name: "time_offset", Label: "Time offset (s east of UTC)", Type: "number", Value: strconv.FormatInt(n.TimeOffset, 10), Error: e["time_offset"]},
				{Name: "domain", Label: "Domain", Value: n.Domain, Error: e["domain"]},
				{Name: "unknown_policy", Label: "Unknown or disabled modems", Type: "select", Value: n.UnknownPolicy, Error: e["unknown_policy"], Options: []option{
					{store.PolicyIgnore, "no answer"}, {store.PolicyWalled, "an address and the \"network access disabled\" config"}}},
				{Name: "self_register", Label: "Unknown modems may register themselves (their customer, on the registration page)", Type: "checkbox", Checked: n.SelfRegister, Error: e["self_register"],
					Help: "cable modem networks with the walled garden only; the registration page runs with serve --portal"},
				{Name: "notes", Label: "Notes", Type: "textarea", Rows: 2, Value: n.Notes, Error: e["notes"]},
			}, nil
		},
		parse: func(_ context.Context, r *http.Request, n *store.Network) map[string]string {
			errs := map[string]string{}
			n.Prefix, n.Name, n.Purpose, n.Gateway = formValue(r, "prefix"), formValue(r, "name"), formValue(r, "purpose"), formValue(r, "gateway")
			formInt(r, "cmts_id", &n.CMTSID, errs)
			formInt(r, "lease_time", &n.LeaseTime, errs)
			formInt(r, "max_lease_time", &n.MaxLeaseTime, errs)
			formInt(r, "time_offset", &n.TimeOffset, errs)
			n.DNSServers, n.TimeServers, n.LogServers = formValue(r, "dns_servers"), formValue(r, "time_servers"), formValue(r, "log_servers")
			n.Domain, n.UnknownPolicy, n.Notes = formValue(r, "domain"), formValue(r, "unknown_policy"), formValue(r, "notes")
			n.SelfRegister = r.PostFormValue("self_register") == "on"
			n.Ranges, n.PDPools = nil, nil
			for _, line := range lines(r.PostFormValue("ranges")) {
				a, b, ok := strings.Cut(line, "-")
				if !ok {
					errs["ranges"] = fmt.Sprintf("%q: write FIRST - LAST", line)
					continue
				}
				n.Ranges = append(n.Ranges, store.Range{First: strings.TrimSpace(a), Last: strings.TrimSpace(b)})
			}
			for _, line := range lines(r.PostFormValue("pd_pools")) {
				rest, l, ok := strings.Cut(line, "/")
				a, b, ok2 := strings.Cut(rest, " - ")
				ln, err := strconv.Atoi(strings.TrimSpace(l))
				if !ok || !ok2 || err != nil {
					errs["pd_pools"] = fmt.Sprintf("%q: write FIRST - LAST /LEN", line)
					continue
				}
				n.PDPools = append(n.PDPools, store.PDPool{First: strings.TrimSpace(a), Last: strings.TrimSpace(b), Len: ln})
			}
			return errs
		},
		create: s.st.CreateNetwork, update: s.st.UpdateNetwork, remove: s.st.DeleteNetwork,
		id:    func(n *store.Network) *int64 { return &n.ID },
		title: func(n store.Network) string { return n.Prefix },
	}
}

// firstError finds the message for field or any of its indexed entries
// ("ranges.0").
func firstError(e map[string]string, field string) string {
	if m, ok := e[field]; ok {
		return m
	}
	for k, m := range e {
		if strings.HasPrefix(k, field+".") {
			return m
		}
	}
	return ""
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func purposeLabel(p string) string {
	switch p {
	case store.PurposeCM:
		return "cable modems"
	case store.PurposeMTA:
		return "MTAs (voice)"
	case store.PurposeCPE:
		return "CPEs (customers)"
	case store.PurposeServer:
		return "server LAN"
	}
	return p
}

// duration renders seconds briefly: 7200 → "2 h".
func duration(sec int64) string {
	switch {
	case sec%86400 == 0:
		return fmt.Sprintf("%d d", sec/86400)
	case sec%3600 == 0:
		return fmt.Sprintf("%d h", sec/3600)
	case sec%60 == 0:
		return fmt.Sprintf("%d min", sec/60)
	}
	return fmt.Sprintf("%d s", sec)
}

func (s *Server) cmtsNames(ctx context.Context) (map[int64]string, error) {
	list, err := s.st.ListCMTS(ctx)
	if err != nil {
		return nil, err
	}
	m := map[int64]string{}
	for _, c := range list {
		m[c.ID] = c.Name
	}
	return m, nil
}

func (s *Server) plansCRUD() registrar {
	return &crud[store.Plan]{
		singular: "plan", plural: "Plans", path: "/plans",
		readRole: store.RoleViewer, writeRole: store.RoleOperator,
		list: func(r *http.Request) (listView, error) {
			list, err := s.st.ListPlans(r.Context())
			if err != nil {
				return listView{}, err
			}
			t := tableView{Columns: []column{{Text: "Name"}, {Text: "Description"}, {Text: "Max CPE", Num: true}, {Text: "MTA config"}, {Text: "Changed"}},
				Empty: "No plans yet. A plan holds the DOCSIS config template its modems get."}
			for _, p := range list {
				mta := "no"
				if strings.TrimSpace(p.MTAConfig) != "" {
					mta = "yes"
				}
				t.Rows = append(t.Rows, []cell{
					{Text: p.Name, Href: "/plans/" + idString(p.ID)}, {Text: p.Description},
					{Text: strconv.FormatInt(p.MaxCPE, 10), Num: true}, {Text: mta},
					{Text: ago(p.Updated), Title: absTime(p.Updated)},
				})
			}
			return listView{Table: t}, nil
		},
		get: s.st.GetPlan,
		blank: func(*http.Request) store.Plan {
			return store.Plan{MaxCPE: 1, Config: "Main\n{\n\tNetworkAccess 1;\n\tMaxCPE {{.MaxCPE}};\n}\n"}
		},
		fields: func(_ context.Context, p store.Plan, e map[string]string) ([]field, error) {
			return []field{
				{Name: "name", Label: "Name", Value: p.Name, Required: true, Error: e["name"]},
				{Name: "description", Label: "Description", Value: p.Description, Error: e["description"]},
				{Name: "max_cpe", Label: "Maximum CPEs per modem", Type: "number", Value: strconv.FormatInt(p.MaxCPE, 10), Error: e["max_cpe"], Help: "DHCP leases at most this many CPEs behind each modem"},
				{Name: "config", Label: "DOCSIS config template", Type: "textarea", Rows: 22, Mono: true, Value: p.Config, Required: true, Error: e["config"], Check: "/plans/check?field=config", Help: "the docsis tool's text syntax; {{.MaxCPE}} and the other per-modem variables are filled in for each modem"},
				{Name: "mta_config", Label: "MTA config template (PacketCable)", Type: "textarea", Rows: 12, Mono: true, Value: p.MTAConfig, Error: e["mta_config"], Check: "/plans/check?field=mta_config"},
			}, nil
		},
		parse: func(_ context.Context, r *http.Request, p *store.Plan) map[string]string {
			errs := map[string]string{}
			p.Name, p.Description = formValue(r, "name"), formValue(r, "description")
			formInt(r, "max_cpe", &p.MaxCPE, errs)
			p.Config, p.MTAConfig = normalizeNewlines(r.PostFormValue("config")), normalizeNewlines(r.PostFormValue("mta_config"))
			checkPlanTemplates(p, errs)
			return errs
		},
		create: s.st.CreatePlan, update: s.st.UpdatePlan, remove: s.st.DeletePlan,
		id:     func(p *store.Plan) *int64 { return &p.ID },
		title:  func(p store.Plan) string { return p.Name },
		detail: (*Server).planDetail,
	}
}

// checkPlanTemplates compiles a plan's templates for a sample modem, so a
// syntax error is reported at its line when the plan is saved, not when a
// modem asks for its config.
func checkPlanTemplates(p *store.Plan, errs map[string]string) {
	for _, f := range [...]struct{ name, text string }{{"config", p.Config}, {"mta_config", p.MTAConfig}} {
		if strings.TrimSpace(f.text) == "" {
			continue // a missing config is the store's error
		}
		if c := checkTemplate(*p, f.name, f.text); !c.OK {
			errs[f.name] = c.lineMsg()
		}
	}
}

// normalizeNewlines turns a browser's CRLF textarea text into LF.
func normalizeNewlines(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func (s *Server) customersCRUD() registrar {
	return &crud[store.Customer]{
		singular: "customer", plural: "Customers", path: "/customers",
		readRole: store.RoleViewer, writeRole: store.RoleOperator,
		list: func(r *http.Request) (listView, error) {
			q := r.URL.Query().Get("q")
			list, total, err := s.st.ListCustomers(r.Context(), q, requestedPage(r))
			if err != nil {
				return listView{}, err
			}
			t := tableView{Columns: []column{{Text: "Account"}, {Text: "Name"}, {Text: "Address"}, {Text: "Phone"}, {Text: "E-mail"}}, Empty: "No customers match."}
			for _, c := range list {
				t.Rows = append(t.Rows, []cell{
					{Text: c.Account, Href: "/customers/" + idString(c.ID), Mono: true}, {Text: c.Name, Href: "/customers/" + idString(c.ID)},
					{Text: c.Address}, {Text: c.Phone}, {Text: c.Email},
				})
			}
			return listView{Table: t, Pager: pagerFor(r, total), Search: "account or name"}, nil
		},
		get:   s.st.GetCustomer,
		blank: func(*http.Request) store.Customer { return store.Customer{} },
		fields: func(_ context.Context, c store.Customer, e map[string]string) ([]field, error) {
			return []field{
				{Name: "account", Label: "Account number", Value: c.Account, Required: true, Mono: true, Error: e["account"]},
				{Name: "name", Label: "Name", Value: c.Name, Required: true, Error: e["name"]},
				{Name: "address", Label: "Address", Value: c.Address, Error: e["address"]},
				{Name: "phone", Label: "Phone", Value: c.Phone, Error: e["phone"]},
				{Name: "email", Label: "E-mail", Type: "email", Value: c.Email, Error: e["email"]},
				{Name: "notes", Label: "Notes", Type: "textarea", Rows: 3, Value: c.Notes, Error: e["notes"]},
			}, nil
		},
		parse: func(_ context.Context, r *http.Request, c *store.Customer) map[string]string {
			c.Account, c.Name, c.Address = formValue(r, "account"), formValue(r, "name"), formValue(r, "address")
			c.Phone, c.Email, c.Notes = formValue(r, "phone"), formValue(r, "email"), formValue(r, "notes")
			return nil
		},
		create: s.st.CreateCustomer, update: s.st.UpdateCustomer, remove: s.st.DeleteCustomer,
		id:    func(c *store.Customer) *int64 { return &c.ID },
		title: func(c store.Customer) string { return c.Account + " " + c.Name },
		detail: func(s *Server, w http.ResponseWriter, r *http.Request, c store.Customer) {
			modems, _, err := s.st.ListModems(r.Context(), store.ModemFilter{CustomerID: c.ID}, store.Page{Size: 200})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			p := s.page(r, "Customer "+c.Account, "/customers")
			s.render(w, r, customerPage(p, c, modemTable(modems, nil)))
		},
	}
}
