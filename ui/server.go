// Package ui is ip6m's browser interface: server-rendered templ pages with
// htmx for partial updates, everything embedded in the binary.
//
// Every route is declared once in routes() with the least role it needs;
// the same table drives the role checks and the tests that prove a viewer
// gets 403 on every write route. Every state-changing request must carry the
// session's CSRF token (form field or X-CSRF-Token header).
package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"ip6m/dhcp"
	"ip6m/internal/events"
	"ip6m/store"
)

//go:embed static
var staticFiles embed.FS

// Config is what New needs.
type Config struct {
	Store  *store.Store
	Logger *slog.Logger
	// Addr is the listen address for Run, e.g. ":8080".
	Addr string
	// SessionTTL is how long a login lasts; 0 means 12 hours.
	SessionTTL time.Duration
	// Version is shown in the footer.
	Version string
	// SecureCookies marks cookies Secure (set when served behind HTTPS).
	SecureCookies bool
	// Services are the running protocol services, for the dashboard.
	Services []Service
	// DHCP4 answers "what would this modem get?" with the running DHCPv4
	// server's own decision; nil when DHCPv4 does not run here.
	DHCP4 Previewer
	// DHCP6 is the same for DHCPv6.
	DHCP6 Previewer
	// Series is the time-series store the graphs read; nil when no poller
	// runs here.
	Series SeriesSource
	// Live streams new samples to the graphs; nil when no poller runs.
	Live *Live
	// Upstream is a CMTS's view of its modems from its last walk (nil: no
	// poller here): their upstream receive power and SNR.
	Upstream func(cmtsID int64) (rows []UpstreamRow, at time.Time, ok bool)
	// Configs compiles the config a modem gets now, through the TFTP
	// server's own builder (nil when TFTP does not run here).
	Configs ConfigPreviewer
	// Health flags every polled modem (MAC → flag); nil when no poller
	// runs here.
	Health func() map[string]HealthFlag
	// ResetModem resets a modem over SNMP (docsDevResetNow); nil when no
	// poller runs here.
	ResetModem func(ctx context.Context, mac string) error
	// LastFetch is a device's last completed TFTP config download since
	// the TFTP server started; nil when TFTP does not run here.
	LastFetch func(mac string) (Fetch, bool)
	// TFTPRefusals lists the TFTP server's recent refusals, oldest first;
	// nil when TFTP does not run here.
	TFTPRefusals func() []TFTPRefusal
	// Events is what is happening now (the events page and its live
	// stream); nil when no services run here.
	Events *events.Bus
	// Portal says whether a client address is a CPE on the
	// self-registration portal, and behind which modem; nil: no portal.
	Portal func(client netip.Addr) (PortalClient, bool)
}

// TFTPRefusal is one refused TFTP request.
type TFTPRefusal struct {
	At                   time.Time
	From                 string // the requester's address
	Name, Reason, Detail string
}

// Fetch is one completed TFTP config download.
type Fetch struct {
	At    time.Time
	From  string // the requester's address
	Name  string // the file name asked for
	Bytes int64
}

// ConfigPreviewer compiles a modem's config as TFTP would serve it.
type ConfigPreviewer interface {
	Preview(ctx context.Context, mac string) ([]byte, error)
	// PreviewPlan compiles plan (e.g. one being edited, or an old
	// version) for the modem with this MAC instead of its own plan.
	PreviewPlan(ctx context.Context, mac string, plan store.Plan) ([]byte, error)
}

// Previewer is the DHCP server's decision for one device, and the devices
// it refused lately.
type Previewer interface {
	Preview(mac string) (dhcp.Preview, error)
	Refusals() []dhcp.Refusal
}

// Service is a running service as the dashboard shows it: its name, where
// it listens, and its counters (name → value), read at each page view.
type Service struct {
	Name     string
	Addr     string
	Counters func() []Counter
	// Events, when set, lists what the service refused lately (newest
	// first), e.g. a subscriber fetching another modem's config.
	Events func() []Event
}

// UpstreamRow is one modem as its CMTS sees it, with the health of its
// upstream levels (good, warning, bad).
type UpstreamRow struct {
	MAC, IP           string
	Online            bool
	RxPower, SNR      float64
	RxState, SNRState string
}

// HealthFlag is a modem's state from its last poll: good, warning, bad or
// offline, and why.
type HealthFlag struct {
	State, Reason string
}

// badgeOf maps a health state to its badge class.
func badgeOf(state string) string {
	switch state {
	case "good":
		return "good"
	case "warning":
		return "warn"
	case "bad":
		return "bad"
	}
	return "off"
}

// Event is one thing a service did that an operator should see.
type Event struct {
	At   time.Time
	Text string
}

// Counter is one named figure of a service.
type Counter struct {
	Name  string
	Value int64
}

// Server serves the UI.
type Server struct {
	cfg    Config
	st     *store.Store
	log    *slog.Logger
	mux    *http.ServeMux
	routes []Route
	ln     net.Listener
	logins *loginThrottle
}

// Route is one registered route and the least role it needs.
type Route struct {
	Method, Pattern string
	Role            string // "" for public routes (login, static)
	// API routes authenticate with a bearer token, never a session.
	API bool
}

// New builds the server and its routes. It does not listen yet.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("ui: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	s := &Server{cfg: cfg, st: cfg.Store, log: cfg.Logger.With("component", "ui"), mux: http.NewServeMux(), logins: newLoginThrottle()}
	s.registerRoutes()
	return s, nil
}

// Listen binds the listen address, so that a bind error is reported before
// Run. Tests may instead use Handler with httptest.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("ui listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address after Listen.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run serves until ctx is done, then shuts down within five seconds.
func (s *Server) Run(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(s.ln) }()
	s.log.Info("web UI listening", "addr", s.ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("ui: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	return nil
}

// Handler is the whole UI as one http.Handler.
func (s *Server) Handler() http.Handler {
	return s.secureHeaders(s.mux)
}

// Routes lists every registered route (tests walk it).
func (s *Server) Routes() []Route { return s.routes }

// handle registers pattern ("METHOD /path") behind the session, role and
// CSRF checks. role "" makes a public route.
func (s *Server) handle(pattern, role string, h func(http.ResponseWriter, *http.Request)) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, Route{Method: method, Pattern: path, Role: role})
	var handler http.Handler = http.HandlerFunc(h)
	if role != "" {
		handler = s.requireRole(role, handler)
	}
	s.mux.Handle(pattern, handler)
}

func (s *Server) registerRoutes() {
	static, _ := fs.Sub(staticFiles, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	s.handle("GET /static/", "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
	s.handle("GET /login", "", s.loginPage)
	s.handle("POST /login", "", s.loginSubmit)
	s.handle("POST /logout", store.RoleViewer, s.logout)

	s.handle("GET /{$}", store.RoleViewer, s.dashboard)
	s.handle("GET /search", store.RoleViewer, s.search)
	s.handle("GET /audit", store.RoleViewer, s.auditPage)
	s.handle("GET /leases", store.RoleViewer, s.leaseHistory)
	s.handle("GET /settings", store.RoleAdmin, s.settingsPage)
	s.handle("POST /settings", store.RoleAdmin, s.settingsSave)

	s.handle("POST /modems/{id}/reset", store.RoleOperator, s.modemReset)
	s.handle("POST /modems/{id}/state", store.RoleOperator, s.modemState)
	s.handle("POST /modems/{id}/plan", store.RoleOperator, s.modemPlan)
	s.handle("GET /modems/{id}/series", store.RoleViewer, s.modemSeries)
	s.handle("GET /modems/{id}/live", store.RoleViewer, s.modemLive)
	s.registerPlanRoutes()
	s.registerCSVRoutes()
	s.registerEventRoutes()
	s.registerUnknownRoutes()
	s.registerPortalRoutes()
	for _, e := range s.entities() {
		e.register(s)
	}
	s.registerTokenPages()
	s.registerAPI()
}

// secureHeaders sets the headers every response carries.
func (s *Server) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")
		next.ServeHTTP(w, r)
	})
}
