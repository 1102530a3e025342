package ui

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"ip6m/store"
)

// maxTokenDays bounds a token's lifetime in days (0: it never expires).
const maxTokenDays = 3650

type tokenJSON struct {
	ID       int64      `json:"id"`
	Name     string     `json:"name"`
	Role     string     `json:"role"`
	UserID   int64      `json:"user_id"`
	User     string     `json:"user"`
	Created  time.Time  `json:"created"`
	Expires  *time.Time `json:"expires"`
	LastUsed *time.Time `json:"last_used"`
}

func tokenOut(t store.APITokenRow) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Role: t.Role, UserID: t.UserID, User: t.UserName, Created: t.Created,
		Expires: optTime(t.Expires), LastUsed: optTime(t.LastUsed)}
}

// tokenRequest is what POST /api/v1/tokens takes.
type tokenRequest struct {
	Name          string `json:"name"`
	Role          string `json:"role"`
	UserID        int64  `json:"user_id"`
	ExpiresInDays int64  `json:"expires_in_days"`
}

// tokenCreated carries the secret, shown this once.
type tokenCreated struct {
	Token  tokenJSON `json:"token"`
	Secret string    `json:"secret"`
}

func (s *Server) apiTokens(w http.ResponseWriter, r *http.Request) error {
	p := queryParams(r, "limit", "offset", "user_id")
	page := p.page()
	userID := p.id("user_id")
	if err := p.err(); err != nil {
		return err
	}
	all, err := s.st.ListAPITokens(r.Context())
	if err != nil {
		return err
	}
	var keep []store.APITokenRow
	for _, t := range all {
		if userID == 0 || t.UserID == userID {
			keep = append(keep, t)
		}
	}
	list, total := pageOf(keep, page)
	writeList(w, list, total, page, tokenOut)
	return nil
}

func (s *Server) apiTokenCreate(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	owner := apiUser(r)
	if req.UserID != 0 && req.UserID != owner.ID {
		u, err := s.st.GetUser(r.Context(), req.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return &store.ValidationError{Entity: "API token", Fields: map[string]string{"user_id": "does not exist"}}
		}
		if err != nil {
			return err
		}
		owner = u
	}
	secret, t, err := s.createToken(r, owner, req.Name, req.Role, req.ExpiresInDays)
	if err != nil {
		return err
	}
	w.Header().Set("Location", apiPrefix+"/tokens/"+strconv.FormatInt(t.ID, 10))
	writeJSON(w, http.StatusCreated, tokenCreated{Token: tokenOut(t), Secret: secret})
	return nil
}

// createToken makes a token for owner that lasts days (0: forever), as the
// request's user (API token or session), and returns its secret.
func (s *Server) createToken(r *http.Request, owner store.User, name, role string, days int64) (string, store.APITokenRow, error) {
	if days < 0 || days > maxTokenDays {
		return "", store.APITokenRow{}, &store.ValidationError{Entity: "API token",
			Fields: map[string]string{"expires_in_days": "must be from 0 (never) to " + strconv.Itoa(maxTokenDays)}}
	}
	actor := apiUser(r).Name
	if sess, ok := sessionFrom(r.Context()); ok {
		actor = sess.User.Name
	}
	secret, t, err := s.st.CreateAPIToken(r.Context(), actor, owner, name, role, time.Duration(days)*24*time.Hour)
	if err != nil {
		return "", store.APITokenRow{}, err
	}
	s.log.Info("API token created", "name", t.Name, "role", t.Role, "owner", owner.Name, "user", actor)
	return secret, store.APITokenRow{APIToken: t, UserName: owner.Name}, nil
}

func (s *Server) apiTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := apiID(r)
	if err != nil {
		return err
	}
	if err := s.st.RevokeAPIToken(r.Context(), apiUser(r).Name, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
