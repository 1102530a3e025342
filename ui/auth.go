package ui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ip6m/store"
)

const (
	sessionCookie   = "ip6m_session"
	loginCSRFCookie = "ip6m_login"
	csrfField       = "csrf"
	csrfHeader      = "X-CSRF-Token"
	maxPostBytes    = 16 << 20
)

type ctxKey int

const sessionKey ctxKey = 1

// sessionFrom returns the request's session (set by requireRole).
func sessionFrom(ctx context.Context) (store.Session, bool) {
	s, ok := ctx.Value(sessionKey).(store.Session)
	return s, ok
}

// requireRole lets a request through when it has a live session whose user
// has at least role, and, for anything but GET/HEAD, the session's CSRF
// token. Browsers without a session are sent to the login page; htmx and
// API callers get 401.
func (s *Server) requireRole(role string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err != nil {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// No form of the UI comes near this; a CSV import is the
			// largest.
			r.Body = http.MaxBytesReader(w, r.Body, maxPostBytes)
			tok := r.Header.Get(csrfHeader)
			if tok == "" {
				tok = r.PostFormValue(csrfField)
			}
			if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(tok), []byte(sess.CSRF)) != 1 {
				s.log.Warn("CSRF check failed", "user", sess.User.Name, "path", r.URL.Path, "remote", r.RemoteAddr)
				http.Error(w, "the form has expired or came from another site: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		if !store.RoleAtLeast(sess.User.Role, role) {
			w.WriteHeader(http.StatusForbidden)
			s.render(w, r, errorPage(pageFor(r, sess, "Not allowed"), http.StatusForbidden,
				"Your role ("+sess.User.Role+") may not do this; it needs "+role+"."))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey, sess)))
	})
}

// sameOrigin rejects a state-changing request whose Origin (or, without
// one, Referer) names another host. Browsers always send Origin on POST.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" || src == "null" {
		return src == ""
	}
	u, err := url.Parse(src)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// session looks the cookie's session up.
func (s *Server) session(r *http.Request) (store.Session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return store.Session{}, errors.New("no session")
	}
	return s.st.SessionByToken(r.Context(), c.Value)
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode,
	})
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loginPage shows the login form with a fresh double-submit CSRF token.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := s.session(r); err == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	tok := randomString()
	s.setCookie(w, loginCSRFCookie, tok, 3600)
	s.render(w, r, loginPage(loginView{CSRF: tok, Next: safeNext(r.URL.Query().Get("next")), Version: s.cfg.Version}))
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		http.Error(w, "the login form has expired: reload the page and try again", http.StatusForbidden)
		return
	}
	name := r.PostFormValue("name")
	next := safeNext(r.PostFormValue("next"))
	key := remoteKey(r)
	if blocked, until := s.logins.blocked(key, time.Now()); blocked {
		s.log.Warn("login throttled", "user", name, "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusTooManyRequests)
		s.render(w, r, loginPage(loginView{CSRF: c.Value, Next: next, Name: name, Version: s.cfg.Version,
			Error: "Too many failed logins from your address; try again after " + until.Format("15:04") + "."}))
		return
	}
	u, err := s.st.Authenticate(r.Context(), name, r.PostFormValue("password"))
	if err != nil {
		if !errors.Is(err, store.ErrBadLogin) {
			s.serverError(w, r, err)
			return
		}
		s.logins.fail(key, time.Now())
		s.log.Info("login refused", "user", name, "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, loginPage(loginView{CSRF: c.Value, Next: next, Name: name, Error: "Wrong user name or password.", Version: s.cfg.Version}))
		return
	}
	tok, _, err := s.st.CreateSession(r.Context(), u, s.cfg.SessionTTL, r.RemoteAddr)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.logins.success(key)
	s.log.Info("login", "user", u.Name, "remote", r.RemoteAddr)
	s.setCookie(w, loginCSRFCookie, "", -1)
	s.setCookie(w, sessionCookie, tok, int(s.cfg.SessionTTL.Seconds()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.st.DeleteSession(r.Context(), c.Value); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	s.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}
