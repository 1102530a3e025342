package docsiscfg

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// BER tags of the SNMP value types.
const (
	berInteger   = 0x02
	berOctetStr  = 0x04
	berOID       = 0x06
	berSequence  = 0x30
	berIPAddress = 0x40
	berCounter32 = 0x41
	berGauge32   = 0x42
	berTimeTicks = 0x43
)

// digitMapOID returns the PacketCable 2.0 digit map object the DigitMap
// keyword sets.
func digitMapOID() []uint32 {
	return []uint32{1, 3, 6, 1, 4, 1, 4491, 2, 2, 8, 2, 1, 1, 3, 1, 1, 2, 1}
}

// maxDigitMap is the reference's limit for a DigitMap file.
const maxDigitMap = 8192

// resolveOID turns a numeric OID or a MIB name with an index into arcs,
// kept in e.arcs.
func (e *encoder) resolveOID(text string) ([]uint32, error) {
	arcs, err := resolveOID(text, e.arcs[:0])
	e.arcs = arcs
	return arcs, err
}

func resolveOID(text string, arcs []uint32) ([]uint32, error) {
	s := text
	anchored := strings.HasPrefix(s, ".")
	if anchored {
		s = s[1:]
	}
	if s == "" {
		return arcs, errors.New("empty OID")
	}
	if strings.Contains(s, "::") {
		return arcs, fmt.Errorf("OID %q: MODULE::name is not supported, write the name alone", text)
	}
	cur := mibRoot
	first := true
	for s != "" {
		var comp string
		switch s[0] {
		case '"', '\'':
			q := s[0]
			end := strings.IndexByte(s[1:], q)
			if end < 0 {
				return arcs, fmt.Errorf("OID %q: quoted index is not closed", text)
			}
			str := s[1 : 1+end]
			if q == '"' {
				arcs = append(arcs, uint32(len(str)))
			}
			for i := 0; i < len(str); i++ {
				arcs = append(arcs, uint32(str[i]))
			}
			s = s[2+end:]
			cur = -1
			first = false
			if s != "" {
				if s[0] != '.' {
					return arcs, fmt.Errorf("OID %q: expected '.' after a quoted index", text)
				}
				s = s[1:]
				if s == "" {
					return arcs, fmt.Errorf("OID %q ends with '.'", text)
				}
			}
			continue
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			comp, s = s, ""
		} else {
			comp, s = s[:i], s[i+1:]
			if s == "" {
				return arcs, fmt.Errorf("OID %q ends with '.'", text)
			}
		}
		if comp == "" {
			return arcs, fmt.Errorf("OID %q has an empty component", text)
		}
		if c := comp[0]; '0' <= c && c <= '9' {
			v, err := strconv.ParseUint(comp, 10, 32)
			if err != nil {
				return arcs, fmt.Errorf("OID %q: sub-identifier %s is not a number in 0..4294967295", text, comp)
			}
			arcs = append(arcs, uint32(v))
			if cur != -1 {
				cur = mibChildByArc(cur, uint32(v))
			}
			first = false
			continue
		}
		switch {
		case first && !anchored:
			n := mibLookup(comp)
			if n < 0 {
				return arcs, fmt.Errorf("unknown MIB object %q", comp)
			}
			arcs = mibArcs(n, arcs)
			cur = n
		case cur != -1:
			n := mibChildByName(cur, comp)
			if n < 0 {
				return arcs, fmt.Errorf("OID %q: %q is not a child of %s", text, comp, mibParentName(cur))
			}
			arcs = append(arcs, mibArc(n))
			cur = n
		default:
			return arcs, fmt.Errorf("OID %q: name %q after a numeric index", text, comp)
		}
		first = false
	}
	if len(arcs) < 2 {
		return arcs, fmt.Errorf("OID %q needs at least two sub-identifiers", text)
	}
	if arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40) || (arcs[0] == 2 && arcs[1] > 0xffffffff-80) {
		return arcs, fmt.Errorf("OID %q does not start with 0, 1 or 2 and a valid second arc", text)
	}
	if len(arcs) > 128 {
		return arcs, fmt.Errorf("OID %q has more than 128 sub-identifiers", text)
	}
	return arcs, nil
}

func mibParentName(n int) string {
	if n == mibRoot {
		return "the OID root"
	}
	return mibName(n)
}

// appendOID appends a BER OBJECT IDENTIFIER with its 06 header.
func appendOID(dst []byte, arcs []uint32) []byte {
	dst = append(dst, berOID, 0)
	at := len(dst) - 1
	dst = appendOIDBody(dst, arcs)
	n := len(dst) - at - 1
	if n < 128 {
		dst[at] = byte(n)
		return dst
	}
	// long form: make room for 81 xx
	dst = append(dst, 0)
	copy(dst[at+2:], dst[at+1:len(dst)-1])
	dst[at] = 0x81
	dst[at+1] = byte(n)
	return dst
}

func appendOIDBody(dst []byte, arcs []uint32) []byte {
	dst = appendBase128(dst, uint64(arcs[0])*40+uint64(arcs[1]))
	for _, a := range arcs[2:] {
		dst = appendBase128(dst, uint64(a))
	}
	return dst
}

func appendBase128(dst []byte, v uint64) []byte {
	n := 1
	for t := v >> 7; t != 0; t >>= 7 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		b := byte(v>>(7*uint(i))) & 0x7f
		if i != 0 {
			b |= 0x80
		}
		dst = append(dst, b)
	}
	return dst
}

func appendBERLen(dst []byte, n int) []byte {
	switch {
	case n < 128:
		return append(dst, byte(n))
	case n < 256:
		return append(dst, 0x81, byte(n))
	}
	return append(dst, 0x82, byte(n>>8), byte(n))
}

func appendBERInt(dst []byte, tag byte, v int64) []byte {
	n := 1
	for n < 8 {
		shift := uint(8 * n)
		hi := v >> (shift - 1)
		if hi == 0 || hi == -1 {
			break
		}
		n++
	}
	dst = append(dst, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*uint(i))))
	}
	return dst
}

// snmpValue is a parsed varbind value.
type snmpValue struct {
	tag  byte
	num  int64
	data []byte // octet string / IP address bytes, or OID arcs body
	str  bool   // String or HexString: the reference's header-length switch applies
}

// varbindSetting parses "<oid> <Type> <value>;" and appends TLV 11 (or
// 202.11). A top-level varbind over 255 bytes in an MTA file becomes TLV 64
// with a two-byte length, as the reference writes it.
func (e *encoder) varbindSetting(node *tlvNode, name token, root bool) error {
	ot, err := e.valueToken()
	if err != nil {
		return err
	}
	if ot.kind != tokWord {
		return e.badValue(ot, node, "expected an OID")
	}
	arcs, err := e.resolveOID(ot.text)
	if err != nil {
		return e.badValue(ot, node, "%v", err)
	}
	tt, err := e.valueToken()
	if err != nil {
		return err
	}
	vt, err := e.valueToken()
	if err != nil {
		return err
	}
	var v snmpValue
	e.tmp = e.tmp[:0]
	switch strings.ToLower(tt.text) {
	case "integer":
		n, err := strconv.ParseInt(vt.text, 10, 32)
		if err != nil || vt.kind != tokWord {
			return e.badValue(vt, node, "Integer: expected a number in -2147483648..2147483647")
		}
		v = snmpValue{tag: berInteger, num: n}
	case "gauge", "gauge32", "unsigned32", "counter", "counter32", "timeticks":
		n, err := strconv.ParseUint(vt.text, 10, 32)
		if err != nil || vt.kind != tokWord {
			return e.badValue(vt, node, "%s: expected a number in 0..4294967295", tt.text)
		}
		// Unsigned32 gets the Gauge32 tag, as in the reference.
		v = snmpValue{tag: berGauge32, num: int64(n)}
		switch strings.ToLower(tt.text) {
		case "counter", "counter32":
			v.tag = berCounter32
		case "timeticks":
			v.tag = berTimeTicks
		}
	case "ipaddress":
		a, err := netip.ParseAddr(vt.text)
		if err != nil || !a.Is4() || vt.kind != tokWord {
			return e.badValue(vt, node, "IPAddress: expected an IPv4 address")
		}
		b := a.As4()
		e.tmp = append(e.tmp, b[:]...)
		v = snmpValue{tag: berIPAddress, data: e.tmp}
	case "string":
		if vt.kind != tokString {
			return e.badValue(vt, node, "String: expected a quoted string")
		}
		e.tmp = unescape(vt, e.tmp)
		v = snmpValue{tag: berOctetStr, data: e.tmp, str: true}
	case "hexstring":
		if e.tmp, err = appendHex(e.tmp, vt); err != nil {
			return e.badValue(vt, node, "HexString: %v", err)
		}
		v = snmpValue{tag: berOctetStr, data: e.tmp, str: true}
	case "objectid":
		if vt.kind != tokWord {
			return e.badValue(vt, node, "ObjectID: expected an OID")
		}
		// resolve into a second buffer: arcs of the name are still in use
		var vb [32]uint32
		varcs, err := resolveOID(vt.text, vb[:0])
		if err != nil {
			return e.badValue(vt, node, "ObjectID: %v", err)
		}
		e.tmp = appendOIDBody(e.tmp, varcs)
		v = snmpValue{tag: berOID, data: e.tmp}
	default:
		return e.lex.errAt(tt.line, tt.col, tt.text, "%s: unknown SNMP type, expected Integer, Unsigned32, Gauge32, Counter32, TimeTicks, IPAddress, String, HexString or ObjectID", node.name)
	}
	if v.str {
		if obj, sizes, ok := mibSizeCheck(arcs, len(v.data)); !ok {
			return e.badValue(vt, node, "%s is %d bytes, outside the MIB's SIZE (%s) for %s", tt.text, len(v.data), strings.ReplaceAll(strings.ReplaceAll(sizes, "-", ".."), ",", " | "), mibName(obj))
		}
	}
	if err := e.appendVarbindTLV(node, name, root, arcs, v); err != nil {
		return err
	}
	return e.expect(tokSemi)
}

// mibSizeCheck checks an OCTET STRING length against the SIZE ranges the
// MIB gives the object that arcs belong to, as the reference does.
func mibSizeCheck(arcs []uint32, n int) (obj int, sizes string, ok bool) {
	obj = -1
	cur := mibRoot
	for _, a := range arcs {
		if cur = mibChildByArc(cur, a); cur < 0 {
			break
		}
		obj = cur
	}
	if obj < 0 {
		return obj, "", true
	}
	for f := range strings.SplitSeq(mibExtraOf(obj), ";") {
		list, found := strings.CutPrefix(f, "z=")
		if !found {
			continue
		}
		for r := range strings.SplitSeq(list, ",") {
			lo, hi, _ := strings.Cut(r, "-")
			l, err1 := strconv.Atoi(lo)
			h, err2 := strconv.Atoi(hi)
			if err1 == nil && err2 == nil && l <= n && n <= h {
				return obj, list, true
			}
		}
		return obj, list, false
	}
	return obj, "", true
}

// appendVarbind appends the BER varbind SEQUENCE with the reference's
// header rule: a String/HexString whose length + sub-identifier count + 8
// reaches 127 gets the four-byte 30 82 HH LL header; everything else the
// two-byte 30 LL header (or 30 82 HH LL when the body exceeds 127 bytes,
// where the reference writes a corrupt length).
func appendVarbind(dst []byte, arcs []uint32, v snmpValue) []byte {
	start := len(dst)
	dst = append(dst, berSequence, 0, 0, 0) // room for the long header
	body := len(dst)
	dst = appendOID(dst, arcs)
	switch v.tag {
	case berInteger:
		dst = appendBERInt(dst, berInteger, v.num)
	case berGauge32, berCounter32, berTimeTicks:
		dst = appendBERInt(dst, v.tag, v.num) // non-negative: minimal with leading 00
	default:
		dst = append(dst, v.tag)
		dst = appendBERLen(dst, len(v.data))
		dst = append(dst, v.data...)
	}
	n := len(dst) - body
	long := n > 127 || (v.str && len(v.data)+len(arcs)+8 >= 127)
	if long {
		dst[start+1] = 0x82
		dst[start+2] = byte(n >> 8)
		dst[start+3] = byte(n)
		return dst
	}
	dst[start+1] = byte(n)
	copy(dst[start+2:], dst[body:])
	return dst[:len(dst)-2]
}

func (e *encoder) appendVarbindTLV(node *tlvNode, name token, root bool, arcs []uint32, v snmpValue) error {
	start := len(e.buf)
	e.buf = append(e.buf, node.code, 0)
	e.buf = appendVarbind(e.buf, arcs, v)
	n := len(e.buf) - start - 2
	if n <= 255 {
		e.buf[start+1] = byte(n)
		return nil
	}
	if !root || !e.mta || node.code != 11 {
		e.buf = e.buf[:start]
		where := "in a CM file (the reference would write it as TLV 64, which a modem reads as a static multicast session)"
		if !root {
			where = "inside an aggregate"
		}
		return e.lex.errAt(name.line, name.col, name.text, "%s: varbind is %d bytes, over 255, not allowed %s", node.name, n, where)
	}
	if n > 0xffff {
		return e.lex.errAt(name.line, name.col, name.text, "%s: varbind is %d bytes, over 65535", node.name, n)
	}
	// TLV 64 with a two-byte length
	e.buf = append(e.buf, 0)
	copy(e.buf[start+3:], e.buf[start+2:len(e.buf)-1])
	e.buf[start] = 64
	e.buf[start+1] = byte(n >> 8)
	e.buf[start+2] = byte(n)
	return nil
}

// digitMap reads a digit map file and sets it as a String varbind.
func (e *encoder) digitMap(node *tlvNode, name token, root bool) error {
	data, t, err := e.readFile(node)
	if err != nil {
		return err
	}
	if len(data) > maxDigitMap {
		return e.badValue(t, node, "file %q is %d bytes, over %d", t.text, len(data), maxDigitMap)
	}
	e.tmp = append(e.tmp[:0], data...)
	v := snmpValue{tag: berOctetStr, data: e.tmp, str: true}
	if err := e.appendVarbindTLV(node, name, root, digitMapOID(), v); err != nil {
		return err
	}
	return e.expect(tokSemi)
}
