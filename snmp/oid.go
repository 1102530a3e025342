package snmp

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// OID is a parsed object identifier.
type OID []uint32

// ParseOID parses dotted decimal, with or without a leading dot.
func ParseOID(s string) (OID, error) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil, fmt.Errorf("parse oid %q: empty", s)
	}
	o := make(OID, 0, strings.Count(s, ".")+1)
	for i, part := range strings.Split(s, ".") {
		n, err := strconv.ParseUint(part, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parse oid %q: arc %d: %w", s, i, err)
		}
		o = append(o, uint32(n))
	}
	return o, nil
}

// mustOID parses a constant.
func mustOID(s string) OID {
	o, err := ParseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

// String formats o with a leading dot, as gosnmp does.
func (o OID) String() string {
	var b strings.Builder
	for _, n := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(n), 10))
	}
	return b.String()
}

// HasPrefix reports whether o is p or under p.
func (o OID) HasPrefix(p OID) bool {
	if len(o) < len(p) {
		return false
	}
	for i := range p {
		if o[i] != p[i] {
			return false
		}
	}
	return true
}

// Compare orders OIDs lexicographically, as GETNEXT does.
func (o OID) Compare(p OID) int {
	for i := 0; i < len(o) && i < len(p); i++ {
		switch {
		case o[i] < p[i]:
			return -1
		case o[i] > p[i]:
			return 1
		}
	}
	switch {
	case len(o) < len(p):
		return -1
	case len(o) > len(p):
		return 1
	}
	return 0
}

// Append returns o followed by arcs, in a new slice.
func (o OID) Append(arcs ...uint32) OID {
	r := make(OID, 0, len(o)+len(arcs))
	return append(append(r, o...), arcs...)
}

// isException reports a v2c varbind exception: the object is missing.
func isException(t gosnmp.Asn1BER) bool {
	return t == gosnmp.NoSuchObject || t == gosnmp.NoSuchInstance || t == gosnmp.EndOfMibView || t == gosnmp.Null
}

// intValue returns an INTEGER-like value (Integer32, Gauge32, TimeTicks,
// Unsigned32) as an int64.
func intValue(v gosnmp.SnmpPDU) (int64, bool) {
	switch x := v.Value.(type) {
	case int:
		return int64(x), true
	case uint:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// counterValue returns a Counter32 or Counter64 reading and its width in bits.
func counterValue(v gosnmp.SnmpPDU) (uint64, uint, bool) {
	switch v.Type {
	case gosnmp.Counter32:
		if x, ok := v.Value.(uint); ok {
			return uint64(uint32(x)), 32, true
		}
	case gosnmp.Counter64:
		if x, ok := v.Value.(uint64); ok {
			return x, 64, true
		}
	}
	return 0, 0, false
}
