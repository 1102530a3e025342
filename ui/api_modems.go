package ui

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"ip6m/store"
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

// apiMaxCSV bounds an imported CSV file.
const apiMaxCSV = 16 << 20

// apiModemsCSV exports the modems the list's filters select as the CSV
// file the import reads back (and the UI's export writes).
func (s *Server) apiModemsCSV(w http.ResponseWriter, r *http.Request) error {
	p := queryParams(r, modemFilters...)
	f := apiModemFilter(p)
	if err := p.err(); err != nil {
		return err
	}
	// Written whole before it is sent, so that a failure half-way is an
	// error answer rather than a file that silently ends early.
	var buf bytes.Buffer
	if err := s.st.ExportModemsCSV(r.Context(), &buf, f); err != nil {
		return err
	}
	csvHeaders(w, "modems")
	w.Write(buf.Bytes())
	return nil
}

// importRowJSON is what the import did (or would do) with one line.
type importRowJSON struct {
	Line    int      `json:"line"`
	MAC     string   `json:"mac"`
	Result  string   `json:"result"`
	Reason  string   `json:"reason"`
	Changes []string `json:"changes"`
}

// importReportJSON is a CSV import's report.
type importReportJSON struct {
	DryRun    bool            `json:"dry_run"`
	Created   int             `json:"created"`
	Updated   int             `json:"updated"`
	Unchanged int             `json:"unchanged"`
	Errors    int             `json:"errors"`
	Rows      []importRowJSON `json:"rows"`
}

// apiModemImport creates or updates modems from a CSV body, as the UI's
// import does: each line validated and audited, the lines with errors
// skipped and reported; with dry_run=true nothing is written and the report
// says what an import would do.
func (s *Server) apiModemImport(w http.ResponseWriter, r *http.Request) error {
	p := queryParams(r, "dry_run")
	dry := p.boolean("dry_run")
	if err := p.err(); err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "text/csv" && mt != "text/plain") {
			return &apiError{Status: http.StatusUnsupportedMediaType, Code: codeMediaType, Message: "send the file as text/csv"}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, apiMaxCSV))
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: codeTooLarge, Message: fmt.Sprintf("the file is larger than %d MiB; split it", apiMaxCSV>>20)}
	case err != nil:
		return badRequest("the body could not be read: "+err.Error(), nil)
	}
	user := apiUser(r).Name
	rep, err := s.st.ImportModemsCSV(r.Context(), user, bytes.NewReader(body), dry != nil && *dry)
	var ferr *store.ImportFileError
	switch {
	case errors.As(err, &ferr):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidation, Message: "nothing was imported: " + err.Error()}
	case err != nil:
		return err
	}
	if !rep.DryRun {
		s.log.Info("modems imported", "created", rep.Created, "updated", rep.Updated, "errors", rep.Errors, "user", user)
	}
	ans := importReportJSON{DryRun: rep.DryRun, Created: rep.Created, Updated: rep.Updated, Unchanged: rep.Unchanged, Errors: rep.Errors,
		Rows: make([]importRowJSON, len(rep.Rows))}
	for i, row := range rep.Rows {
		ans.Rows[i] = importRowJSON{Line: row.Line, MAC: row.MAC, Result: row.Result, Reason: row.Reason, Changes: row.Changes}
		if ans.Rows[i].Changes == nil {
			ans.Rows[i].Changes = []string{}
		}
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}
