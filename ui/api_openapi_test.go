package ui

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"ip6m/store"
)

// openAPI is the part of the document the tests hold to the code.
type openAPI struct {
	Servers []struct {
		URL string `json:"url"`
	} `json:"servers"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

// TestOpenAPIMatchesRoutes: the served document lists exactly the API's
// routes (path and method, both ways), each with the role the route table
// enforces.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s, ts, _ := newTestServer(t, 0)
	c := apiClient{t: t, base: ts.URL} // public: no token
	var doc openAPI
	c.json("GET", "/api/v1/openapi.json", nil, http.StatusOK, &doc)
	if len(doc.Servers) != 1 || doc.Servers[0].URL != apiPrefix {
		t.Fatalf("servers = %+v, want %s", doc.Servers, apiPrefix)
	}
	documented := map[string]string{} // "GET /api/v1/x" → role
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			if method == "parameters" {
				continue
			}
			var op struct {
				Role     string            `json:"x-ip6m-role"`
				Security []json.RawMessage `json:"security"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			if op.Role == "" && op.Security == nil {
				t.Errorf("%s %s has neither a role nor security: []", method, path)
			}
			documented[strings.ToUpper(method)+" "+apiPrefix+path] = op.Role
		}
	}
	registered := map[string]string{}
	for _, rt := range s.Routes() {
		if rt.API {
			registered[rt.Method+" "+rt.Pattern] = rt.Role
		}
	}
	for route, role := range registered {
		doc, ok := documented[route]
		switch {
		case !ok:
			t.Errorf("route %s is not in openapi.json", route)
		case doc != role:
			t.Errorf("%s: openapi.json says role %q, the route table %q", route, doc, role)
		}
	}
	for route := range documented {
		if _, ok := registered[route]; !ok {
			t.Errorf("openapi.json documents %s, which is no route", route)
		}
	}
	if len(registered) < 50 {
		t.Fatalf("only %d API routes", len(registered))
	}
}

// TestOpenAPISchemas: each schema lists exactly the JSON fields of the Go
// type the API reads or writes for it.
func TestOpenAPISchemas(t *testing.T) {
	var doc openAPI
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	types := map[string]any{
		"CMTS": cmtsJSON{}, "Network": networkJSON{}, "Plan": planJSON{}, "Customer": customerJSON{}, "Modem": modemJSON{},
		"MTA": mtaJSON{}, "CPE": cpeJSON{}, "User": userJSON{}, "Lease4": lease4JSON{}, "Lease6": lease6JSON{},
		"HistoryEntry": historyJSON{}, "HistoryAnswer": historyAnswer{}, "Series": seriesJSON{}, "Metrics": metricsAnswer{},
		"ResetAnswer": resetAnswer{}, "Token": tokenJSON{}, "TokenRequest": tokenRequest{}, "TokenCreated": tokenCreated{},
		"ModemList": listJSON[modemJSON]{}, "PlanVersion": planVersionJSON{}, "PlanVersionList": listJSON[planVersionJSON]{},
		"PlanDiff": planDiffJSON{}, "RollbackRequest": rollbackRequest{}, "PreviewRequest": previewRequest{}, "PlanPreview": planPreviewJSON{},
		"CheckRequest": checkRequest{}, "CheckAnswer": checkAnswer{}, "ImportRow": importRowJSON{}, "ImportReport": importReportJSON{},
		"Event": eventJSON{}, "Events": eventsAnswer{},
	}
	for name, v := range types {
		sch, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s", name)
			continue
		}
		var documented []string
		for p := range sch.Properties {
			documented = append(documented, p)
		}
		sort.Strings(documented)
		if got, want := strings.Join(documented, " "), strings.Join(jsonFields(reflect.TypeOf(v)), " "); got != want {
			t.Errorf("schema %s has\n\t%s\nthe Go type\n\t%s", name, got, want)
		}
	}
	var errShape struct {
		Properties struct {
			Error struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"error"`
		} `json:"properties"`
	}
	raw, _ := json.Marshal(doc.Components.Schemas["Error"])
	json.Unmarshal(raw, &errShape)
	var got []string
	for p := range errShape.Properties.Error.Properties {
		got = append(got, p)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(jsonFields(reflect.TypeOf(apiError{})), " ") {
		t.Errorf("the Error schema has %v", got)
	}
}

// jsonFields lists the JSON names of t's fields, following embedded
// structs as encoding/json does, sorted.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIParameters: every query parameter the document lists is one
// the route takes (the API refuses unknown ones), and every list route
// documents limit and offset.
func TestOpenAPIParameters(t *testing.T) {
	_, _, _, clients := newAPITest(t, 3)
	c := clients[store.RoleAdmin]
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters map[string]openAPIParam `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for path, ops := range doc.Paths {
		raw, ok := ops["get"]
		if !ok {
			continue
		}
		var op struct {
			Parameters []openAPIParam `json:"parameters"`
		}
		json.Unmarshal(raw, &op)
		var names []string
		for _, p := range op.Parameters {
			if p.Ref != "" {
				p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
			}
			if p.In != "query" {
				continue
			}
			names = append(names, p.Name)
			checked++
			target := apiPath(apiPrefix+path, 1) + "?" + p.Name + "=1"
			code, b, _ := c.do("GET", target, nil)
			var e apiErrorBody
			json.Unmarshal(b, &e)
			if code == 400 && e.Error != nil && strings.Contains(e.Error.Fields[p.Name], "not a parameter") {
				t.Errorf("GET %s: the documented parameter %s is refused", path, p.Name)
			}
		}
		// Not lists: one row, a document, a series, a search, a diff, a
		// file, a feed of the latest events.
		if strings.HasSuffix(path, "}") || path == "/openapi.json" || strings.Contains(path, "metrics") || strings.Contains(path, "history") ||
			strings.HasSuffix(path, "/diff") || strings.HasSuffix(path, ".csv") || path == "/events" {
			continue
		}
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " limit ") || !strings.Contains(" "+strings.Join(names, " ")+" ", " offset ") {
			t.Errorf("list GET %s documents %v, without limit and offset", path, names)
		}
	}
	if checked < 30 {
		t.Fatalf("only %d query parameters checked", checked)
	}
}

// openAPIParam is a parameter or a reference to one.
type openAPIParam struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}
