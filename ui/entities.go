package ui

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"ip6m/store"
)

// registrar is an inventory section that registers its own routes.
type registrar interface{ register(*Server) }

// crud is one inventory section of the UI: its list, its create/edit form
// and delete, on top of the store's functions for T. Routes:
//
//	GET  /x            list            (readRole)
//	GET  /x/new        empty form      (writeRole)
//	POST /x            create          (writeRole)
//	GET  /x/{id}       detail, or the form (read-only for readers)
//	GET  /x/{id}/edit  the form        (writeRole; only when detail is set)
//	POST /x/{id}       update          (writeRole)
//	POST /x/{id}/delete delete         (writeRole)
type crud[T any] struct {
	singular, plural string
	path             string
	readRole         string
	writeRole        string
	// list renders the list's table for the request (search, filters,
	// paging are its business).
	list func(*http.Request) (listView, error)
	get  func(context.Context, int64) (T, error)
	// blank is a new T with defaults (and values from the query string,
	// e.g. /mtas/new?modem=ID).
	blank func(*http.Request) T
	// fields builds the form inputs for v with the errors of a failed save.
	fields func(context.Context, T, map[string]string) ([]field, error)
	// parse reads the form into v; it may return field errors of its own
	// (a value it could not even parse).
	parse  func(context.Context, *http.Request, *T) map[string]string
	create func(context.Context, string, *T) error
	update func(context.Context, string, *T) error
	remove func(context.Context, string, int64) error
	id     func(*T) *int64
	title  func(T) string
	// detail, when set, is the page at /x/{id}; the form moves to /x/{id}/edit.
	detail func(*Server, http.ResponseWriter, *http.Request, T)
	// csv, when set, writes the list as CSV (?format=csv) in a form of
	// its own (modems: the columns their import reads); without it the
	// CSV is the table as shown.
	csv func(http.ResponseWriter, *http.Request) error
	// importURL, when set, is the list's "Import CSV" page.
	importURL string
}

// listView is a list page: its table, pager, and filter controls.
type listView struct {
	Table   tableView
	Pager   *pager
	Filters []field
	Search  string // placeholder of the list's own search box; "" for none
	// CSV is the list's own URL as a CSV download; Import the CSV import
	// page ("" when the list has none or the user may not write).
	CSV, Import string
	// Links are more pages of the list's, as buttons (Value the address).
	Links []option
}

func (c *crud[T]) register(s *Server) {
	s.handle("GET "+c.path, c.readRole, c.listPage(s))
	s.handle("GET "+c.path+"/new", c.writeRole, func(w http.ResponseWriter, r *http.Request) {
		c.showForm(s, w, r, c.blank(r), nil, http.StatusOK)
	})
	s.handle("POST "+c.path, c.writeRole, func(w http.ResponseWriter, r *http.Request) {
		v := c.blank(r)
		c.save(s, w, r, &v, c.create)
	})
	s.handle("GET "+c.path+"/{id}", c.readRole, func(w http.ResponseWriter, r *http.Request) {
		v, ok := c.load(s, w, r)
		if !ok {
			return
		}
		if c.detail != nil {
			c.detail(s, w, r, v)
			return
		}
		c.showForm(s, w, r, v, nil, http.StatusOK)
	})
	if c.detail != nil {
		s.handle("GET "+c.path+"/{id}/edit", c.writeRole, func(w http.ResponseWriter, r *http.Request) {
			if v, ok := c.load(s, w, r); ok {
				c.showForm(s, w, r, v, nil, http.StatusOK)
			}
		})
	}
	s.handle("POST "+c.path+"/{id}", c.writeRole, func(w http.ResponseWriter, r *http.Request) {
		v, ok := c.load(s, w, r)
		if !ok {
			return
		}
		c.save(s, w, r, &v, c.update)
	})
	s.handle("POST "+c.path+"/{id}/delete", c.writeRole, func(w http.ResponseWriter, r *http.Request) {
		v, ok := c.load(s, w, r)
		if !ok {
			return
		}
		sess, _ := sessionFrom(r.Context())
		if err := c.remove(r.Context(), sess.User.Name, *c.id(&v)); err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("deleted", "what", c.singular, "name", c.title(v), "user", sess.User.Name)
		http.Redirect(w, r, withFlash(c.path, "Deleted "+c.singular+" "+c.title(v)+"."), http.StatusSeeOther)
	})
}

func (c *crud[T]) load(s *Server, w http.ResponseWriter, r *http.Request) (T, bool) {
	var zero T
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, "That "+c.singular)
		return zero, false
	}
	v, err := c.get(r.Context(), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.notFound(w, r, "That "+c.singular)
		} else {
			s.fail(w, r, err)
		}
		return zero, false
	}
	return v, true
}

func (c *crud[T]) listPage(s *Server) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if wantsCSV(r) {
			c.listCSV(s, w, r)
			return
		}
		lv, err := c.list(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p := s.page(r, c.plural, c.path)
		lv.CSV = csvURL(r)
		var newURL string
		if can(p, c.writeRole) {
			newURL = c.path + "/new"
			lv.Import = c.importURL
		}
		s.render(w, r, listPage(p, c.plural, c.singular, newURL, r.URL.Path, lv))
	}
}

// listCSV writes the whole list, with the filters of the request, as CSV.
func (c *crud[T]) listCSV(s *Server, w http.ResponseWriter, r *http.Request) {
	name := strings.ToLower(c.plural)
	if c.csv != nil {
		csvHeaders(w, name)
		if err := c.csv(w, r); err != nil {
			s.log.Error("CSV export", "list", c.plural, "err", err)
		}
		return
	}
	lv, err := c.list(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	csvHeaders(w, name)
	if err := writeTableCSV(w, lv.Table); err != nil {
		s.log.Error("CSV export", "list", c.plural, "err", err)
	}
}

// showForm renders the create/edit form for v, with errs beside fields.
func (c *crud[T]) showForm(s *Server, w http.ResponseWriter, r *http.Request, v T, errs map[string]string, status int) {
	fields, err := c.fields(r.Context(), v, errs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := *c.id(&v)
	heading := strings.ToUpper(c.singular[:1]) + c.singular[1:]
	p := s.page(r, "New "+c.singular, c.path)
	fv := formView{Heading: "New " + c.singular, Action: c.path, Fields: fields, Submit: "Create " + c.singular, Cancel: c.path}
	if id != 0 {
		p.Title = heading + " " + c.title(v)
		fv.Heading, fv.Submit = p.Title, "Save"
		fv.Action = c.path + "/" + strconv.FormatInt(id, 10)
		if c.detail != nil {
			fv.Cancel = fv.Action
		}
		fv.DeleteAction, fv.DeleteWhat = fv.Action+"/delete", c.singular+" "+c.title(v)
	}
	if !can(p, c.writeRole) {
		fv.ReadOnly = true
		for i := range fv.Fields {
			fv.Fields[i].ReadOnly = true
		}
	}
	if len(errs) > 0 {
		fv.Error = "Please correct the fields marked below; nothing was saved."
		if msg, ok := errs[""]; ok {
			fv.Error = msg
		}
	}
	w.WriteHeader(status)
	s.render(w, r, formPage(p, fv))
}

// save parses the form into v and stores it with op; validation errors
// re-show the form with what the user typed and the messages by the fields.
func (c *crud[T]) save(s *Server, w http.ResponseWriter, r *http.Request, v *T, op func(context.Context, string, *T) error) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	errs := c.parse(r.Context(), r, v)
	if len(errs) == 0 {
		sess, _ := sessionFrom(r.Context())
		err := op(r.Context(), sess.User.Name, v)
		var verr *store.ValidationError
		switch {
		case err == nil:
			s.log.Info("saved", "what", c.singular, "name", c.title(*v), "user", sess.User.Name)
			target := c.path + "/" + strconv.FormatInt(*c.id(v), 10)
			http.Redirect(w, r, withFlash(target, "Saved "+c.singular+" "+c.title(*v)+"."), http.StatusSeeOther)
			return
		case errors.As(err, &verr):
			errs = verr.Fields
		default:
			s.fail(w, r, err)
			return
		}
	}
	c.showForm(s, w, r, *v, errs, http.StatusUnprocessableEntity)
}

// formValue is the trimmed form value of name.
func formValue(r *http.Request, name string) string {
	return strings.TrimSpace(r.PostFormValue(name))
}

// formInt parses an integer form value into *dst; a bad value is a field
// error (an empty value is 0).
func formInt(r *http.Request, name string, dst *int64, errs map[string]string) {
	s := formValue(r, name)
	if s == "" {
		*dst = 0
		return
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		errs[name] = "must be a whole number"
		return
	}
	*dst = n
}

// selectOptions builds options with an optional empty first entry.
func selectOptions(empty string, items ...option) []option {
	if empty == "" {
		return items
	}
	return append([]option{{"", empty}}, items...)
}

// entities lists the generic inventory sections.
func (s *Server) entities() []registrar {
	return []registrar{s.modemsCRUD(), s.cmtsCRUD(), s.networksCRUD(), s.plansCRUD(), s.customersCRUD(), s.mtasCRUD(), s.cpesCRUD(), s.usersCRUD()}
}
