package ui

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ip6m/store"
)

// apiResource is one inventory entity in the API, on top of the store's
// functions for T, with D its JSON form. Routes:
//
//	GET    /api/v1/x       list (filters, limit, offset)   readRole
//	POST   /api/v1/x       create                          writeRole
//	GET    /api/v1/x/{id}  one                             readRole
//	PUT    /api/v1/x/{id}  replace: absent fields take their defaults
//	PATCH  /api/v1/x/{id}  change: absent fields keep their values
//	DELETE /api/v1/x/{id}  delete                          writeRole
//
// Validation is the store's (and, for plans, the template check the UI
// runs too); its field errors come back under the JSON field names.
// Write-only fields (secrets, passwords) are never returned and are kept
// when absent, on PUT as on PATCH.
type apiResource[T, D any] struct {
	name                string // path segment: "modems"
	readRole, writeRole string
	// filters are the list's query parameters besides limit and offset.
	filters []string
	// list reads its filters from p and, before it queries, returns
	// p.err() if any parameter (its own, limit, offset or an unknown one)
	// is wrong, so that all are reported at once.
	list func(ctx context.Context, p *params, page store.Page) ([]T, int, error)
	get  func(context.Context, int64) (T, error)
	// blank is a new T with the defaults a create starts from.
	blank func() T
	// check, when set, runs before the store's own validation.
	check          func(*T) error
	create, update func(context.Context, string, *T) error
	remove         func(context.Context, string, int64) error
	// out renders T; in copies D's writable fields onto T (leaving its id
	// and times alone).
	out func(T) D
	in  func(D, *T)
	id  func(*T) int64
}

type registrarAPI interface{ registerAPI(*Server) }

func (a *apiResource[T, D]) registerAPI(s *Server) {
	base := apiPrefix + "/" + a.name
	s.apiHandle("GET "+base, a.readRole, func(w http.ResponseWriter, r *http.Request) error {
		p := queryParams(r, append([]string{"limit", "offset"}, a.filters...)...)
		page := p.page()
		list, total, err := a.list(r.Context(), p, page)
		if err == nil {
			err = p.err() // list checks it before it queries; this is a backstop
		}
		if err != nil {
			return err
		}
		writeList(w, list, total, page, a.out)
		return nil
	})
	s.apiHandle("POST "+base, a.writeRole, func(w http.ResponseWriter, r *http.Request) error {
		v := a.blank()
		if err := a.save(w, r, &v, a.out(v), a.create); err != nil {
			return err
		}
		w.Header().Set("Location", base+"/"+strconv.FormatInt(a.id(&v), 10))
		writeJSON(w, http.StatusCreated, a.out(v))
		return nil
	})
	s.apiHandle("GET "+base+"/{id}", a.readRole, func(w http.ResponseWriter, r *http.Request) error {
		v, err := a.load(r)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, a.out(v))
		return nil
	})
	// PUT starts the JSON from the defaults, PATCH from the row as it is;
	// either way the body is laid over it and copied onto the stored row,
	// so write-only fields that the JSON never carries are kept.
	for _, m := range []struct {
		method string
		start  func(T) D
	}{{"PUT", func(T) D { return a.out(a.blank()) }}, {"PATCH", a.out}} {
		start := m.start
		s.apiHandle(m.method+" "+base+"/{id}", a.writeRole, func(w http.ResponseWriter, r *http.Request) error {
			v, err := a.load(r)
			if err != nil {
				return err
			}
			if err := a.save(w, r, &v, start(v), a.update); err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, a.out(v))
			return nil
		})
	}
	s.apiHandle("DELETE "+base+"/{id}", a.writeRole, func(w http.ResponseWriter, r *http.Request) error {
		id, err := apiID(r)
		if err != nil {
			return err
		}
		if err := a.remove(r.Context(), apiUser(r).Name, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (a *apiResource[T, D]) load(r *http.Request) (T, error) {
	id, err := apiID(r)
	if err != nil {
		var zero T
		return zero, err
	}
	return a.get(r.Context(), id)
}

// save lays the request body over d, copies it onto v and stores v with op
// as the token's user (the store audits the change under that name).
func (a *apiResource[T, D]) save(w http.ResponseWriter, r *http.Request, v *T, d D, op func(context.Context, string, *T) error) error {
	if err := decodeBody(w, r, &d); err != nil {
		return err
	}
	a.in(d, v)
	if a.check != nil {
		if err := a.check(v); err != nil {
			return err
		}
	}
	return op(r.Context(), apiUser(r).Name, v)
}

// optID renders an optional reference (0: none) as null.
func optID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func fromOptID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// optTime renders a time that may be unset (zero) as null.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// setSecret copies a write-only field when the body carried it.
func setSecret(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

// listText renders a stored "a, b" list as an array and back.
func listText(s string) []string {
	l := store.SplitList(s)
	if l == nil {
		return []string{}
	}
	return l
}

type cmtsJSON struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	MgmtIPv4     string    `json:"mgmt_ipv4"`
	MgmtIPv6     string    `json:"mgmt_ipv6"`
	SNMPRead     string    `json:"snmp_read"`
	SNMPWrite    *string   `json:"snmp_write,omitempty"`
	SharedSecret *string   `json:"shared_secret,omitempty"`
	HasSNMPWrite bool      `json:"has_snmp_write"`
	HasSecret    bool      `json:"has_shared_secret"`
	Notes        string    `json:"notes"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

type networkJSON struct {
	ID            int64        `json:"id"`
	CMTSID        *int64       `json:"cmts_id"`
	Name          string       `json:"name"`
	Family        int          `json:"family"`
	Prefix        string       `json:"prefix"`
	Purpose       string       `json:"purpose"`
	Gateway       string       `json:"gateway"`
	LeaseTime     int64        `json:"lease_time"`
	MaxLeaseTime  int64        `json:"max_lease_time"`
	DNSServers    []string     `json:"dns_servers"`
	TimeServers   []string     `json:"time_servers"`
	LogServers    []string     `json:"log_servers"`
	TimeOffset    int64        `json:"time_offset"`
	Domain        string       `json:"domain"`
	UnknownPolicy string       `json:"unknown_policy"`
	Notes         string       `json:"notes"`
	Ranges        []rangeJSON  `json:"ranges"`
	PDPools       []pdPoolJSON `json:"pd_pools"`
	Created       time.Time    `json:"created"`
	Updated       time.Time    `json:"updated"`
}

type rangeJSON struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

type pdPoolJSON struct {
	First string `json:"first"`
	Last  string `json:"last"`
	Len   int    `json:"len"`
}

type planJSON struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Config      string    `json:"config"`
	MTAConfig   string    `json:"mta_config"`
	MaxCPE      int64     `json:"max_cpe"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

func planOut(p store.Plan) planJSON {
	return planJSON{ID: p.ID, Name: p.Name, Description: p.Description, Config: p.Config, MTAConfig: p.MTAConfig, MaxCPE: p.MaxCPE,
		Created: p.Created, Updated: p.Updated}
}

type customerJSON struct {
	ID      int64     `json:"id"`
	Account string    `json:"account"`
	Name    string    `json:"name"`
	Address string    `json:"address"`
	Phone   string    `json:"phone"`
	Email   string    `json:"email"`
	Notes   string    `json:"notes"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

type modemJSON struct {
	ID         int64     `json:"id"`
	MAC        string    `json:"mac"`
	Serial     string    `json:"serial"`
	Vendor     string    `json:"vendor"`
	Model      string    `json:"model"`
	CustomerID *int64    `json:"customer_id"`
	PlanID     *int64    `json:"plan_id"`
	CMTSID     *int64    `json:"cmts_id"`
	FixedIPv4  string    `json:"fixed_ipv4"`
	IPv6       string    `json:"ipv6"`
	Prefix6    string    `json:"prefix6"`
	Enabled    bool      `json:"enabled"`
	Notes      string    `json:"notes"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

// modemFilters are the query parameters that narrow the modem list and its
// CSV export.
var modemFilters = []string{"q", "cmts_id", "plan_id", "customer_id", "enabled"}

// apiModemFilter reads modemFilters.
func apiModemFilter(p *params) store.ModemFilter {
	return store.ModemFilter{Query: p.str("q"), CMTSID: p.id("cmts_id"), PlanID: p.id("plan_id"), CustomerID: p.id("customer_id"), Enabled: p.boolean("enabled")}
}

type mtaJSON struct {
	ID         int64     `json:"id"`
	MAC        string    `json:"mac"`
	ModemID    int64     `json:"modem_id"`
	PlanID     *int64    `json:"plan_id"`
	PhoneLines []string  `json:"phone_lines"`
	FixedIPv4  string    `json:"fixed_ipv4"`
	Notes      string    `json:"notes"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

type cpeJSON struct {
	ID        int64     `json:"id"`
	MAC       string    `json:"mac"`
	ModemID   int64     `json:"modem_id"`
	FixedIPv4 string    `json:"fixed_ipv4"`
	Notes     string    `json:"notes"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

type userJSON struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Disabled  bool       `json:"disabled"`
	Password  *string    `json:"password,omitempty"`
	LastLogin *time.Time `json:"last_login"`
	Created   time.Time  `json:"created"`
	Updated   time.Time  `json:"updated"`
}

// apiEntities lists the inventory resources of the API.
func (s *Server) apiEntities() []registrarAPI {
	return []registrarAPI{
		&apiResource[store.CMTS, cmtsJSON]{
			name: "cmts", readRole: store.RoleViewer, writeRole: store.RoleOperator,
			filters: []string{"q"},
			list: func(ctx context.Context, p *params, page store.Page) ([]store.CMTS, int, error) {
				if err := p.err(); err != nil {
					return nil, 0, err
				}
				all, err := s.st.ListCMTS(ctx)
				list, total := pageOf(filterName(all, p.str("q"), func(c store.CMTS) string { return c.Name }), page)
				return list, total, err
			},
			get:   s.st.GetCMTS,
			blank: func() store.CMTS { return store.CMTS{SNMPRead: "public"} },
			out: func(c store.CMTS) cmtsJSON {
				return cmtsJSON{ID: c.ID, Name: c.Name, MgmtIPv4: c.MgmtIPv4, MgmtIPv6: c.MgmtIPv6, SNMPRead: c.SNMPRead,
					HasSNMPWrite: c.SNMPWrite != "", HasSecret: c.SharedSecret != "", Notes: c.Notes, Created: c.Created, Updated: c.Updated}
			},
			in: func(d cmtsJSON, c *store.CMTS) {
				c.Name, c.MgmtIPv4, c.MgmtIPv6, c.SNMPRead, c.Notes = d.Name, d.MgmtIPv4, d.MgmtIPv6, d.SNMPRead, d.Notes
				setSecret(&c.SNMPWrite, d.SNMPWrite)
				setSecret(&c.SharedSecret, d.SharedSecret)
			},
			create: s.st.CreateCMTS, update: s.st.UpdateCMTS, remove: s.st.DeleteCMTS,
			id: func(c *store.CMTS) int64 { return c.ID },
		},
		&apiResource[store.Network, networkJSON]{
			name: "networks", readRole: store.RoleViewer, writeRole: store.RoleOperator,
			filters: []string{"cmts_id", "family", "purpose"},
			list: func(ctx context.Context, p *params, page store.Page) ([]store.Network, int, error) {
				cmtsID := p.id("cmts_id")
				family := p.oneOf("family", "4", "6")
				purpose := p.oneOf("purpose", store.PurposeCM, store.PurposeMTA, store.PurposeCPE, store.PurposeServer)
				if err := p.err(); err != nil {
					return nil, 0, err
				}
				all, err := s.st.ListNetworks(ctx, cmtsID)
				var keep []store.Network
				for _, n := range all {
					if (family == "" || strconv.Itoa(n.Family) == family) && (purpose == "" || n.Purpose == purpose) {
						keep = append(keep, n)
					}
				}
				list, total := pageOf(keep, page)
				return list, total, err
			},
			get: s.st.GetNetwork,
			blank: func() store.Network {
				return store.Network{Purpose: store.PurposeCPE, UnknownPolicy: store.PolicyIgnore}
			},
			out: func(n store.Network) networkJSON {
				d := networkJSON{ID: n.ID, CMTSID: optID(n.CMTSID), Name: n.Name, Family: n.Family, Prefix: n.Prefix, Purpose: n.Purpose,
					Gateway: n.Gateway, LeaseTime: n.LeaseTime, MaxLeaseTime: n.MaxLeaseTime,
					DNSServers: listText(n.DNSServers), TimeServers: listText(n.TimeServers), LogServers: listText(n.LogServers),
					TimeOffset: n.TimeOffset, Domain: n.Domain, UnknownPolicy: n.UnknownPolicy, Notes: n.Notes,
					Ranges: []rangeJSON{}, PDPools: []pdPoolJSON{}, Created: n.Created, Updated: n.Updated}
				for _, r := range n.Ranges {
					d.Ranges = append(d.Ranges, rangeJSON(r))
				}
				for _, p := range n.PDPools {
					d.PDPools = append(d.PDPools, pdPoolJSON(p))
				}
				return d
			},
			in: func(d networkJSON, n *store.Network) {
				n.CMTSID, n.Name, n.Prefix, n.Purpose, n.Gateway = fromOptID(d.CMTSID), d.Name, d.Prefix, d.Purpose, d.Gateway
				n.LeaseTime, n.MaxLeaseTime, n.TimeOffset = d.LeaseTime, d.MaxLeaseTime, d.TimeOffset
				n.DNSServers, n.TimeServers, n.LogServers = strings.Join(d.DNSServers, ", "), strings.Join(d.TimeServers, ", "), strings.Join(d.LogServers, ", ")
				n.Domain, n.UnknownPolicy, n.Notes = d.Domain, d.UnknownPolicy, d.Notes
				n.Ranges, n.PDPools = nil, nil
				for _, r := range d.Ranges {
					n.Ranges = append(n.Ranges, store.Range(r))
				}
				for _, p := range d.PDPools {
					n.PDPools = append(n.PDPools, store.PDPool(p))
				}
			},
			create: s.st.CreateNetwork, update: s.st.UpdateNetwork, remove: s.st.DeleteNetwork,
			id: func(n *store.Network) int64 { return n.ID },
		},
		&apiResource[store.Plan, planJSON]{
			name: "plans", readRole: store.RoleViewer, writeRole: store.RoleOperator,
			filters: []string{"q"},
			list: func(ctx context.Context, p *params, page store.Page) ([]store.Plan, int, error) {
				if err := p.err(); err != nil {
					return nil, 0, err
				}
				all, err := s.st.ListPlans(ctx)
				list, total := pageOf(filterName(all, p.str("q"), func(pl store.Plan) string { return pl.Name }), page)
				return list, total, err
			},
			get:   s.st.GetPlan,
			blank: func() store.Plan { return store.Plan{MaxCPE: 1} },
			// The UI's check: the templates compile for a sample modem.
			check: func(p *store.Plan) error {
				errs := map[string]string{}
				if checkPlanTemplates(p, errs); len(errs) > 0 {
					return &store.ValidationError{Entity: "plan", Fields: errs}
				}
				return nil
			},
			out: planOut,
			in: func(d planJSON, p *store.Plan) {
				p.Name, p.Description, p.Config, p.MTAConfig, p.MaxCPE = d.Name, d.Description, d.Config, d.MTAConfig, d.MaxCPE
			},
			create: s.st.CreatePlan, update: s.st.UpdatePlan, remove: s.st.DeletePlan,
			id: func(p *store.Plan) int64 { return p.ID },
		},
		&apiResource[store.Customer, customerJSON]{
			name: "customers", readRole: store.RoleViewer, writeRole: store.RoleOperator,
			filters: []string{"q"},
			list: func(ctx context.Context, p *params, page store.Page) ([]store.Customer, int, error) {
				if err := p.err(); err != nil {
					return nil, 0, err
				}
				return s.st.ListCustomers(ctx, p.str("q"), page)
			},
			get:   s.st.GetCustomer,
			blank: func() store.Customer { return store.Customer{} },
			out: func(c store.Customer) customerJSON {
				return customerJSON{ID: c.ID, Account: c.Account, Name: c.Name, Address: c.Address, Phone: c.Phone, Email: c.Email, Notes: c.Notes,
					Created: c.Created, Updated: c.Updated}
			},
			in: func(d customerJSON, c *store.Customer) {
				c.Account, c.Name, c.Address, c.Phone, c.Email, c.Notes = d.Account, d.Name, d.Address, d.Phone, d.Email, d.Notes
			},
			create: s.st.CreateCustomer, update: s.st.UpdateCustomer, remove: s.st.DeleteCustomer,
			id: func(c *store.Customer) int64 { return c.ID },
		},
		&apiResource[store.Modem, modemJSON]{
			name: "modems", readRole: store.RoleViewer, writeRole: store.RoleOperator,
			filters: modemFilters,
			list: func(ctx context.Context, p *params, page store.Page) ([]store.Modem, int, error) {
				f := apiModemFilter(p)
				if err := p.err(); err != nil {
					return nil, 0, err
				}
				rows, total, err := s.st.ListModems(ctx, f, page)
				list := make([]store.Modem, len(rows))
				for i, r := range rows {
					list[i] = r.Modem
				}
				return list, total, err
			},
			get:   s.st.GetModem,
			blank: func() store.Modem { return store.Modem{Enabled: true} },
			out: func(m store.Modem) modemJSON {
				return modemJSON{ID: m.ID, MAC: m.MAC, Serial: m.Serial, Vendor: m.Vendor, Model: m.Model,
					CustomerID: optID(m.CustomerID), PlanID: optID(m.PlanID), CMTSID: optID(m.CMTSID),
					FixedIPv4: m.FixedIPv4, IPv6: m.IPv6, Prefix6: m.Prefix6, Enabled: m.Enabled, Notes: m.Notes, Created: m.Created, Updated: m.Updated}
			},
			in: func(d modemJSON, m *store.Modem) {
				m.MAC, m.Serial, m.Vendor, m.Model = d.MAC, d.Serial, d.Vendor, d.Model
				m.CustomerID, m.PlanID, m.CMTSID = fromOptID(d.CustomerID), fromOptID(d.PlanID), fromOptID(d.CMTSID)
				m.FixedIPv4, m.IPv6, m.Prefix6, m.Enabled, m.Notes = d.FixedIPv4, d.IPv6, d.Prefix6, d.Enabled, d.Notes
			},
			create: s.st.CreateModem, update: s.st.UpdateModem, remove: s.st.DeleteModem,
			id: func(m *store.Modem) int64 { return m.ID },
		},
		&apiResource[store.MTA, mtaJSON]{
			name: "mtas", readRole: store.RoleViewer, writeRole: store.RoleOperator,
			filters: []string{"modem_id"},
			list: func(ctx context.Context, p *params, page store.Page) ([]store.MTA, int, error) {
				modemID := p.id("modem_id")
				if err := p.err(); err != nil {
					return nil, 0, err
				}
				return s.st.ListMTAs(ctx, modemID, page)
			},
			get:   s.st.GetMTA,
			blank: func() store.MTA { return store.MTA{} },
			out: func(m store.MTA) mtaJSON {
				return mtaJSON{ID: m.ID, MAC: m.MAC, ModemID: m.ModemID, PlanID: optID(m.PlanID), PhoneLines: listText(m.PhoneLines),
					FixedIPv4: m.FixedIPv4, Notes: m.Notes, Created: m.Created, Updated: m.Updated}
			},
			in: func(d mtaJSON, m *store.MTA) {
				m.MAC, m.ModemID, m.PlanID, m.PhoneLines = d.MAC, d.ModemID, fromOptID(d.PlanID), strings.Join(d.PhoneLines, ", ")
				m.FixedIPv4, m.Notes = d.FixedIPv4, d.Notes
			},
			create: s.st.CreateMTA, update: s.st.UpdateMTA, remove: s.st.DeleteMTA,
			id: func(m *store.MTA) int64 { return m.ID },
		},
		&apiResource[store.CPE, cpeJSON]{
			name: "cpes", readRole: store.RoleViewer, writeRole: store.RoleOperator,
			filters: []string{"modem_id"},
			list: func(ctx context.Context, p *params, page store.Page) ([]store.CPE, int, error) {
				modemID := p.id("modem_id")
				if err := p.err(); err != nil {
					return nil, 0, err
				}
				return s.st.ListCPEs(ctx, modemID, page)
			},
			get:   s.st.GetCPE,
			blank: func() store.CPE { return store.CPE{} },
			out: func(c store.CPE) cpeJSON {
				return cpeJSON{ID: c.ID, MAC: c.MAC, ModemID: c.ModemID, FixedIPv4: c.FixedIPv4, Notes: c.Notes, Created: c.Created, Updated: c.Updated}
			},
			in: func(d cpeJSON, c *store.CPE) {
				c.MAC, c.ModemID, c.FixedIPv4, c.Notes = d.MAC, d.ModemID, d.FixedIPv4, d.Notes
			},
			create: s.st.CreateCPE, update: s.st.UpdateCPE, remove: s.st.DeleteCPE,
			id: func(c *store.CPE) int64 { return c.ID },
		},
		&apiResource[store.User, userJSON]{
			name: "users", readRole: store.RoleAdmin, writeRole: store.RoleAdmin,
			filters: []string{"role"},
			list: func(ctx context.Context, p *params, page store.Page) ([]store.User, int, error) {
				role := p.oneOf("role", store.Roles...)
				if err := p.err(); err != nil {
					return nil, 0, err
				}
				all, err := s.st.ListUsers(ctx)
				var keep []store.User
				for _, u := range all {
					if role == "" || u.Role == role {
						keep = append(keep, u)
					}
				}
				list, total := pageOf(keep, page)
				return list, total, err
			},
			get:   s.st.GetUser,
			blank: func() store.User { return store.User{Role: store.RoleViewer} },
			out: func(u store.User) userJSON {
				return userJSON{ID: u.ID, Name: u.Name, Role: u.Role, Disabled: u.Disabled, LastLogin: optTime(u.LastLogin), Created: u.Created, Updated: u.Updated}
			},
			in: func(d userJSON, u *store.User) {
				u.Name, u.Role, u.Disabled = d.Name, d.Role, d.Disabled
				setSecret(&u.Password, d.Password)
			},
			create: s.st.CreateUser, update: s.st.UpdateUser, remove: s.st.DeleteUser,
			id: func(u *store.User) int64 { return u.ID },
		},
	}
}

// filterName keeps the items whose name contains q (any case).
func filterName[T any](all []T, q string, name func(T) string) []T {
	if q == "" {
		return all
	}
	q = strings.ToLower(q)
	var out []T
	for _, it := range all {
		if strings.Contains(strings.ToLower(name(it)), q) {
			out = append(out, it)
		}
	}
	return out
}
