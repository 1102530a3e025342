package ui

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"ip6m/store"
)

// tokensView is the API tokens page: the tokens, the form for a new one
// and, right after one is made, its secret (shown this once).
type tokensView struct {
	Tokens  []store.APITokenRow
	Form    []field
	Error   string
	Secret  string
	Created store.APITokenRow
	BaseURL string // for the curl example
}

// tokenDays are the lifetimes the form offers.
var tokenDays = []option{{"30", "30 days"}, {"90", "90 days"}, {"365", "1 year"}, {"0", "never expires"}}

func (s *Server) registerTokenPages() {
	s.handle("GET /tokens", store.RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		sess, _ := sessionFrom(r.Context())
		s.showTokens(w, r, tokenForm{Owner: idString(sess.User.ID), Role: store.RoleViewer, Days: "365"}, nil, http.StatusOK, "", store.APITokenRow{})
	})
	s.handle("POST /tokens", store.RoleAdmin, s.tokenCreate)
	s.handle("POST /tokens/{id}/revoke", store.RoleAdmin, s.tokenRevoke)
}

// tokenForm is what the new-token form holds.
type tokenForm struct {
	Name, Owner, Role, Days string
}

func (s *Server) showTokens(w http.ResponseWriter, r *http.Request, f tokenForm, errs map[string]string, status int, secret string, created store.APITokenRow) {
	ctx := r.Context()
	tokens, err := s.st.ListAPITokens(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	users, err := s.st.ListUsers(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var owners []option
	for _, u := range users {
		owners = append(owners, option{idString(u.ID), u.Name + " (" + u.Role + ")"})
	}
	var roles []option
	for _, ro := range store.Roles {
		roles = append(roles, option{ro, roleLabel(ro)})
	}
	v := tokensView{Tokens: tokens, Secret: secret, Created: created, BaseURL: "http://" + r.Host}
	if s.cfg.SecureCookies {
		v.BaseURL = "https://" + r.Host
	}
	v.Form = []field{
		{Name: "name", Label: "Name", Value: f.Name, Required: true, Error: errs["name"], Help: "what uses it, e.g. grafana or billing-sync"},
		{Name: "user_id", Label: "Acts as user", Type: "select", Options: owners, Value: f.Owner, Error: errs["user_id"], Help: "writes are audited under this user's name"},
		{Name: "role", Label: "Role", Type: "select", Options: roles, Value: f.Role, Error: errs["role"], Help: "never more than the user's own role"},
		{Name: "expires_in_days", Label: "Expires", Type: "select", Options: tokenDays, Value: f.Days, Error: errs["expires_in_days"]},
	}
	if len(errs) > 0 {
		v.Error = "Please correct the fields marked below; no token was made."
	}
	w.WriteHeader(status)
	s.render(w, r, tokensPage(s.page(r, "API tokens", "/tokens"), v))
}

// tokenCreate makes a token and shows its secret once, on the page itself
// (never in a redirect URL, which browsers keep in their history).
func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	f := tokenForm{Name: formValue(r, "name"), Owner: formValue(r, "user_id"), Role: formValue(r, "role"), Days: formValue(r, "expires_in_days")}
	errs := map[string]string{}
	days, err := strconv.ParseInt(f.Days, 10, 64)
	if err != nil {
		errs["expires_in_days"] = "choose how long the token lasts"
	}
	ownerID, _ := strconv.ParseInt(f.Owner, 10, 64)
	owner, err := s.st.GetUser(r.Context(), ownerID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		errs["user_id"] = "choose a user"
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if len(errs) == 0 {
		secret, t, err := s.createToken(r, owner, f.Name, f.Role, days)
		var verr *store.ValidationError
		switch {
		case err == nil:
			s.showTokens(w, r, tokenForm{Owner: f.Owner, Role: store.RoleViewer, Days: "365"}, nil, http.StatusOK, secret, t)
			return
		case errors.As(err, &verr):
			errs = verr.Fields
		default:
			s.fail(w, r, err)
			return
		}
	}
	s.showTokens(w, r, f, errs, http.StatusUnprocessableEntity, "", store.APITokenRow{})
}

func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, "That API token")
		return
	}
	t, err := s.st.GetAPIToken(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess, _ := sessionFrom(r.Context())
	if err := s.st.RevokeAPIToken(r.Context(), sess.User.Name, id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("API token revoked", "name", t.Name, "owner", t.UserName, "user", sess.User.Name)
	http.Redirect(w, r, withFlash("/tokens", "Revoked API token "+t.Name+" of "+t.UserName+"; it stops working at once."), http.StatusSeeOther)
}

// tokenExpiry says when a token expires, or that it does not.
func tokenExpiry(t store.APITokenRow) string {
	if t.Expires.IsZero() {
		return "never"
	}
	return absTime(t.Expires)
}

func tokenExpired(t store.APITokenRow) bool {
	return !t.Expires.IsZero() && !t.Expires.After(time.Now())
}
