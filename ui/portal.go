package ui

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"ip6m/store"
)

// The self-registration portal: a small web server of its own (on port 80
// of the server's address, where the DNS relay sends every name a portal
// client looks up) that lets the customer behind an unknown modem bind it
// to their account with their account number and registration code. The
// modem is then created on the customer's plan, audited, and reset, and
// comes up with its real config.

// registerPortalRoutes are the UI's routes for self-registration (the
// portal itself is PortalHandler, on its own listener).
func (s *Server) registerPortalRoutes() {
	s.handle("POST /customers/{id}/regcode", store.RoleOperator, s.customerNewCode)
}

// customerNewCode gives a customer a fresh registration code (operator).
func (s *Server) customerNewCode(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, "That customer")
		return
	}
	sess, _ := sessionFrom(r.Context())
	c, err := s.st.NewRegistrationCode(r.Context(), sess.User.Name, id)
	if err != nil {
		s.failOrNotFound(w, r, err, "That customer")
		return
	}
	http.Redirect(w, r, withFlash("/customers/"+idString(id), "New registration code for "+c.Name+"; the old one no longer works."), http.StatusSeeOther)
}

// PortalClient is a CPE on the registration portal: the unknown modem it
// sits behind and the relay it came through.
type PortalClient struct {
	ModemMAC string
	Relay    string
}

// SettingPortalPlan names the plan a self-registered modem gets when its
// customer has no modem yet (with one, it gets that modem's plan).
const SettingPortalPlan = "portal.plan"

// portalView is the portal page.
type portalView struct {
	CSRF    string
	Modem   string // the modem to register; "" when the visitor is not on the portal
	Account string
	Error   string
	Done    bool
	Plan    string
}

// PortalHandler is the registration portal's web server. Every GET shows
// the registration page (the browser came here for some other name);
// POST /register registers.
func (s *Server) PortalHandler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("POST /register", s.portalRegister)
	mux.HandleFunc("GET /", s.portalPage)
	return s.secureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store") // never cache a captive page
		mux.ServeHTTP(w, r)
	}))
}

// portalClient is the visitor as the portal knows it.
func (s *Server) portalClient(r *http.Request) (PortalClient, bool) {
	if s.cfg.Portal == nil {
		return PortalClient{}, false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return PortalClient{}, false
	}
	return s.cfg.Portal(ap.Addr().Unmap())
}

func (s *Server) portalPage(w http.ResponseWriter, r *http.Request) {
	v := portalView{CSRF: randomString()}
	if c, ok := s.portalClient(r); ok {
		v.Modem = c.ModemMAC
	}
	s.setCookie(w, loginCSRFCookie, v.CSRF, 3600)
	s.render(w, r, portalPage(v))
}

func (s *Server) portalRegister(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		http.Error(w, "the form has expired: reload the page and try again", http.StatusForbidden)
		return
	}
	v := portalView{CSRF: c.Value, Account: strings.TrimSpace(r.PostFormValue("account"))}
	client, ok := s.portalClient(r)
	if !ok {
		w.WriteHeader(http.StatusForbidden)
		s.render(w, r, portalPage(v))
		return
	}
	v.Modem = client.ModemMAC
	key := remoteKey(r)
	if blocked, until := s.logins.blocked("portal|"+key, time.Now()); blocked {
		w.WriteHeader(http.StatusTooManyRequests)
		v.Error = "Too many wrong tries from this connection; try again after " + until.Format("15:04") + "."
		s.render(w, r, portalPage(v))
		return
	}
	ctx := r.Context()
	cust, err := s.st.CustomerByRegistration(ctx, v.Account, r.PostFormValue("code"))
	if errors.Is(err, store.ErrBadRegistration) {
		s.logins.fail("portal|"+key, time.Now())
		s.log.Info("self-registration refused", "modem", client.ModemMAC, "account", v.Account, "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusUnauthorized)
		v.Error = "That account number and registration code do not match. Both are on your contract."
		s.render(w, r, portalPage(v))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	m, plan, err := s.selfRegister(ctx, client, cust)
	if err != nil {
		s.log.Error("self-registration failed", "modem", client.ModemMAC, "account", cust.Account, "err", err)
		w.WriteHeader(http.StatusUnprocessableEntity)
		v.Error = "Your modem could not be registered (" + err.Error() + "). Please call us."
		s.render(w, r, portalPage(v))
		return
	}
	s.logins.success("portal|" + key)
	v.Done, v.Plan = true, plan
	s.log.Info("modem self-registered", "modem", m.MAC, "customer", cust.Account, "plan", plan, "remote", r.RemoteAddr)
	if s.cfg.ResetModem != nil {
		// After the page is written: the modem restarts and takes the
		// customer's connection with it for a minute or two.
		go func() {
			rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.cfg.ResetModem(rctx, m.MAC); err != nil {
				s.log.Warn("reset after self-registration", "modem", m.MAC, "err", err)
			}
		}()
	}
	s.render(w, r, portalPage(v))
}

// selfRegister creates the modem for the customer: on the plan of the
// customer's newest modem, else the portal.plan setting's; on the CMTS of
// the relay it came through. It returns the modem and the plan's name.
func (s *Server) selfRegister(ctx context.Context, c PortalClient, cust store.Customer) (store.Modem, string, error) {
	m := store.Modem{MAC: c.ModemMAC, CustomerID: cust.ID, Enabled: true, Notes: "registered by the customer on the self-registration page " + time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	theirs, _, err := s.st.ListModems(ctx, store.ModemFilter{CustomerID: cust.ID}, store.Page{Size: 1})
	if err != nil {
		return m, "", err
	}
	planName := ""
	if len(theirs) > 0 {
		m.PlanID, planName = theirs[0].PlanID, theirs[0].PlanName
	} else {
		want, err := s.st.Setting(ctx, SettingPortalPlan, "")
		if err != nil {
			return m, "", err
		}
		plans, err := s.st.ListPlans(ctx)
		if err != nil {
			return m, "", err
		}
		for _, p := range plans {
			if strings.EqualFold(p.Name, strings.TrimSpace(want)) {
				m.PlanID, planName = p.ID, p.Name
			}
		}
		if m.PlanID == 0 {
			return m, "", fmt.Errorf("no plan for a new customer: set %s", SettingPortalPlan)
		}
	}
	if a, err := netip.ParseAddr(c.Relay); err == nil {
		nets, err := s.st.ListNetworks(ctx, 0)
		if err != nil {
			return m, "", err
		}
		m.CMTSID = store.CMTSOf(nets, a)
	}
	if err := s.st.CreateModem(ctx, "self-registration ("+cust.Account+")", &m); err != nil {
		return m, "", err
	}
	return m, planName, nil
}
