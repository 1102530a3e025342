package docsiscfg

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DecodeError reports malformed binary input at a byte offset.
type DecodeError struct {
	Offset int
	Msg    string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg)
}

// DecodeOptions controls Decode.
type DecodeOptions struct {
	// NumericOIDs prints SNMP OIDs as .1.3.6... instead of MIB names (-o).
	NumericOIDs bool
}

// Decode turns a DOCSIS or PacketCable binary into config text that
// encodes back to the same bytes. A file whose first TLV is 254 is read as
// an MTA file. Top-level TLVs that run past the end are reported as a
// *DecodeError with their offset; values that no keyword can reproduce
// exactly are printed as GenericTLV.
func Decode(data []byte, opts DecodeOptions) ([]byte, error) {
	d := decoder{opts: opts, mta: len(data) > 0 && data[0] == 254}
	d.out = make([]byte, 0, len(data)*4+64)
	d.out = append(d.out, "Main \n{\n"...)
	if err := d.top(data); err != nil {
		return nil, err
	}
	d.out = append(d.out, "}\n"...)
	return d.out, nil
}

type decoder struct {
	opts    DecodeOptions
	mta     bool
	out     []byte
	scratch encoder
	arcs    []uint32
	back    []uint32
}

func (d *decoder) indent(depth int) {
	for i := 0; i < depth; i++ {
		d.out = append(d.out, '\t')
	}
}

func (d *decoder) top(data []byte) error {
	for i := 0; i < len(data); {
		code := data[i]
		if code == 255 && !d.mta {
			d.out = append(d.out, "\t/*EndOfDataMkr*/\n"...)
			rest := data[i+1:]
			if len(bytes.Trim(rest, "\x00")) != 0 {
				d.out = fmt.Appendf(d.out, "\t/* %d bytes after the end marker: 0x%x */\n", len(rest), rest)
				return nil
			}
			for j := 0; j+1 < len(rest); j += 2 {
				d.out = append(d.out, "\t/* Pad */\n"...)
			}
			return nil
		}
		if code == 0 && !d.mta {
			d.out = append(d.out, "\t/* Pad */\n"...)
			i++
			continue
		}
		if i+1 >= len(data) {
			return &DecodeError{Offset: i, Msg: fmt.Sprintf("TLV %d has no length byte", code)}
		}
		if code == 64 && d.mta {
			if i+2 >= len(data) {
				return &DecodeError{Offset: i, Msg: "TLV 64 has no two-byte length"}
			}
			n := int(data[i+1])<<8 | int(data[i+2])
			if i+3+n > len(data) {
				return &DecodeError{Offset: i, Msg: fmt.Sprintf("TLV 64 length %d runs past the end (%d bytes left)", n, len(data)-i-3)}
			}
			d.longVarbind(data[i : i+3+n])
			i += 3 + n
			continue
		}
		n := int(data[i+1])
		if i+2+n > len(data) {
			return &DecodeError{Offset: i, Msg: fmt.Sprintf("TLV %d length %d runs past the end (%d bytes left)", code, n, len(data)-i-2)}
		}
		v := data[i+2 : i+2+n]
		switch {
		case (code == 6 || code == 7) && !d.mta && n == 16:
			name := "CmMic"
			if code == 7 {
				name = "CmtsMic"
			}
			d.out = append(d.out, "\t/* "...)
			d.out = append(d.out, name...)
			d.out = append(d.out, ' ')
			d.out = hex.AppendEncode(d.out, v)
			d.out = append(d.out, "; */\n"...)
		default:
			d.tlv(0, code, v, 1)
		}
		i += 2 + n
	}
	return nil
}

// longVarbind prints an MTA file's TLV 64 (a varbind over 255 bytes).
func (d *decoder) longVarbind(whole []byte) {
	node := &tlvTree[childByName(0, "snmpmibobject")]
	mark := len(d.out)
	if d.varbind(node, whole[3:], 1) {
		return
	}
	d.out = d.out[:mark]
	d.indent(1)
	d.out = fmt.Appendf(d.out, "/* TLV 64 that is not a varbind: 0x%x */\n", whole)
}

// tlv prints one TLV found under the tree node parent (-1: no named
// children, as after a vendor's VendorIdentifier).
func (d *decoder) tlv(parent int, code uint8, v []byte, depth int) {
	idx := -1
	if parent >= 0 {
		idx = childByCode(parent, code)
	}
	if idx >= 0 && !nameIsUnique(parent, idx) {
		idx = -1 // a second row with the same name (TLV 94): the name encodes as the first
	}
	if idx >= 0 {
		mark := len(d.out)
		node := &tlvTree[idx]
		switch node.typ {
		case tAgg:
			if d.aggregate(idx, v, depth) {
				return
			}
		case tVarbind:
			if d.varbind(node, v, depth) {
				return
			}
		default:
			if d.scalar(node, v, depth) {
				return
			}
		}
		d.out = d.out[:mark]
	}
	d.generic(code, v, depth)
}

func (d *decoder) aggregate(idx int, v []byte, depth int) bool {
	if len(v) == 0 || !wellFormed(v) {
		return false
	}
	node := &tlvTree[idx]
	d.indent(depth)
	d.out = append(d.out, node.name...)
	d.out = append(d.out, '\n')
	d.indent(depth)
	d.out = append(d.out, "{\n"...)
	parent := idx
	for i := 0; i < len(v); {
		code, n := v[i], int(v[i+1])
		sub := v[i+2 : i+2+n]
		d.tlv(parent, code, sub, depth+1)
		if node.code == 43 && node.typ == tAgg && code == 8 && !bytes.Equal(sub, []byte{0xff, 0xff, 0xff}) {
			parent = -1 // vendor sub-types from here on
		}
		i += 2 + n
	}
	d.indent(depth)
	d.out = append(d.out, "}\n"...)
	return true
}

// wellFormed reports whether v is a sequence of whole sub-TLVs.
func wellFormed(v []byte) bool {
	i := 0
	for i < len(v) {
		if i+1 >= len(v) {
			return false
		}
		i += 2 + int(v[i+1])
	}
	return i == len(v)
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}

func appendQuoted(dst, s []byte) []byte {
	dst = append(dst, '"')
	for _, c := range s {
		if c == '"' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

func (d *decoder) generic(code uint8, v []byte, depth int) {
	d.indent(depth)
	switch {
	case len(v) > 1 && printable(v):
		d.out = fmt.Appendf(d.out, "GenericTLV TlvCode %d TlvString ", code)
		d.out = appendQuoted(d.out, v)
		d.out = fmt.Appendf(d.out, "; /* tlv length = %d */\n", len(v))
	case len(v) > 1 && v[len(v)-1] == 0 && printable(v[:len(v)-1]):
		d.out = fmt.Appendf(d.out, "GenericTLV TlvCode %d TlvStringZero ", code)
		d.out = appendQuoted(d.out, v[:len(v)-1])
		d.out = fmt.Appendf(d.out, "; /* tlv length = %d */\n", len(v))
	default:
		d.out = fmt.Appendf(d.out, "GenericTLV TlvCode %d TlvLength %d TlvValue 0x%x;\n", code, len(v), v)
	}
}

// scalar prints a setting's value and checks that it encodes back to v.
func (d *decoder) scalar(node *tlvNode, v []byte, depth int) bool {
	d.indent(depth)
	d.out = append(d.out, node.name...)
	start := len(d.out)
	d.out = append(d.out, ' ')
	if !d.formatValue(node, v) {
		return false
	}
	if !d.reencodes(node, d.out[start:], v) {
		return false
	}
	d.out = append(d.out, ";\n"...)
	return true
}

func (d *decoder) formatValue(node *tlvNode, v []byte) bool {
	switch node.typ {
	case tU8, tU16, tU24, tU32:
		if len(v) != intWidth(node.typ) {
			return false
		}
		var x uint64
		for _, b := range v {
			x = x<<8 | uint64(b)
		}
		d.out = strconv.AppendUint(d.out, x, 10)
	case tHex:
		d.out = append(d.out, "0x"...)
		d.out = hex.AppendEncode(d.out, v)
	case tStr:
		if printable(v) { // quotes are escaped, backslashes are not printable
			d.out = appendQuoted(d.out, v)
		} else {
			d.out = append(d.out, "0x"...)
			d.out = hex.AppendEncode(d.out, v)
		}
	case tStrz:
		if len(v) > 0 && v[len(v)-1] == 0 && printable(v[:len(v)-1]) {
			d.out = appendQuoted(d.out, v[:len(v)-1])
		} else {
			if len(v) == 0 {
				return false
			}
			d.out = append(d.out, "0x"...)
			d.out = hex.AppendEncode(d.out, v)
		}
	case tIP4, tIP6, tIP46:
		a, ok := netip.AddrFromSlice(v)
		if !ok || (node.typ == tIP4 && len(v) != 4) || (node.typ == tIP6 && len(v) != 16) {
			return false
		}
		d.out = a.AppendTo(d.out)
	case tAFIP:
		if len(v) < 1 || !(v[0] == 1 && len(v) == 5 || v[0] == 2 && len(v) == 17) {
			return false
		}
		a, _ := netip.AddrFromSlice(v[1:])
		d.out = a.AppendTo(d.out)
	case tIPPort:
		if len(v) != 6 && len(v) != 18 {
			return false
		}
		a, _ := netip.AddrFromSlice(v[:len(v)-2])
		d.out = a.AppendTo(d.out)
		d.out = append(d.out, '/')
		d.out = strconv.AppendUint(d.out, uint64(v[len(v)-2])<<8|uint64(v[len(v)-1]), 10)
	case tMAC:
		if len(v) != 6 {
			return false
		}
		d.out = appendMACText(d.out, v)
	case tMACMask:
		if len(v) != 12 {
			return false
		}
		d.out = appendMACText(d.out, v[:6])
		d.out = append(d.out, '/')
		d.out = appendMACText(d.out, v[6:])
	case tU8List:
		if len(v) == 0 {
			return false
		}
		for i, b := range v {
			if i > 0 {
				d.out = append(d.out, ',')
			}
			d.out = strconv.AppendUint(d.out, uint64(b), 10)
		}
	case tU16List, tDualQTag:
		if len(v) == 0 || len(v)%2 != 0 {
			return false
		}
		for i := 0; i < len(v); i += 2 {
			if i > 0 {
				d.out = append(d.out, ',')
			}
			d.out = strconv.AppendUint(d.out, uint64(v[i])<<8|uint64(v[i+1]), 10)
		}
	case tIP4List, tIP6List, tIP6PfxList:
		size := 17
		switch node.typ {
		case tIP4List:
			size = 4
		case tIP6List:
			size = 16
		}
		if len(v) == 0 || len(v)%size != 0 {
			return false
		}
		for i := 0; i < len(v); i += size {
			if i > 0 {
				d.out = append(d.out, ',')
			}
			a, _ := netip.AddrFromSlice(v[i : i+min(size, 16)])
			d.out = a.AppendTo(d.out)
			if size == 17 {
				d.out = append(d.out, '/')
				d.out = strconv.AppendUint(d.out, uint64(v[i+16]), 10)
			}
		}
	case tZeroLen:
		if len(v) != 0 {
			return false
		}
		d.out = append(d.out, '0')
	case tOID, tOIDU8:
		body := v
		if node.typ == tOIDU8 {
			if len(v) < 1 {
				return false
			}
			body = v[:len(v)-1]
		}
		if len(body) < 2 || body[0] != berOID || int(body[1]) != len(body)-2 {
			return false
		}
		arcs, ok := parseOIDBody(body[2:], d.arcs[:0])
		d.arcs = arcs
		if !ok {
			return false
		}
		d.out = appendNumericOID(d.out, arcs)
		if node.typ == tOIDU8 {
			d.out = append(d.out, ' ')
			d.out = strconv.AppendUint(d.out, uint64(v[len(v)-1]), 10)
		}
	default:
		return false
	}
	return true
}

func appendMACText(dst, m []byte) []byte {
	for i, b := range m {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = hex.AppendEncode(dst, []byte{b})
	}
	return dst
}

// reencodes checks that the value text encodes to exactly v.
func (d *decoder) reencodes(node *tlvNode, text, v []byte) bool {
	e := &d.scratch
	e.lex = newLexer(string(text))
	e.buf = e.buf[:0]
	if e.opts == nil {
		e.opts = &Options{}
	}
	t, err := e.lex.next()
	if err != nil {
		return false
	}
	e.lex.unread(t)
	if err := e.value(node, t); err != nil {
		return false
	}
	if t, err := e.lex.next(); err != nil || t.kind != tokEOF {
		return false
	}
	return bytes.Equal(e.buf, v)
}

func appendNumericOID(dst []byte, arcs []uint32) []byte {
	for _, a := range arcs {
		dst = append(dst, '.')
		dst = strconv.AppendUint(dst, uint64(a), 10)
	}
	return dst
}

// parseOIDBody decodes BER sub-identifiers.
func parseOIDBody(b []byte, arcs []uint32) ([]uint32, bool) {
	if len(b) == 0 {
		return arcs, false
	}
	first := true
	var v uint64
	start := true
	for i, c := range b {
		if start && c == 0x80 {
			return arcs, false // non-minimal
		}
		start = false
		v = v<<7 | uint64(c&0x7f)
		if v > 0xffffffff+80 {
			return arcs, false
		}
		if c&0x80 != 0 {
			if i == len(b)-1 {
				return arcs, false
			}
			continue
		}
		if first {
			switch {
			case v < 40:
				arcs = append(arcs, 0, uint32(v))
			case v < 80:
				arcs = append(arcs, 1, uint32(v-40))
			default:
				if v-80 > 0xffffffff {
					return arcs, false
				}
				arcs = append(arcs, 2, uint32(v-80))
			}
			first = false
		} else {
			if v > 0xffffffff {
				return arcs, false
			}
			arcs = append(arcs, uint32(v))
		}
		v = 0
		start = true
	}
	return arcs, len(arcs) <= 128
}

// berLen reads a BER length at b[0:], returning length and header size.
func berLen(b []byte) (n, size int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	switch c := b[0]; {
	case c < 0x80:
		return int(c), 1, true
	case c == 0x81 && len(b) >= 2:
		return int(b[1]), 2, true
	case c == 0x82 && len(b) >= 3:
		return int(b[1])<<8 | int(b[2]), 3, true
	}
	return 0, 0, false
}

// varbind prints TLV 11 / 202.11 / MTA TLV 64 content as SnmpMibObject and
// checks that it encodes back to the same bytes.
func (d *decoder) varbind(node *tlvNode, v []byte, depth int) bool {
	if len(v) < 2 || v[0] != berSequence {
		return false
	}
	n, hs, ok := berLen(v[1:])
	if !ok || 1+hs+n != len(v) {
		return false
	}
	body := v[1+hs:]
	if len(body) < 2 || body[0] != berOID {
		return false
	}
	on, ohs, ok := berLen(body[1:])
	if !ok || 1+ohs+on > len(body) {
		return false
	}
	arcs, ok := parseOIDBody(body[1+ohs:1+ohs+on], d.arcs[:0])
	d.arcs = arcs
	if !ok || len(arcs) < 2 {
		return false
	}
	rest := body[1+ohs+on:]
	if len(rest) < 2 {
		return false
	}
	tag := rest[0]
	vn, vhs, ok := berLen(rest[1:])
	if !ok || 1+vhs+vn != len(rest) {
		return false
	}
	val := rest[1+vhs:]
	sv := snmpValue{tag: tag}
	var typeName string
	switch tag {
	case berInteger:
		if vn < 1 || vn > 4 {
			return false
		}
		x := int64(int8(val[0]))
		for _, b := range val[1:] {
			x = x<<8 | int64(b)
		}
		sv.num, typeName = x, "Integer"
	case berGauge32, berCounter32, berTimeTicks:
		if vn < 1 || vn > 5 || val[0]&0x80 != 0 {
			return false
		}
		var x int64
		for _, b := range val {
			x = x<<8 | int64(b)
		}
		if x > 0xffffffff {
			return false
		}
		sv.num = x
		switch tag {
		case berGauge32:
			typeName = "Gauge32"
		case berCounter32:
			typeName = "Counter32"
		default:
			typeName = "TimeTicks"
		}
	case berIPAddress:
		if vn != 4 {
			return false
		}
		sv.data, typeName = val, "IPAddress"
	case berOctetStr:
		sv.data, sv.str = val, true
		typeName = "HexString"
		if printable(val) {
			typeName = "String"
		}
	case berOID:
		if _, ok := parseOIDBody(val, nil); !ok {
			return false
		}
		sv.data, typeName = val, "ObjectID"
	default:
		return false
	}
	if sv.str {
		if _, _, ok := mibSizeCheck(arcs, len(val)); !ok {
			return false // the encoder would refuse it
		}
	}
	// the varbind must encode back to the same bytes
	check := appendVarbind(d.scratch.tmp[:0], arcs, sv)
	d.scratch.tmp = check
	if !bytes.Equal(check, v) {
		return false
	}
	d.indent(depth)
	d.out = append(d.out, node.name...)
	d.out = append(d.out, ' ')
	obj := d.appendOIDText(arcs)
	d.out = append(d.out, ' ')
	d.out = append(d.out, typeName...)
	d.out = append(d.out, ' ')
	switch typeName {
	case "Integer":
		d.out = strconv.AppendInt(d.out, sv.num, 10)
	case "Gauge32", "Counter32", "TimeTicks":
		d.out = strconv.AppendInt(d.out, sv.num, 10)
	case "IPAddress":
		a, _ := netip.AddrFromSlice(val)
		d.out = a.AppendTo(d.out)
	case "String":
		d.out = appendQuoted(d.out, val)
	case "HexString":
		d.out = append(d.out, "0x"...)
		d.out = hex.AppendEncode(d.out, val)
		if len(val) == 0 {
			return false
		}
	case "ObjectID":
		varcs, _ := parseOIDBody(val, nil)
		d.out = appendNumericOID(d.out, varcs)
	}
	d.out = append(d.out, ';')
	if tag == berInteger && obj >= 0 {
		if label := enumLabel(obj, sv.num); label != "" {
			d.out = append(d.out, " /* "...)
			d.out = append(d.out, label...)
			d.out = append(d.out, " */"...)
		}
	}
	d.out = append(d.out, '\n')
	return true
}

// appendOIDText writes arcs in net-snmp's suffix form (label.index) and
// returns the MIB object node, or -1 when printed numerically.
func (d *decoder) appendOIDText(arcs []uint32) int {
	if d.opts.NumericOIDs {
		d.out = appendNumericOID(d.out, arcs)
		return -1
	}
	// deepest named node on the path whose name resolves back to it
	best, bestDepth := -1, 0
	cur := mibRoot
	for i, a := range arcs {
		cur = mibChildByArc(cur, a)
		if cur < 0 {
			break
		}
		if name := mibName(cur); name != "" && mibLookup(name) == cur {
			best, bestDepth = cur, i+1
		}
	}
	if best < 0 {
		d.out = appendNumericOID(d.out, arcs)
		return -1
	}
	mark := len(d.out)
	d.out = append(d.out, mibName(best)...)
	if !appendIndex(&d.out, mibExtraOf(best), arcs[bestDepth:]) {
		for _, a := range arcs[bestDepth:] {
			d.out = append(d.out, '.')
			d.out = strconv.AppendUint(d.out, uint64(a), 10)
		}
	}
	// the text must resolve to the same OID
	back, err := resolveOID(string(d.out[mark:]), d.back[:0])
	d.back = back
	if err != nil || !equalArcs(back, arcs) {
		d.out = appendNumericOID(d.out[:mark], arcs)
		return -1
	}
	return best
}

func equalArcs(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// appendIndex prints a table index with string parts quoted, following the
// layout in the node's extra data ("i=n,s,S"). It reports false (writing
// nothing) when the index does not fit the layout.
func appendIndex(out *[]byte, extra string, idx []uint32) bool {
	var spec string
	for f := range strings.SplitSeq(extra, ";") {
		if s, ok := strings.CutPrefix(f, "i="); ok {
			spec = s
		}
	}
	if spec == "" || len(idx) == 0 {
		return false
	}
	mark := len(*out)
	fail := func() bool { *out = (*out)[:mark]; return false }
	for k := range strings.SplitSeq(spec, ",") {
		switch {
		case k == "n":
			if len(idx) < 1 {
				return fail()
			}
			*out = append(*out, '.')
			*out = strconv.AppendUint(*out, uint64(idx[0]), 10)
			idx = idx[1:]
		case k == "a" || strings.HasPrefix(k, "x"):
			n := 4
			if k != "a" {
				n, _ = strconv.Atoi(k[1:])
			}
			if n <= 0 || len(idx) < n {
				return fail()
			}
			for _, a := range idx[:n] {
				*out = append(*out, '.')
				*out = strconv.AppendUint(*out, uint64(a), 10)
			}
			idx = idx[n:]
		case k == "s" || k == "S":
			var chars []uint32
			q := byte('\'')
			if k == "s" {
				if len(idx) < 1 || int(idx[0]) > len(idx)-1 {
					return fail()
				}
				chars, idx = idx[1:1+idx[0]], idx[1+idx[0]:]
				q = '"'
			} else {
				chars, idx = idx, nil
			}
			if len(chars) == 0 {
				return fail()
			}
			*out = append(*out, '.', q)
			for _, c := range chars {
				if c < 0x20 || c > 0x7e || c == '"' || c == '\'' {
					return fail()
				}
				*out = append(*out, byte(c))
			}
			*out = append(*out, q)
		default:
			return fail()
		}
	}
	if len(idx) != 0 {
		return fail()
	}
	return true
}

// enumLabel returns the MIB enumeration label of value v for object n.
func enumLabel(n int, v int64) string {
	extra := mibExtraOf(n)
	for f := range strings.SplitSeq(extra, ";") {
		list, ok := strings.CutPrefix(f, "e=")
		if !ok {
			continue
		}
		for e := range strings.SplitSeq(list, ",") {
			num, label, _ := strings.Cut(e, " ")
			if x, err := strconv.ParseInt(num, 10, 64); err == nil && x == v {
				return label
			}
		}
	}
	return ""
}

// MICCheck is the result of VerifyMICs.
type MICCheck struct {
	CMMIC, CMTSMIC           bool // present in the file
	CMMICOK, CMTSMICOK       bool
	CMMICFile, CMMICWant     [16]byte
	CMTSMICFile, CMTSMICWant [16]byte
}

// String reports the check as "CM MIC ok" / "CMTS MIC mismatch" lines.
func (c MICCheck) String() string {
	var b strings.Builder
	line := func(name string, present, ok bool, file, want [16]byte) {
		switch {
		case !present:
			fmt.Fprintf(&b, "%s missing\n", name)
		case ok:
			fmt.Fprintf(&b, "%s ok\n", name)
		default:
			fmt.Fprintf(&b, "%s mismatch: file has %x, computed %x\n", name, file, want)
		}
	}
	line("CM MIC", c.CMMIC, c.CMMICOK, c.CMMICFile, c.CMMICWant)
	line("CMTS MIC", c.CMTSMIC, c.CMTSMICOK, c.CMTSMICFile, c.CMTSMICWant)
	return b.String()
}

// OK reports whether both MICs are present and correct.
func (c MICCheck) OK() bool { return c.CMMIC && c.CMTSMIC && c.CMMICOK && c.CMTSMICOK }

// VerifyMICs recomputes the CM MIC and the CMTS MIC of a CM file with key.
func VerifyMICs(data, key []byte) (MICCheck, error) {
	var c MICCheck
	end := len(data)
	if i := topEnd(data); i >= 0 {
		end = i
	}
	body := data[:end]
	err := walkTop(body, false, func(code byte, whole []byte) {})
	if err != nil {
		return c, err
	}
	off := 0
	walkTop(body, false, func(code byte, whole []byte) {
		switch {
		case code == 6 && len(whole) == 18 && !c.CMMIC:
			c.CMMIC = true
			copy(c.CMMICFile[:], whole[2:])
			c.CMMICWant = md5.Sum(body[:off])
			c.CMMICOK = hmac.Equal(c.CMMICFile[:], c.CMMICWant[:])
		case code == 7 && len(whole) == 18 && !c.CMTSMIC:
			c.CMTSMIC = true
			copy(c.CMTSMICFile[:], whole[2:])
			c.CMTSMICWant, _ = CMTSMIC(body[:off], key)
			c.CMTSMICOK = hmac.Equal(c.CMTSMICFile[:], c.CMTSMICWant[:])
		}
		off += len(whole)
	})
	return c, nil
}

// topEnd returns the offset of the end marker of a CM file, or -1.
func topEnd(data []byte) int {
	for i := 0; i < len(data); {
		if data[i] == 255 {
			return i
		}
		if i+1 >= len(data) {
			return -1
		}
		i += 2 + int(data[i+1])
	}
	return -1
}

func intWidth(t valueType) int {
	switch t {
	case tU8:
		return 1
	case tU16:
		return 2
	case tU24:
		return 3
	}
	return 4
}

// nameIsUnique reports whether the name of tree node idx finds idx itself
// under parent, so that printing the name encodes back to the same code.
func nameIsUnique(parent, idx int) bool {
	var buf [64]byte
	return childByName(parent, lowerASCII(tlvTree[idx].name, buf[:0])) == idx
}
