package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/aymanbagabas/go-udiff"

	"ip6m/docsiscfg"
	"ip6m/store"
)

// The plan editor: a plan's page with its versions, a diff between any
// version and the one before it, one-click rollback, a preview compiled for
// a chosen modem through the TFTP server's own builder, and a live syntax
// check while the template is typed.

// planView is a plan's page.
type planView struct {
	Plan     store.Plan
	Versions []store.PlanVersion
	Lines    []string // the config template, one entry per line
	Modems   int      // modems on the plan
	// Sample is a modem on this plan, the preview's default.
	Sample  string
	Preview planPreview
}

// planVersionView is one version beside the one before it.
type planVersionView struct {
	Plan    store.Plan
	V       store.PlanVersion
	Prev    int64 // the version compared against; 0 for the first
	Latest  int64
	Diff    []diffLine
	MaxCPE  string // "2 → 4" when it changed, else ""
	Changed bool
}

// diffLine is one line of a unified diff: kind is "hunk", "add", "del" or
// "same"; Old and New are line numbers (0 where the side has none).
type diffLine struct {
	Kind     string
	Old, New int
	Text     string
}

// planCheck is the live check's answer for a template being typed.
type planCheck struct {
	Field    string
	OK       bool
	Msg      string
	Line     int
	LineText string
	Size     int
}

// planPreview is a plan compiled for one modem.
type planPreview struct {
	MAC     string
	Version int64
	Err     string
	Text    string
	Size    int
	MICs    string
}

func (s *Server) registerPlanRoutes() {
	s.handle("POST /plans/check", store.RoleOperator, s.planCheck)
	s.handle("GET /plans/{id}/versions/{v}", store.RoleViewer, s.planVersionPage)
	s.handle("POST /plans/{id}/rollback", store.RoleOperator, s.planRollback)
	s.handle("GET /plans/{id}/preview", store.RoleViewer, s.planPreviewFragment)
}

// planDetail is the page at /plans/{id}.
func (s *Server) planDetail(w http.ResponseWriter, r *http.Request, pl store.Plan) {
	ctx := r.Context()
	v := planView{Plan: pl, Lines: strings.Split(strings.TrimSuffix(pl.Config, "\n"), "\n")}
	var err error
	if v.Versions, err = s.st.PlanVersions(ctx, pl.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	modems, total, err := s.st.ListModems(ctx, store.ModemFilter{PlanID: pl.ID}, store.Page{Size: 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Modems = total
	if len(modems) > 0 {
		v.Sample = modems[0].MAC
	}
	mac := r.URL.Query().Get("mac")
	if mac == "" {
		mac = v.Sample
	}
	if mac != "" {
		v.Preview = s.previewPlan(ctx, pl, 0, mac)
	}
	s.render(w, r, planPage(s.page(r, "Plan "+pl.Name, "/plans"), v))
}

// planVersionAt loads the plan of the path and, with version > 0, puts that
// version's content in it.
func (s *Server) planVersionAt(ctx context.Context, id, version int64) (store.Plan, error) {
	pl, err := s.st.GetPlan(ctx, id)
	if err != nil || version == 0 {
		return pl, err
	}
	v, err := s.st.PlanVersion(ctx, id, version)
	if err != nil {
		return pl, err
	}
	pl.Description, pl.Config, pl.MTAConfig, pl.MaxCPE = v.Description, v.Config, v.MTAConfig, v.MaxCPE
	return pl, nil
}

// planPreviewFragment answers the preview form: ?mac=…&version=… (0 or
// absent: the current plan).
func (s *Server) planPreviewFragment(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, "That plan")
		return
	}
	version, _ := strconv.ParseInt(r.URL.Query().Get("version"), 10, 64)
	pl, err := s.planVersionAt(r.Context(), id, version)
	if errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r, "That plan version")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, planPreviewBox(id, s.previewPlan(r.Context(), pl, version, r.URL.Query().Get("mac"))))
}

// previewPlan compiles pl for the modem mac through the TFTP server's
// builder, decodes the bytes and checks their MICs; what went wrong, if
// anything, is in its Err for the page.
func (s *Server) previewPlan(ctx context.Context, pl store.Plan, version int64, mac string) planPreview {
	pv, err := s.compilePreview(ctx, pl, mac)
	pv.Version = version
	if err != nil {
		pv.Err = err.Error()
	}
	return pv
}

// errNoBuilder: a preview needs the TFTP server's config builder.
var errNoBuilder = errors.New("TFTP does not run in this ip6m, so there is no config builder to preview with.")

// previewError is what is wrong with a preview's input: the MAC (field
// "mac") or the plan's template (field "config").
type previewError struct{ field, msg string }

func (e *previewError) Error() string { return e.msg }

// compilePreview is the preview the page and the API show: pl compiled for
// the modem mac as TFTP would serve it, decoded, its MICs checked. A
// problem with the MAC or the template is a *previewError, no builder is
// errNoBuilder; any other error is the server's.
func (s *Server) compilePreview(ctx context.Context, pl store.Plan, mac string) (planPreview, error) {
	pv := planPreview{MAC: strings.TrimSpace(mac)}
	if pv.MAC == "" {
		return pv, &previewError{"mac", "Enter the MAC address of a modem to compile the plan for."}
	}
	if s.cfg.Configs == nil {
		return pv, errNoBuilder
	}
	norm, err := store.NormalizeMAC(pv.MAC)
	if err != nil {
		return pv, &previewError{"mac", err.Error()}
	}
	m, err := s.st.ModemByMAC(ctx, norm)
	if errors.Is(err, store.ErrNotFound) {
		return pv, &previewError{"mac", "No modem " + norm + " in the inventory."}
	}
	if err != nil {
		return pv, err
	}
	pv.MAC = m.MAC
	if c := checkTemplate(pl, "config", pl.Config); !c.OK {
		return pv, &previewError{"config", c.lineMsg()}
	}
	b, err := s.cfg.Configs.PreviewPlan(ctx, m.MAC, pl)
	if err != nil {
		var se *docsiscfg.SyntaxError
		if errors.As(err, &se) || errorLine(err) > 0 {
			return pv, &previewError{"config", err.Error()}
		}
		return pv, err
	}
	pv.Size = len(b)
	text, err := docsiscfg.Decode(b, docsiscfg.DecodeOptions{})
	if err != nil {
		return pv, fmt.Errorf("decode: %w", err)
	}
	pv.Text = string(text)
	if m.CMTSID != 0 {
		if c, err := s.st.GetCMTS(ctx, m.CMTSID); err == nil {
			if check, err := docsiscfg.VerifyMICs(b, []byte(c.SharedSecret)); err == nil {
				pv.MICs = check.String()
			}
		}
	}
	return pv, nil
}

// planCheck compiles the template being typed (field "config" or
// "mta_config" of the edit form, named by ?field=) for a sample modem and
// says where the first error is.
func (s *Server) planCheck(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	field := r.URL.Query().Get("field")
	if field != "mta_config" {
		field = "config"
	}
	var pl store.Plan
	pl.Name = formValue(r, "name")
	if pl.Name == "" {
		pl.Name = "(new)"
	}
	errs := map[string]string{}
	formInt(r, "max_cpe", &pl.MaxCPE, errs)
	text := normalizeNewlines(r.PostFormValue(field))
	c := checkTemplate(pl, field, text)
	s.render(w, r, planCheckResult(c))
}

// checkTemplate compiles one template of pl for the sample modem and locates
// its first error.
func checkTemplate(pl store.Plan, field, text string) planCheck {
	c := planCheck{Field: field}
	if strings.TrimSpace(text) == "" {
		if field == "config" {
			c.Msg = "The DOCSIS config template is empty."
		} else {
			c.OK, c.Msg = true, "No MTA config: MTAs on this plan get none."
		}
		return c
	}
	vars := sampleVars(pl)
	var key []byte
	name := pl.Name
	if field == "config" {
		key = []byte("ip6m-plan-check")
	} else {
		name += " (MTA)"
	}
	b, err := docsiscfg.Compile(name, text, vars, key)
	if err != nil {
		c.Msg = err.Error()
		var se *docsiscfg.SyntaxError
		if errors.As(err, &se) {
			c.Msg = se.Msg // the line is shown beside it
			if se.Token != "" {
				c.Msg += " (at " + strconv.Quote(se.Token) + ")"
			}
		}
		c.Line = errorLine(err)
		if c.Line > 0 {
			lines := strings.Split(text, "\n")
			if c.Line <= len(lines) {
				c.LineText = lines[c.Line-1]
			}
		}
		return c
	}
	c.OK, c.Size = true, len(b)
	c.Msg = fmt.Sprintf("Compiles: %d bytes for a sample modem.", len(b))
	return c
}

// lineMsg is the check's message led by the line it names, if any.
func (c planCheck) lineMsg() string {
	if c.Line > 0 {
		return "line " + strconv.Itoa(c.Line) + ": " + c.Msg
	}
	return c.Msg
}

// sampleVars are the per-modem variables a plan is checked with when it is
// saved or typed.
func sampleVars(pl store.Plan) docsiscfg.Vars {
	return docsiscfg.Vars{MAC: "44:32:c8:21:09:e7", Customer: "C100001", MaxCPE: int(max(pl.MaxCPE, 1))}
}

// templateLine finds the line in a text/template error ("template: x:3:").
var templateLine = regexp.MustCompile(`^template: [^:]*:(\d+)`)

// errorLine is the line a compile error is on (0 when it names none): a
// config syntax error's line, or a template error's.
func errorLine(err error) int {
	var se *docsiscfg.SyntaxError
	if errors.As(err, &se) {
		return se.Line
	}
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "plan ") {
		msg = after
	}
	if m := templateLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// planVersionPage shows one version with a diff against the one before it
// (or against ?against=N).
func (s *Server) planVersionPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := pathID(r)
	n, err := strconv.ParseInt(r.PathValue("v"), 10, 64)
	if !ok || err != nil {
		s.notFound(w, r, "That plan version")
		return
	}
	pl, err := s.st.GetPlan(ctx, id)
	if err != nil {
		s.failOrNotFound(w, r, err, "That plan")
		return
	}
	v, err := s.st.PlanVersion(ctx, id, n)
	if err != nil {
		s.failOrNotFound(w, r, err, "That plan version")
		return
	}
	all, err := s.st.PlanVersions(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vv := planVersionView{Plan: pl, V: v, Latest: all[0].Version}
	var prev store.PlanVersion
	against, _ := strconv.ParseInt(r.URL.Query().Get("against"), 10, 64)
	if against == 0 {
		against = n - 1
	}
	if against > 0 {
		if prev, err = s.st.PlanVersion(ctx, id, against); err != nil {
			s.failOrNotFound(w, r, err, "That plan version")
			return
		}
		vv.Prev = against
	}
	vv.Diff = lineDiff(fmt.Sprintf("version %d", against), fmt.Sprintf("version %d", n), prev.Config, v.Config)
	if vv.Prev > 0 && prev.MaxCPE != v.MaxCPE {
		vv.MaxCPE = fmt.Sprintf("%d → %d", prev.MaxCPE, v.MaxCPE)
	}
	if mta := lineDiff("", "", prev.MTAConfig, v.MTAConfig); len(mta) > 0 {
		vv.Diff = append(vv.Diff, diffLine{Kind: "hunk", Text: "MTA config"})
		vv.Diff = append(vv.Diff, mta...)
	}
	vv.Changed = len(vv.Diff) > 0 || vv.MaxCPE != "" || prev.Description != v.Description
	s.render(w, r, planVersionPage(s.page(r, fmt.Sprintf("Plan %s, version %d", pl.Name, n), "/plans"), vv))
}

// lineDiff is the unified diff of two texts as lines to show; none when
// they are equal.
func lineDiff(from, to, a, b string) []diffLine {
	if a == b {
		return nil
	}
	u, err := unifiedDiff(from, to, a, b)
	if err != nil {
		return []diffLine{{Kind: "hunk", Text: "diff: " + err.Error()}}
	}
	var out []diffLine
	for _, h := range u.Hunks {
		old, nw := h.FromLine, h.ToLine
		out = append(out, diffLine{Kind: "hunk", Text: fmt.Sprintf("@@ line %d @@", h.FromLine)})
		for _, l := range h.Lines {
			text := strings.TrimSuffix(l.Content, "\n")
			switch l.Kind {
			case udiff.Delete:
				out = append(out, diffLine{Kind: "del", Old: old, Text: text})
				old++
			case udiff.Insert:
				out = append(out, diffLine{Kind: "add", New: nw, Text: text})
				nw++
			default:
				out = append(out, diffLine{Kind: "same", Old: old, New: nw, Text: text})
				old++
				nw++
			}
		}
	}
	return out
}

// unifiedDiff is the unified diff (three lines of context) from text a,
// named from, to text b, named to; a last line without its newline is
// compared as if it had one.
func unifiedDiff(from, to, a, b string) (udiff.UnifiedDiff, error) {
	if a != "" && !strings.HasSuffix(a, "\n") {
		a += "\n"
	}
	if b != "" && !strings.HasSuffix(b, "\n") {
		b += "\n"
	}
	return udiff.ToUnifiedDiff(from, to, a, udiff.Lines(a, b), 3)
}

// planRollback makes the posted version the plan's current state.
func (s *Server) planRollback(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	n, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if !ok || err != nil || n < 1 {
		http.Error(w, "no version to roll back to", http.StatusBadRequest)
		return
	}
	sess, _ := sessionFrom(r.Context())
	pl, err := s.rollbackPlan(r.Context(), sess.User.Name, id, n)
	var verr *store.ValidationError
	switch {
	case errors.As(err, &verr):
		http.Redirect(w, r, withFlash(fmt.Sprintf("/plans/%d/versions/%d", id, n), "Version "+strconv.FormatInt(n, 10)+" no longer validates: "+verr.Error()), http.StatusSeeOther)
		return
	case err != nil:
		s.failOrNotFound(w, r, err, "That plan version")
		return
	}
	s.log.Info("plan rolled back", "plan", pl.Name, "version", n, "user", sess.User.Name)
	http.Redirect(w, r, withFlash(fmt.Sprintf("/plans/%d", id), fmt.Sprintf("Plan %s is back at version %d; its modems get it from their next config download.", pl.Name, n)), http.StatusSeeOther)
}

// rollbackPlan makes version the plan's current state, if its templates
// still compile (the compiler may have grown stricter since it was saved).
func (s *Server) rollbackPlan(ctx context.Context, actor string, id, version int64) (store.Plan, error) {
	old, err := s.planVersionAt(ctx, id, version)
	if err != nil {
		return store.Plan{}, err
	}
	errs := map[string]string{}
	if checkPlanTemplates(&old, errs); len(errs) > 0 {
		for f, msg := range errs {
			errs[f] = "version " + strconv.FormatInt(version, 10) + " no longer compiles: " + msg
		}
		return store.Plan{}, &store.ValidationError{Entity: "plan", Fields: errs}
	}
	return s.st.RollbackPlan(ctx, actor, id, version)
}

// failOrNotFound answers 404 for a missing row, else a server error.
func (s *Server) failOrNotFound(w http.ResponseWriter, r *http.Request, err error, what string) {
	if errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r, what)
		return
	}
	s.fail(w, r, err)
}
