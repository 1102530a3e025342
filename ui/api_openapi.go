package ui

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the API's OpenAPI 3 description, written by hand next to
// the routes; a test holds it to the route table in both directions.
//
//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) apiOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(openAPIDoc)
	return nil
}
