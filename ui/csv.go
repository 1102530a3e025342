package ui

import (
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"ip6m/store"
)

// CSV in the UI: every list and the lease history download as CSV with the
// filters on screen (?format=csv), and modems import from CSV with a dry
// run first.

// wantsCSV reports whether the request asks for the list as CSV.
func wantsCSV(r *http.Request) bool { return r.URL.Query().Get("format") == "csv" }

// csvURL is the request's own URL asking for CSV, without the page number.
func csvURL(r *http.Request) string {
	q := r.URL.Query()
	q.Del("page")
	q.Del("flash")
	q.Set("format", "csv")
	return r.URL.Path + "?" + q.Encode()
}

// csvHeaders marks the response as a CSV download named name-DATE.csv.
func csvHeaders(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+"-"+time.Now().UTC().Format("2006-01-02")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
}

// writeTableCSV writes a table as shown: its column titles, then each
// row's cell texts. A cell a spreadsheet would run as a formula is
// prefixed with an apostrophe.
func writeTableCSV(w io.Writer, t tableView) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		rec[i] = c.Text
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for _, row := range t.Rows {
		rec = rec[:0]
		for _, c := range row {
			rec = append(rec, store.CSVSafe(c.Text))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// importView is the CSV import page: the form, and after a dry run or an
// import, the report.
type importView struct {
	Report  *store.ImportReport
	Content string // the file, carried from the dry run to the import
	Error   string
	Done    bool // the report is of a real import
	// Show filters the report's rows: "" all, "error", "changes".
	Show string
}

// rows are the report rows the view shows.
func (v importView) rows() []store.ImportRow {
	if v.Report == nil {
		return nil
	}
	if v.Show == "" {
		return v.Report.Rows
	}
	var out []store.ImportRow
	for _, r := range v.Report.Rows {
		if r.Result == v.Show || v.Show == "changes" && r.Result != "unchanged" {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) registerCSVRoutes() {
	s.handle("GET /modems/import", store.RoleOperator, s.modemImportForm)
	s.handle("POST /modems/import", store.RoleOperator, s.modemImport)
}

func (s *Server) modemImportForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, modemImportPage(s.page(r, "Import modems", "/modems"), importView{}))
}

// modemImport runs the dry run (the first post) or, with confirm set, the
// import of the same content.
func (s *Server) modemImport(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "Import modems", "/modems")
	v := importView{}
	content, err := importContent(r)
	if err != nil {
		v.Error = err.Error()
		w.WriteHeader(http.StatusUnprocessableEntity)
		s.render(w, r, modemImportPage(p, v))
		return
	}
	v.Content = content
	confirm := r.PostFormValue("confirm") == "1"
	sess, _ := sessionFrom(r.Context())
	rep, err := s.st.ImportModemsCSV(r.Context(), sess.User.Name, strings.NewReader(content), !confirm)
	var ferr *store.ImportFileError
	if err != nil && !errors.As(err, &ferr) {
		s.fail(w, r, err)
		return
	}
	if err != nil {
		v.Error = "Nothing was imported: " + err.Error()
		w.WriteHeader(http.StatusUnprocessableEntity)
		s.render(w, r, modemImportPage(p, v))
		return
	}
	v.Report, v.Done = &rep, confirm
	if rep.Errors > 0 {
		v.Show = "error"
	}
	if confirm {
		v.Content = ""
		s.log.Info("modems imported", "created", rep.Created, "updated", rep.Updated, "errors", rep.Errors, "user", sess.User.Name)
	}
	s.render(w, r, modemImportPage(p, v))
}

// importContent is the posted CSV: the uploaded file, else the pasted text.
func importContent(r *http.Request) (string, error) {
	if err := r.ParseMultipartForm(4 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return "", errors.New("the upload failed: " + err.Error())
	}
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			return "", errors.New("the upload failed: " + err.Error())
		}
		if len(b) > 0 {
			return string(b), nil
		}
	}
	text := normalizeNewlines(r.PostFormValue("content"))
	if strings.TrimSpace(text) == "" {
		return "", errors.New("Choose a CSV file or paste its lines.")
	}
	return text, nil
}
