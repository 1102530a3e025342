package ui

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// metricsAnswer is a modem's series over a range, in the graphs' units.
type metricsAnswer struct {
	ModemID int64        `json:"modem_id"`
	MAC     string       `json:"mac"`
	From    time.Time    `json:"from"`
	To      time.Time    `json:"to"`
	Series  []seriesJSON `json:"series"`
}

// apiModemMetrics answers a modem's series from the time-series store the
// graphs read: metric (comma separated; all the graphs' when absent) over
// range (hour, day, month, year) or from/to (RFC 3339 or unix seconds),
// at most points points each.
func (s *Server) apiModemMetrics(w http.ResponseWriter, r *http.Request) error {
	p := queryParams(r, "metric", "range", "from", "to", "points")
	points := p.num("points", 600, 1, 5000)
	graphs := modemGraphs()
	if names := p.str("metric"); names != "" {
		all := graphs
		graphs = nil
		for _, n := range strings.Split(names, ",") {
			i := slices.IndexFunc(all, func(g graphMetric) bool { return g.Metric == strings.TrimSpace(n) })
			if i < 0 {
				p.fail("metric", strconv.Quote(n)+" is not a metric; known: "+strings.Join(modemGraphNames(), ", "))
				continue
			}
			graphs = append(graphs, all[i])
		}
	}
	to, span := time.Now(), graphRanges["day"]
	if rg := p.str("range"); rg != "" {
		var ok bool
		if span, ok = graphRanges[rg]; !ok {
			p.fail("range", "must be one of hour, day, month, year")
		}
		if p.str("from") != "" || p.str("to") != "" {
			p.fail("range", "give either range or from and to")
		}
	}
	if p.str("to") != "" {
		to = p.time("to")
	}
	from := to.Add(-span)
	if p.str("from") != "" {
		from = p.time("from")
	}
	if !from.Before(to) {
		p.fail("from", "must be before to")
	}
	if err := p.err(); err != nil {
		return err
	}
	id, err := apiID(r)
	if err != nil {
		return err
	}
	m, err := s.st.GetModem(r.Context(), id)
	if err != nil {
		return err
	}
	if s.cfg.Series == nil {
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "no poller runs in this process, so there are no series (ip6m serve --poll)"}
	}
	series, err := s.modemSeriesOf(m.MAC, graphs, from, to, int(points))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, metricsAnswer{ModemID: m.ID, MAC: m.MAC, From: from.UTC(), To: to.UTC(), Series: series})
	return nil
}

// time parses a time parameter: RFC 3339 or unix seconds.
func (p *params) time(name string) time.Time {
	v := p.str(name)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Unix(n, 0)
	}
	p.fail(name, "must be a time in RFC 3339 (2026-12-01T14:05:00Z) or unix seconds")
	return time.Time{}
}

type resetAnswer struct {
	ModemID int64  `json:"modem_id"`
	MAC     string `json:"mac"`
	Outcome string `json:"outcome"`
}

// apiModemReset resets a modem over SNMP (docsDevResetNow), audited with
// the token's user and the outcome, like the modem page's Reset button.
func (s *Server) apiModemReset(w http.ResponseWriter, r *http.Request) error {
	id, err := apiID(r)
	if err != nil {
		return err
	}
	m, err := s.st.GetModem(r.Context(), id)
	if err != nil {
		return err
	}
	if s.cfg.ResetModem == nil {
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "resets need the SNMP poller, which does not run in this process (ip6m serve --poll)"}
	}
	failed, err := s.resetModem(r.Context(), apiUser(r).Name, m)
	if err != nil {
		return err
	}
	if failed != nil {
		return &apiError{Status: http.StatusBadGateway, Code: codeUpstream, Message: "reset of " + m.MAC + " failed: " + failed.Error()}
	}
	writeJSON(w, http.StatusAccepted, resetAnswer{ModemID: m.ID, MAC: m.MAC, Outcome: "sent"})
	return nil
}

// modemGraphNames lists the metrics a modem has graphs of.
func modemGraphNames() []string {
	var out []string
	for _, g := range modemGraphs() {
		out = append(out, g.Metric)
	}
	return out
}
