package ui

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"ip6m/store"
)

// change is one field of an audited row: what it was and what it became.
type change struct {
	Field, Before, After string
}

// auditSkip are fields every row has that say nothing about the change.
var auditSkip = map[string]bool{"ID": true, "Created": true, "Updated": true, "LastLogin": true}

// auditChanges turns an audit row's before/after JSON into the fields that
// changed (update), or the fields that were set (create, delete).
func auditChanges(e store.AuditEntry) []change {
	before, after := flatJSON(e.Before), flatJSON(e.After)
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var out []change
	for k := range keys {
		if auditSkip[k] {
			continue
		}
		b, a := before[k], after[k]
		if b == a || (e.Before == "" && a == "") || (e.After == "" && b == "") {
			continue
		}
		out = append(out, change{Field: k, Before: b, After: a})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// flatJSON reads a JSON object into field → short text. A non-object
// (a setting's value) is the field "value".
func flatJSON(s string) map[string]string {
	out := map[string]string{}
	if s == "" {
		return out
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		var v any
		if json.Unmarshal([]byte(s), &v) == nil {
			out["value"] = shortValue(v)
		}
		return out
	}
	for k, v := range obj {
		out[k] = shortValue(v)
	}
	return out
}

func shortValue(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	case float64:
		s = fmt.Sprint(x)
		if x == float64(int64(x)) {
			s = fmt.Sprint(int64(x))
		}
	case bool:
		s = fmt.Sprint(x)
	default:
		b, _ := json.Marshal(x)
		s = string(b)
		if s == "null" {
			return ""
		}
	}
	s = strings.ReplaceAll(s, "\n", " ⏎ ")
	if len(s) > 120 {
		s = s[:117] + "…"
	}
	return s
}
