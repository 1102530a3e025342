package store

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// ValidationError lists what is wrong with the fields of one entity, keyed by
// field name, so the UI can show each message next to its input.
type ValidationError struct {
	Entity string
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return fmt.Sprintf("invalid %s: %s", e.Entity, strings.Join(parts, "; "))
}

// validator collects field errors for one entity.
type validator struct {
	entity string
	fields map[string]string
}

func newValidator(entity string) *validator {
	return &validator{entity: entity}
}

// fail records msg for field, keeping the first message per field.
func (v *validator) fail(field, format string, args ...any) {
	if v.fields == nil {
		v.fields = map[string]string{}
	}
	if _, ok := v.fields[field]; !ok {
		v.fields[field] = fmt.Sprintf(format, args...)
	}
}

func (v *validator) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Entity: v.entity, Fields: v.fields}
}

// required trims *s and fails when it is empty.
func (v *validator) required(field string, s *string) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		v.fail(field, "is required")
	}
}

// maxLen fails when s is longer than n bytes.
func (v *validator) maxLen(field, s string, n int) {
	if len(s) > n {
		v.fail(field, "is longer than %d characters", n)
	}
}

// mac normalises *s to the canonical MAC form.
func (v *validator) mac(field string, s *string) {
	m, err := NormalizeMAC(*s)
	if err != nil {
		v.fail(field, "%v", err)
		return
	}
	*s = m
}

// optionalMAC is mac for a field that may be empty.
func (v *validator) optionalMAC(field string, s *string) {
	if strings.TrimSpace(*s) == "" {
		*s = ""
		return
	}
	v.mac(field, s)
}

// addr normalises an optional address of the given family (4, 6 or 0 for
// either) to netip's canonical text.
func (v *validator) addr(field string, s *string, family int) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		return
	}
	a, err := netip.ParseAddr(*s)
	if err != nil || a.Zone() != "" {
		v.fail(field, "%q is not an IP address", *s)
		return
	}
	a = a.Unmap()
	switch {
	case family == 4 && !a.Is4():
		v.fail(field, "%q is not an IPv4 address", *s)
		return
	case family == 6 && !a.Is6():
		v.fail(field, "%q is not an IPv6 address", *s)
		return
	}
	*s = a.String()
}

// addrList normalises a comma/space separated list of addresses.
func (v *validator) addrList(field string, s *string, family int) {
	items := strings.FieldsFunc(*s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	for i := range items {
		v.addr(field, &items[i], family)
	}
	*s = strings.Join(items, ", ")
}

// intRange fails when n is outside [lo, hi].
func (v *validator) intRange(field string, n, lo, hi int64) {
	if n < lo || n > hi {
		v.fail(field, "must be between %d and %d", lo, hi)
	}
}

// oneOf fails when s is not one of the allowed values.
func (v *validator) oneOf(field, s string, allowed ...string) {
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.fail(field, "must be one of %s", strings.Join(allowed, ", "))
}

// SplitList splits a stored address list ("a, b") into its items.
func SplitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
