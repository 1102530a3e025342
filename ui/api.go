package ui

// The JSON API under /api/v1. It shares the UI's route table (every route
// is registered once with the least role it needs) but authenticates only
// with a bearer API token: a session cookie is ignored, so a page on
// another site cannot make a logged-in browser call the API (no CSRF
// surface). Errors have one shape:
//
//	{"error": {"code": "validation", "message": "...", "fields": {"mac": "..."}}}
//
// Lists take limit (1–1000, default 100) and offset and answer
// {"items": [...], "total": N, "limit": L, "offset": O}; total counts every
// match, so a client pages with offset += limit while offset < total.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"ip6m/store"
)

// apiPrefix is where the API lives.
const apiPrefix = "/api/v1"

// apiMaxBody bounds a request body (a plan's two templates are at most
// 256 KiB each).
const apiMaxBody = 1 << 20

// apiFunc is an API handler: it writes its answer, or returns an error
// that apiFail turns into the JSON error shape.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// apiError is the JSON error shape, with its HTTP status.
type apiError struct {
	Status  int               `json:"-"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

// Error codes, one per HTTP status the API answers with.
const (
	codeBadRequest  = "bad_request"        // 400
	codeAuth        = "unauthorized"       // 401
	codeForbidden   = "forbidden"          // 403
	codeNotFound    = "not_found"          // 404
	codeMethod      = "method_not_allowed" // 405
	codeConflict    = "conflict"           // 409
	codeTooLarge    = "too_large"          // 413
	codeMediaType   = "unsupported_media_type"
	codeValidation  = "validation"    // 422
	codeInternal    = "internal"      // 500
	codeUpstream    = "action_failed" // 502
	codeUnavailable = "unavailable"   // 503
)

func badRequest(msg string, fields map[string]string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeBadRequest, Message: msg, Fields: fields}
}

const apiUserKey ctxKey = 2

// apiUser is the user a request's token acts as (set by requireToken).
func apiUser(r *http.Request) store.User {
	u, _ := r.Context().Value(apiUserKey).(store.User)
	return u
}

// apiHandle registers an API route behind the bearer-token and role
// checks; role "" makes a public route.
func (s *Server) apiHandle(pattern, role string, h apiFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, Route{Method: method, Pattern: path, Role: role, API: true})
	s.mux.Handle(pattern, s.requireToken(role, h))
}

// requireToken lets a request through when its Authorization header
// carries a live API token whose role is at least role.
func (s *Server) requireToken(role string, next apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if role != "" {
			u, err := s.tokenUser(r)
			if err != nil {
				s.apiFail(w, r, err)
				return
			}
			if !store.RoleAtLeast(u.Role, role) {
				s.apiFail(w, r, &apiError{Status: http.StatusForbidden, Code: codeForbidden,
					Message: "this token's role (" + u.Role + ") may not do this; it needs " + role})
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), apiUserKey, u))
		}
		if err := next(w, r); err != nil {
			s.apiFail(w, r, err)
		}
	})
}

// tokenUser reads "Authorization: Bearer <token>" and resolves the token.
func (s *Server) tokenUser(r *http.Request) (store.User, error) {
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	secret = strings.TrimSpace(secret)
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return store.User{}, &apiError{Status: http.StatusUnauthorized, Code: codeAuth,
			Message: "send an API token: Authorization: Bearer <token> (admins make tokens under API tokens in the UI)"}
	}
	u, err := s.st.TokenUser(r.Context(), secret)
	if errors.Is(err, store.ErrBadLogin) {
		s.log.Info("API token refused", "remote", r.RemoteAddr, "path", r.URL.Path)
		return store.User{}, &apiError{Status: http.StatusUnauthorized, Code: codeAuth, Message: "the API token is unknown, revoked or expired, or its user is disabled"}
	}
	return u, err
}

// apiFail writes err in the JSON error shape: validation errors with their
// fields (422), missing rows 404, rows in use 409; anything else is logged
// and answered with a bare 500 that shows no internals.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var verr *store.ValidationError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &verr):
		ae = &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidation, Message: verr.Error(), Fields: verr.Fields}
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: err.Error()}
	case errors.Is(err, store.ErrInUse):
		ae = &apiError{Status: http.StatusConflict, Code: codeConflict, Message: err.Error()}
	default:
		s.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error; the server log has the details"}
	}
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ip6m"`)
	}
	writeJSON(w, ae.Status, struct {
		Error *apiError `json:"error"`
	}{ae})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // a JSON client, not a page: keep <token> readable
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"internal error"}}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// apiNoRoute answers every path under /api/v1/ that no route takes: 405
// with Allow when the path exists for other methods, else 404.
func (s *Server) apiNoRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != apiPrefix+"/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.apiFail(w, r, &apiError{Status: http.StatusMethodNotAllowed, Code: codeMethod,
			Message: r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(allow, ", ")})
		return
	}
	s.apiFail(w, r, &apiError{Status: http.StatusNotFound, Code: codeNotFound,
		Message: "no API route " + r.URL.Path + "; see " + apiPrefix + "/openapi.json"})
}

// decodeBody reads a JSON object into dst, refusing unknown fields,
// trailing data, other media types and bodies over apiMaxBody.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &apiError{Status: http.StatusUnsupportedMediaType, Code: codeMediaType, Message: "send the body as application/json"}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, apiMaxBody))
	if err == nil {
		clearNamedArrays(dst, body)
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err = dec.Decode(dst); err == nil && dec.More() {
			err = errors.New("more data after the JSON object")
		}
	}
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("the body is empty; send a JSON object", nil)
	case errors.As(err, &big):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: codeTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", apiMaxBody)}
	case errors.As(err, &syn):
		return badRequest(fmt.Sprintf("the body is not valid JSON: %v (at byte %d)", syn, syn.Offset), nil)
	case errors.As(err, &typ) && typ.Field != "":
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidation, Message: "a field has the wrong type",
			Fields: map[string]string{typ.Field: "must be " + jsonKind(typ.Type.Kind().String()) + ", not " + typ.Value}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return badRequest("unknown field "+strconv.Quote(name), map[string]string{name: "is not a field of this object"})
	}
	return badRequest("the body is not the expected JSON object: "+err.Error(), nil)
}

// clearNamedArrays empties the array fields of the struct *dst that the
// JSON object body names: encoding/json decodes an array into the
// elements already there, which would merge a PATCH's new ranges into the
// old ones field by field instead of replacing them.
func clearNamedArrays(dst any, body []byte) {
	var named map[string]json.RawMessage
	if json.Unmarshal(body, &named) != nil {
		return // the strict decode reports it
	}
	v := reflect.ValueOf(dst).Elem()
	if v.Kind() != reflect.Struct {
		return
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if _, ok := named[name]; ok && f.Type.Kind() == reflect.Slice {
			v.Field(i).SetZero()
		}
	}
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice":
		return "an array"
	case kind == "struct", kind == "map":
		return "an object"
	}
	return kind
}

// params reads query parameters, collecting what is wrong with them.
type params struct {
	v    url.Values
	errs map[string]string
}

// queryParams checks that the request names no parameter outside allowed
// (a typo must not silently widen a query) and returns them.
func queryParams(r *http.Request, allowed ...string) *params {
	p := &params{v: r.URL.Query()}
	for name := range p.v {
		if !contains(allowed, name) {
			p.fail(name, "is not a parameter here; known: "+strings.Join(allowed, ", "))
		}
	}
	return p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *params) fail(name, msg string) {
	if p.errs == nil {
		p.errs = map[string]string{}
	}
	if _, ok := p.errs[name]; !ok {
		p.errs[name] = msg
	}
}

func (p *params) str(name string) string { return strings.TrimSpace(p.v.Get(name)) }

// num parses an integer parameter within [lo, hi]; def when absent.
func (p *params) num(name string, def, lo, hi int64) int64 {
	s := p.str(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		p.fail(name, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
		return def
	}
	return n
}

// id parses an optional row id (0 when absent).
func (p *params) id(name string) int64 { return p.num(name, 0, 1, 1<<62) }

// boolean parses an optional true/false parameter.
func (p *params) boolean(name string) *bool {
	switch p.str(name) {
	case "":
		return nil
	case "true", "1":
		b := true
		return &b
	case "false", "0":
		b := false
		return &b
	}
	p.fail(name, "must be true or false")
	return nil
}

// oneOf checks an optional parameter against its allowed values.
func (p *params) oneOf(name string, allowed ...string) string {
	s := p.str(name)
	if s != "" && !contains(allowed, s) {
		p.fail(name, "must be one of "+strings.Join(allowed, ", "))
	}
	return s
}

// page reads limit and offset.
func (p *params) page() store.Page {
	return store.Page{Size: int(p.num("limit", 100, 1, 1000)), Offset: int(p.num("offset", 0, 0, 1<<31))}
}

// err is the 400 for every bad parameter, or nil.
func (p *params) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	names := make([]string, 0, len(p.errs))
	for n := range p.errs {
		names = append(names, n)
	}
	sort.Strings(names)
	return badRequest("bad query parameters: "+strings.Join(names, ", "), p.errs)
}

// listJSON is one page of a list.
type listJSON[D any] struct {
	Items  []D `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// writeList answers one page of items (mapped by out) of total.
func writeList[T, D any](w http.ResponseWriter, items []T, total int, page store.Page, out func(T) D) {
	l := listJSON[D]{Items: make([]D, 0, len(items)), Total: total, Limit: page.Size, Offset: page.Offset}
	for _, it := range items {
		l.Items = append(l.Items, out(it))
	}
	writeJSON(w, http.StatusOK, l)
}

// pageOf cuts one page out of a list the store returns whole (the short
// lists: CMTSes, networks, plans, users).
func pageOf[T any](all []T, page store.Page) ([]T, int) {
	lo := min(page.Offset, len(all))
	hi := min(lo+page.Size, len(all))
	return all[lo:hi], len(all)
}

// apiID reads the {id} path value; a malformed id is a missing row.
func apiID(r *http.Request) (int64, error) {
	id, ok := pathID(r)
	if !ok {
		return 0, &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no row " + strconv.Quote(r.PathValue("id"))}
	}
	return id, nil
}

// registerAPI registers every API route with the least role it needs.
func (s *Server) registerAPI() {
	s.apiHandle("GET "+apiPrefix+"/openapi.json", "", s.apiOpenAPI)
	for _, e := range s.apiEntities() {
		e.registerAPI(s)
	}
	s.apiHandle("GET "+apiPrefix+"/plans/{id}/versions", store.RoleViewer, s.apiPlanVersions)
	s.apiHandle("GET "+apiPrefix+"/plans/{id}/versions/{v}", store.RoleViewer, s.apiPlanVersionGet)
	s.apiHandle("GET "+apiPrefix+"/plans/{id}/versions/{v}/diff", store.RoleViewer, s.apiPlanDiff)
	s.apiHandle("POST "+apiPrefix+"/plans/{id}/rollback", store.RoleOperator, s.apiPlanRollback)
	s.apiHandle("POST "+apiPrefix+"/plans/{id}/preview", store.RoleOperator, s.apiPlanPreview)
	s.apiHandle("POST "+apiPrefix+"/plans/check", store.RoleOperator, s.apiPlanCheck)
	s.apiHandle("GET "+apiPrefix+"/modems.csv", store.RoleViewer, s.apiModemsCSV)
	s.apiHandle("POST "+apiPrefix+"/modems/import", store.RoleOperator, s.apiModemImport)
	s.apiHandle("GET "+apiPrefix+"/modems/{id}/metrics", store.RoleViewer, s.apiModemMetrics)
	s.apiHandle("POST "+apiPrefix+"/modems/{id}/reset", store.RoleOperator, s.apiModemReset)
	s.apiHandle("GET "+apiPrefix+"/leases/v4", store.RoleViewer, s.apiLeases4)
	s.apiHandle("GET "+apiPrefix+"/leases/v6", store.RoleViewer, s.apiLeases6)
	s.apiHandle("GET "+apiPrefix+"/leases/history", store.RoleViewer, s.apiLeaseHistory)
	s.apiHandle("GET "+apiPrefix+"/events", store.RoleViewer, s.apiEvents)
	s.apiHandle("GET "+apiPrefix+"/tokens", store.RoleAdmin, s.apiTokens)
	s.apiHandle("POST "+apiPrefix+"/tokens", store.RoleAdmin, s.apiTokenCreate)
	s.apiHandle("DELETE "+apiPrefix+"/tokens/{id}", store.RoleAdmin, s.apiTokenRevoke)
	s.mux.HandleFunc(apiPrefix+"/", s.apiNoRoute)
}
