package ui

import (
	"context"
	"net/http"
	"strconv"

	"ip6m/store"
)

// modemRef resolves the "modem" form field (a MAC in any notation) to the
// modem's id, or records a field error.
func (s *Server) modemRef(ctx context.Context, r *http.Request, errs map[string]string) int64 {
	mac := formValue(r, "modem")
	if mac == "" {
		errs["modem"] = "is required: the MAC of the modem this device is behind"
		return 0
	}
	m, err := s.st.ModemByMAC(ctx, mac)
	if err != nil {
		errs["modem"] = err.Error()
		return 0
	}
	return m.ID
}

// modemMAC is the MAC of modem id for a form ("" when none).
func (s *Server) modemMAC(ctx context.Context, id int64) (string, error) {
	if id == 0 {
		return "", nil
	}
	m, err := s.st.GetModem(ctx, id)
	return m.MAC, err
}

// blankFromModem prefills the owning modem from /x/new?modem=ID.
func blankModemID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.URL.Query().Get("modem"), 10, 64)
	return id
}

func (s *Server) mtasCRUD() registrar {
	return &crud[store.MTA]{
		singular: "MTA", plural: "MTAs", path: "/mtas",
		readRole: store.RoleViewer, writeRole: store.RoleOperator,
		list: func(r *http.Request) (listView, error) {
			list, total, err := s.st.ListMTAs(r.Context(), 0, requestedPage(r))
			if err != nil {
				return listView{}, err
			}
			var ids []int64
			for _, m := range list {
				ids = append(ids, m.ModemID)
			}
			macs, err := s.st.ModemMACs(r.Context(), ids)
			if err != nil {
				return listView{}, err
			}
			t := tableView{Columns: []column{{Text: "MAC"}, {Text: "Modem"}, {Text: "Phone lines"}, {Text: "Fixed IPv4"}, {Text: "Notes"}}, Empty: "No MTAs yet."}
			for _, m := range list {
				t.Rows = append(t.Rows, []cell{
					{Text: m.MAC, Href: "/mtas/" + idString(m.ID), Mono: true},
					{Text: macs[m.ModemID], Href: "/modems/" + idString(m.ModemID), Mono: true},
					{Text: m.PhoneLines}, {Text: m.FixedIPv4, Mono: true}, {Text: m.Notes},
				})
			}
			return listView{Table: t, Pager: pagerFor(r, total)}, nil
		},
		get:   s.st.GetMTA,
		blank: func(r *http.Request) store.MTA { return store.MTA{ModemID: blankModemID(r)} },
		fields: func(ctx context.Context, m store.MTA, e map[string]string) ([]field, error) {
			modem, err := s.modemMAC(ctx, m.ModemID)
			if err != nil {
				return nil, err
			}
			plans, err := s.planOptions(ctx, "(the MTA config of the modem's plan)")
			if err != nil {
				return nil, err
			}
			return []field{
				{Name: "mac", Label: "MAC address", Value: m.MAC, Required: true, Mono: true, Error: e["mac"], Help: "an embedded MTA is usually the modem's MAC + 1"},
				{Name: "modem", Label: "Modem MAC", Value: modem, Required: true, Mono: true, Error: firstNonEmpty(e["modem"], e["modem_id"])},
				{Name: "plan_id", Label: "Plan (MTA config)", Type: "select", Options: plans, Value: idString(m.PlanID), Error: e["plan_id"]},
				{Name: "phone_lines", Label: "Phone lines", Value: m.PhoneLines, Error: e["phone_lines"], Help: "comma separated numbers, line 1 first"},
				{Name: "fixed_ipv4", Label: "Fixed IPv4", Value: m.FixedIPv4, Mono: true, Error: e["fixed_ipv4"]},
				{Name: "notes", Label: "Notes", Type: "textarea", Rows: 3, Value: m.Notes, Error: e["notes"]},
			}, nil
		},
		parse: func(ctx context.Context, r *http.Request, m *store.MTA) map[string]string {
			errs := map[string]string{}
			m.MAC = formValue(r, "mac")
			m.ModemID = s.modemRef(ctx, r, errs)
			formInt(r, "plan_id", &m.PlanID, errs)
			m.PhoneLines, m.FixedIPv4, m.Notes = formValue(r, "phone_lines"), formValue(r, "fixed_ipv4"), formValue(r, "notes")
			return errs
		},
		create: s.st.CreateMTA, update: s.st.UpdateMTA, remove: s.st.DeleteMTA,
		id:    func(m *store.MTA) *int64 { return &m.ID },
		title: func(m store.MTA) string { return m.MAC },
	}
}

func (s *Server) cpesCRUD() registrar {
	return &crud[store.CPE]{
		singular: "CPE", plural: "CPEs", path: "/cpes",
		readRole: store.RoleViewer, writeRole: store.RoleOperator,
		list: func(r *http.Request) (listView, error) {
			list, total, err := s.st.ListCPEs(r.Context(), 0, requestedPage(r))
			if err != nil {
				return listView{}, err
			}
			var ids []int64
			for _, c := range list {
				ids = append(ids, c.ModemID)
			}
			macs, err := s.st.ModemMACs(r.Context(), ids)
			if err != nil {
				return listView{}, err
			}
			t := tableView{Columns: []column{{Text: "MAC"}, {Text: "Modem"}, {Text: "Fixed IPv4"}, {Text: "Notes"}}, Empty: "No registered CPEs. Most CPEs need no entry: they get leases behind their modem."}
			for _, c := range list {
				t.Rows = append(t.Rows, []cell{
					{Text: c.MAC, Href: "/cpes/" + idString(c.ID), Mono: true},
					{Text: macs[c.ModemID], Href: "/modems/" + idString(c.ModemID), Mono: true},
					{Text: c.FixedIPv4, Mono: true}, {Text: c.Notes},
				})
			}
			return listView{Table: t, Pager: pagerFor(r, total)}, nil
		},
		get:   s.st.GetCPE,
		blank: func(r *http.Request) store.CPE { return store.CPE{ModemID: blankModemID(r)} },
		fields: func(ctx context.Context, c store.CPE, e map[string]string) ([]field, error) {
			modem, err := s.modemMAC(ctx, c.ModemID)
			if err != nil {
				return nil, err
			}
			return []field{
				{Name: "mac", Label: "MAC address", Value: c.MAC, Required: true, Mono: true, Error: e["mac"]},
				{Name: "modem", Label: "Modem MAC", Value: modem, Required: true, Mono: true, Error: firstNonEmpty(e["modem"], e["modem_id"])},
				{Name: "fixed_ipv4", Label: "Fixed IPv4", Value: c.FixedIPv4, Mono: true, Error: e["fixed_ipv4"]},
				{Name: "notes", Label: "Notes", Type: "textarea", Rows: 3, Value: c.Notes, Error: e["notes"]},
			}, nil
		},
		parse: func(ctx context.Context, r *http.Request, c *store.CPE) map[string]string {
			errs := map[string]string{}
			c.MAC = formValue(r, "mac")
			c.ModemID = s.modemRef(ctx, r, errs)
			c.FixedIPv4, c.Notes = formValue(r, "fixed_ipv4"), formValue(r, "notes")
			return errs
		},
		create: s.st.CreateCPE, update: s.st.UpdateCPE, remove: s.st.DeleteCPE,
		id:    func(c *store.CPE) *int64 { return &c.ID },
		title: func(c store.CPE) string { return c.MAC },
	}
}

func (s *Server) usersCRUD() registrar {
	return &crud[store.User]{
		singular: "user", plural: "Users", path: "/users",
		readRole: store.RoleAdmin, writeRole: store.RoleAdmin,
		list: func(r *http.Request) (listView, error) {
			list, err := s.st.ListUsers(r.Context())
			if err != nil {
				return listView{}, err
			}
			t := tableView{Columns: []column{{Text: "Name"}, {Text: "Role"}, {Text: "State"}, {Text: "Last login"}}}
			for _, u := range list {
				state := cell{Text: "active", State: "good"}
				if u.Disabled {
					state = cell{Text: "disabled", State: "off"}
				}
				t.Rows = append(t.Rows, []cell{
					{Text: u.Name, Href: "/users/" + idString(u.ID)}, {Text: u.Role}, state,
					{Text: ago(u.LastLogin), Title: absTime(u.LastLogin)},
				})
			}
			return listView{Table: t}, nil
		},
		get:   s.st.GetUser,
		blank: func(*http.Request) store.User { return store.User{Role: store.RoleOperator} },
		fields: func(_ context.Context, u store.User, e map[string]string) ([]field, error) {
			var roles []option
			for _, r := range store.Roles {
				roles = append(roles, option{r, roleLabel(r)})
			}
			pwHelp := "at least 10 characters"
			if u.ID != 0 {
				pwHelp = "leave empty to keep the current password; a new one ends the user's sessions"
			}
			return []field{
				{Name: "name", Label: "User name", Value: u.Name, Required: true, Error: e["name"]},
				{Name: "role", Label: "Role", Type: "select", Options: roles, Value: u.Role, Error: e["role"]},
				{Name: "password", Label: "Password", Type: "password", Error: e["password"], Help: pwHelp, Required: u.ID == 0},
				{Name: "disabled", Label: "Disabled (cannot log in)", Type: "checkbox", Checked: u.Disabled, Error: e["disabled"]},
			}, nil
		},
		parse: func(_ context.Context, r *http.Request, u *store.User) map[string]string {
			u.Name, u.Role = formValue(r, "name"), formValue(r, "role")
			u.Password = r.PostFormValue("password")
			u.Disabled = r.PostFormValue("disabled") == "on"
			return nil
		},
		create: s.st.CreateUser, update: s.st.UpdateUser, remove: s.st.DeleteUser,
		id:    func(u *store.User) *int64 { return &u.ID },
		title: func(u store.User) string { return u.Name },
	}
}

func roleLabel(r string) string {
	switch r {
	case store.RoleAdmin:
		return "admin: everything, users and settings included"
	case store.RoleOperator:
		return "operator: inventory and actions"
	case store.RoleViewer:
		return "viewer: read only"
	}
	return r
}
