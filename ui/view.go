package ui

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"ip6m/store"
)

// page is what the layout needs on every page.
type page struct {
	Title   string
	User    store.User
	CSRF    string
	Nav     string // active menu entry, e.g. "/modems"
	Query   string // the search box's value
	Version string
	Flash   string
}

func pageFor(r *http.Request, sess store.Session, title string) page {
	return page{Title: title, User: sess.User, CSRF: sess.CSRF, Query: r.URL.Query().Get("q"), Flash: r.URL.Query().Get("flash")}
}

// page builds the layout data for the request's session.
func (s *Server) page(r *http.Request, title, nav string) page {
	sess, _ := sessionFrom(r.Context())
	p := pageFor(r, sess, title)
	p.Nav, p.Version = nav, s.cfg.Version
	return p
}

// can reports whether the request's user has at least role.
func can(p page, role string) bool { return store.RoleAtLeast(p.User.Role, role) }

// render writes a component, buffering it so that a render error becomes a
// clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// serverError logs err and shows a plain 500 page.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	http.Error(w, "internal error: "+err.Error(), http.StatusInternalServerError)
}

// notFound shows a 404 page inside the layout.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, what string) {
	w.WriteHeader(http.StatusNotFound)
	s.render(w, r, errorPage(s.page(r, "Not found", ""), http.StatusNotFound, what+" does not exist (any more)."))
}

// fail answers a store error: not found → 404, in use → 409, else 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.notFound(w, r, "That item")
	case errors.Is(err, store.ErrInUse):
		w.WriteHeader(http.StatusConflict)
		s.render(w, r, errorPage(s.page(r, "In use", ""), http.StatusConflict, err.Error()))
	default:
		s.serverError(w, r, err)
	}
}

// pathID reads the {id} path value.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// field is one input of a form.
type field struct {
	Name     string
	Label    string
	Type     string // text, textarea, select, checkbox, number, password, email
	Value    string
	Checked  bool
	Options  []option
	Help     string
	Error    string
	Required bool
	Mono     bool
	Rows     int
	ReadOnly bool
	// Check, for a textarea, is a URL the form is posted to as the user
	// types; its answer is shown under the field (the plan editor's
	// syntax check).
	Check string
}

type option struct{ Value, Label string }

// formView is a create or edit form.
type formView struct {
	Heading      string
	Action       string
	Fields       []field
	Submit       string
	Cancel       string
	DeleteAction string
	DeleteWhat   string
	Error        string
	ReadOnly     bool
}

// cell is one table cell; Href makes it a link.
type cell struct {
	Text  string
	Href  string
	Title string // hover text
	Mono  bool
	Num   bool
	State string // good, warn, bad, off: a coloured badge with its word
}

type column struct {
	Text string
	Num  bool
}

// tableView is a list of rows.
type tableView struct {
	Columns []column
	Rows    [][]cell
	Empty   string
}

// pager links the pages of a long list, keeping the other query values.
type pager struct {
	Total, Page, Pages, Size int
	Prev, Next               string
}

const pageSize = 50

// requestedPage is the store page that ?page= asks for.
func requestedPage(r *http.Request) store.Page {
	if wantsCSV(r) {
		return store.Page{} // a download is the whole list
	}
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	p = max(p, 1)
	return store.Page{Offset: (p - 1) * pageSize, Size: pageSize}
}

// pagerFor links the pages around the requested one, keeping the other
// query values.
func pagerFor(r *http.Request, total int) *pager {
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pages := max(1, (total+pageSize-1)/pageSize)
	p = max(p, 1)
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		q.Del("flash")
		return r.URL.Path + "?" + q.Encode()
	}
	pg := &pager{Total: total, Page: p, Pages: pages, Size: pageSize}
	if p > 1 {
		pg.Prev = link(min(p-1, pages))
	}
	if p < pages {
		pg.Next = link(p + 1)
	}
	return pg
}

// withFlash appends a one-time message to a redirect target.
func withFlash(path, msg string) string {
	return path + "?flash=" + url.QueryEscape(msg)
}

// ago renders a time relative to now ("3 min ago"); the absolute time goes
// in the title attribute.
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

func absTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// idString formats an id for forms ("" for 0).
func idString(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

func itoa(n int) string { return strconv.Itoa(n) }

func urlQuery(s string) string { return url.QueryEscape(s) }
