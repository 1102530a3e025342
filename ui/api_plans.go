package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"ip6m/store"
)

// The plan editor in the API: a plan's versions, the diff between two,
// rollback, a preview compiled for a modem through the TFTP server's own
// builder, and the template check the editor runs as it is typed.

// planVersionJSON is one saved state of a plan.
type planVersionJSON struct {
	PlanID      int64     `json:"plan_id"`
	Version     int64     `json:"version"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Config      string    `json:"config"`
	MTAConfig   string    `json:"mta_config"`
	MaxCPE      int64     `json:"max_cpe"`
	Actor       string    `json:"actor"`
	Note        string    `json:"note"`
	At          time.Time `json:"at"`
}

func planVersionOut(v store.PlanVersion) planVersionJSON { return planVersionJSON(v) }

// planDiffJSON is what changed from one version of a plan to another.
type planDiffJSON struct {
	PlanID  int64 `json:"plan_id"`
	Version int64 `json:"version"`
	// Against is the version compared with; null compares with nothing
	// (the diff of version 1 adds every line).
	Against *int64 `json:"against"`
	// Changed names the fields that differ.
	Changed []string `json:"changed"`
	// Config and MTAConfig are unified diffs of the two templates; "" when
	// a template did not change.
	Config    string `json:"config"`
	MTAConfig string `json:"mta_config"`
}

// rollbackRequest is what POST /plans/{id}/rollback takes.
type rollbackRequest struct {
	Version int64 `json:"version"`
}

// previewRequest is what POST /plans/{id}/preview takes.
type previewRequest struct {
	MAC string `json:"mac"`
	// Version, when not 0, previews that version instead of the plan as
	// it is.
	Version int64 `json:"version"`
}

// planPreviewJSON is a plan compiled for one modem.
type planPreviewJSON struct {
	PlanID  int64  `json:"plan_id"`
	Version *int64 `json:"version"`
	MAC     string `json:"mac"`
	Size    int    `json:"size"`
	Decoded string `json:"decoded"`
	MICs    string `json:"mics"`
}

// checkRequest is what POST /plans/check takes.
type checkRequest struct {
	Config string `json:"config"`
	MaxCPE int64  `json:"max_cpe"`
}

// checkAnswer is the template check's verdict.
type checkAnswer struct {
	OK      bool   `json:"ok"`
	Line    int    `json:"line"`
	Message string `json:"message"`
	Size    int    `json:"size"`
}

// apiPlanVersion reads the {v} path value; a malformed one is a missing
// version.
func apiPlanVersion(r *http.Request) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue("v"), 10, 64)
	if err != nil || v < 1 {
		return 0, &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no plan version " + strconv.Quote(r.PathValue("v"))}
	}
	return v, nil
}

// apiPlanVersions lists a plan's versions, newest first.
func (s *Server) apiPlanVersions(w http.ResponseWriter, r *http.Request) error {
	p := queryParams(r, "limit", "offset")
	page := p.page()
	if err := p.err(); err != nil {
		return err
	}
	id, err := apiID(r)
	if err != nil {
		return err
	}
	if _, err := s.st.GetPlan(r.Context(), id); err != nil {
		return err
	}
	all, err := s.st.PlanVersions(r.Context(), id)
	if err != nil {
		return err
	}
	list, total := pageOf(all, page)
	writeList(w, list, total, page, planVersionOut)
	return nil
}

func (s *Server) apiPlanVersionGet(w http.ResponseWriter, r *http.Request) error {
	id, err := apiID(r)
	if err != nil {
		return err
	}
	n, err := apiPlanVersion(r)
	if err != nil {
		return err
	}
	v, err := s.st.PlanVersion(r.Context(), id, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, planVersionOut(v))
	return nil
}

// apiPlanDiff diffs a version against ?against=N (default the version
// before it; 0 compares with nothing), with the diff the version page
// shows.
func (s *Server) apiPlanDiff(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := queryParams(r, "against")
	id, err := apiID(r)
	if err != nil {
		return err
	}
	n, err := apiPlanVersion(r)
	if err != nil {
		return err
	}
	against := p.num("against", n-1, 0, 1<<62)
	if err := p.err(); err != nil {
		return err
	}
	v, err := s.st.PlanVersion(ctx, id, n)
	if err != nil {
		return err
	}
	ans := planDiffJSON{PlanID: id, Version: n, Changed: []string{}}
	var old store.PlanVersion
	from := "(none)"
	if against > 0 {
		if old, err = s.st.PlanVersion(ctx, id, against); err != nil {
			return err
		}
		ans.Against, from = &against, fmt.Sprintf("version %d", against)
	}
	to := fmt.Sprintf("version %d", n)
	for _, t := range []struct {
		name     string
		old, new string
		out      *string
	}{{"config", old.Config, v.Config, &ans.Config}, {"mta_config", old.MTAConfig, v.MTAConfig, &ans.MTAConfig}} {
		if t.old == t.new {
			continue
		}
		u, err := unifiedDiff(from, to, t.old, t.new)
		if err != nil {
			return fmt.Errorf("diff plan %d %s, version %d against %d: %w", id, t.name, n, against, err)
		}
		*t.out = u.String()
	}
	for _, c := range []struct {
		name    string
		changed bool
	}{
		{"name", old.Name != v.Name}, {"description", old.Description != v.Description},
		{"config", old.Config != v.Config}, {"mta_config", old.MTAConfig != v.MTAConfig}, {"max_cpe", old.MaxCPE != v.MaxCPE},
	} {
		if c.changed {
			ans.Changed = append(ans.Changed, c.name)
		}
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// apiPlanRollback makes an old version the plan's current state, after the
// check every API save of a plan passes (its templates compile).
func (s *Server) apiPlanRollback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := apiID(r)
	if err != nil {
		return err
	}
	var req rollbackRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Version < 1 {
		return &store.ValidationError{Entity: "rollback", Fields: map[string]string{"version": "is required: the version to roll back to (1 or more)"}}
	}
	user := apiUser(r).Name
	pl, err := s.rollbackPlan(ctx, user, id, req.Version)
	if err != nil {
		return err
	}
	s.log.Info("plan rolled back", "plan", pl.Name, "version", req.Version, "user", user)
	writeJSON(w, http.StatusOK, planOut(pl))
	return nil
}

// apiPlanPreview compiles the plan (or one of its versions) for a modem,
// as the plan page's preview does.
func (s *Server) apiPlanPreview(w http.ResponseWriter, r *http.Request) error {
	id, err := apiID(r)
	if err != nil {
		return err
	}
	var req previewRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Version < 0 {
		return &store.ValidationError{Entity: "preview", Fields: map[string]string{"version": "must be a version (1 or more), or 0 for the plan as it is"}}
	}
	pl, err := s.planVersionAt(r.Context(), id, req.Version)
	if err != nil {
		return err
	}
	pv, err := s.compilePreview(r.Context(), pl, req.MAC)
	var perr *previewError
	switch {
	case errors.As(err, &perr):
		return &store.ValidationError{Entity: "preview", Fields: map[string]string{perr.field: perr.msg}}
	case errors.Is(err, errNoBuilder):
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: err.Error()}
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, planPreviewJSON{PlanID: id, Version: optID(req.Version), MAC: pv.MAC, Size: pv.Size, Decoded: pv.Text, MICs: pv.MICs})
	return nil
}

// apiPlanCheck compiles a config template for a sample modem and says
// where its first error is, as the editor does while it is typed. A
// template that does not compile is a 200 with ok false: the check worked.
func (s *Server) apiPlanCheck(w http.ResponseWriter, r *http.Request) error {
	var req checkRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.MaxCPE < 0 || req.MaxCPE > 254 {
		return &store.ValidationError{Entity: "check", Fields: map[string]string{"max_cpe": "must be from 0 to 254"}}
	}
	c := checkTemplate(store.Plan{Name: "(check)", MaxCPE: req.MaxCPE}, "config", normalizeNewlines(req.Config))
	writeJSON(w, http.StatusOK, checkAnswer{OK: c.OK, Line: c.Line, Message: c.Msg, Size: c.Size})
	return nil
}
