package docsiscfg

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Mode selects how a config text is assembled into a file.
type Mode uint8

const (
	// ModeCM builds a cable modem file: TLVs, CM MIC, CMTS MIC, end marker
	// and padding (the reference's -e). Like the reference, a text whose
	// first setting is MtaConfigDelimiter is built as an MTA file.
	ModeCM Mode = iota
	// ModeMTA builds a PacketCable MTA file: TLVs only (the reference's -p).
	ModeMTA
)

// MTAHash selects the config hash appended to an MTA file.
type MTAHash uint8

const (
	HashNone MTAHash = iota
	HashNA           // PacketCable: pktcMtaDevProvConfigHash.0 (-na)
	HashEU           // Excentis/EuroPacketCable: 1.3.6.1.4.1.7432.1.1.2.9.0 (-eu)
)

// Options controls Encode.
type Options struct {
	Mode Mode
	// Key is the CMTS MIC shared secret (see KeyFromFile).
	Key []byte
	// Hash appends the MTA config hash; only for MTA files.
	Hash MTAHash
	// ExtendedMIC, when set, computes the DOCSIS 3.0 Extended CMTS MIC
	// (TLV 43.6) and appends it before the CM MIC.
	ExtendedMIC *ExtendedMIC
	// TFTPTimestamp, when not zero, adds TLV 19 (TFTP server timestamp:
	// seconds since 1970 as 4 bytes) to a CM file, and TFTPModemAddress,
	// when valid, adds TLV 20 (an IPv4 address: the provisioned modem
	// address) or TLV 59 (an IPv6 address), so that a CMTS enforcing TFTP
	// can check when and to whom the file was served. They go after the
	// text's TLVs and before the Extended CMTS MIC and the CM MIC, so the
	// CM MIC covers them and the CMTS MIC covers TLV 19 and 20 (both are
	// in its type list; 59 is not, so only an ExtendedMIC naming it covers
	// it). A text that sets the same TLV itself is an error, as is either
	// option in an MTA file. Times before 1970 or after 2106 are an error.
	TFTPTimestamp    time.Time
	TFTPModemAddress netip.Addr
	// ReadFile reads the files named by ManufacturerCVC "f", DigitMap "f"
	// and the other file keywords. Nil makes them an error.
	ReadFile func(name string) ([]byte, error)
}

// ErrTooLong reports a TLV whose value does not fit its one-byte length.
var ErrTooLong = errors.New("value longer than 255 bytes")

// Encode compiles a config text into a DOCSIS or PacketCable binary.
func Encode(src []byte, opts Options) ([]byte, error) {
	e := encoder{lex: newLexer(string(src)), opts: &opts, mta: opts.Mode == ModeMTA}
	e.buf = make([]byte, 0, len(src)/3+64)
	return e.encode()
}

type encoder struct {
	lex  lexer
	opts *Options
	mta  bool
	buf  []byte
	arcs []uint32
	tmp  []byte
}

func (e *encoder) encode() ([]byte, error) {
	t, err := e.lex.next()
	if err != nil {
		return nil, err
	}
	if t.kind != tokWord || !strings.EqualFold(t.text, "Main") {
		return nil, e.unexpected(t, "Main")
	}
	if err := e.expect(tokLBrace); err != nil {
		return nil, err
	}
	if err := e.block(0, true, false); err != nil {
		return nil, err
	}
	t, err = e.lex.next()
	if err != nil {
		return nil, err
	}
	if t.kind != tokEOF {
		return nil, e.unexpected(t, "end of input after the closing } of Main")
	}
	if e.mta {
		if e.opts.ExtendedMIC != nil {
			return nil, errors.New("extended CMTS MIC: not applicable to an MTA file")
		}
		return e.finishMTA()
	}
	if e.opts.Hash != HashNone {
		return nil, errors.New("MTA config hash: the file is not an MTA file (use MTA mode or start it with MtaConfigDelimiter 1)")
	}
	return e.finishCM()
}

func (e *encoder) unexpected(t token, want string) error {
	switch t.kind {
	case tokEOF:
		return e.lex.errAt(t.line, t.col, "", "unexpected end of input, expected %s", want)
	case tokString:
		return e.lex.errAt(t.line, t.col, `"`+t.text+`"`, "unexpected string, expected %s", want)
	}
	return e.lex.errAt(t.line, t.col, t.text, "unexpected %s, expected %s", describe(t), want)
}

func describe(t token) string {
	if t.kind == tokWord {
		return "token"
	}
	return t.kind.String()
}

func (e *encoder) expect(k tokKind) error {
	t, err := e.lex.next()
	if err != nil {
		return err
	}
	if t.kind != k {
		return e.unexpected(t, k.String())
	}
	return nil
}

// block parses statements up to the closing brace of an aggregate whose tree
// node is parent. genericOnly is set inside a GenericTLV aggregate.
func (e *encoder) block(parent int, root, genericOnly bool) error {
	n := 0
	for {
		t, err := e.lex.next()
		if err != nil {
			return err
		}
		switch t.kind {
		case tokRBrace:
			if n == 0 && !root {
				return e.lex.errAt(t.line, t.col, "}", "empty block, expected at least one setting")
			}
			return nil
		case tokEOF:
			return e.unexpected(t, "a setting or '}'")
		case tokWord:
		default:
			return e.unexpected(t, "a setting name")
		}
		if strings.EqualFold(t.text, "GenericTLV") {
			if err := e.generic(root); err != nil {
				return err
			}
			e.checkMTAStart(root, n)
			n++
			continue
		}
		if genericOnly {
			return e.lex.errAt(t.line, t.col, t.text, "only GenericTLV is allowed inside a GenericTLV block")
		}
		var lowerBuf [64]byte
		lower := lowerASCII(t.text, lowerBuf[:0])
		idx := childByName(parent, lower)
		if idx < 0 {
			pname := tlvTree[parent].name
			if where, ok := findAnywhere(t.text); ok {
				return e.lex.errAt(t.line, t.col, t.text, "setting %s is not allowed in %s (it belongs in %s)", t.text, pname, where)
			}
			return e.lex.errAt(t.line, t.col, t.text, "unknown setting in %s", pname)
		}
		if err := e.setting(idx, t, root); err != nil {
			return err
		}
		e.checkMTAStart(root, n)
		n++
	}
}

// checkMTAStart switches a CM-mode encode to MTA when the first top-level
// TLV is 254 (MtaConfigDelimiter), as the reference does.
func (e *encoder) checkMTAStart(root bool, n int) {
	if root && n == 0 && e.opts.Mode == ModeCM && len(e.buf) > 0 && e.buf[0] == 254 {
		e.mta = true
	}
}

func lowerASCII(s string, dst []byte) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return string(dst)
}

// open starts a TLV and returns the offset of its length byte.
func (e *encoder) open(code uint8) int {
	e.buf = append(e.buf, code, 0)
	return len(e.buf) - 1
}

// close patches the length of the TLV opened at lenAt.
func (e *encoder) close(lenAt int, name string, t token) error {
	n := len(e.buf) - lenAt - 1
	if n > 255 {
		err := e.lex.errAt(t.line, t.col, t.text, "%s is %d bytes long, over the 255-byte TLV limit", name, n)
		err.Err = ErrTooLong
		return err
	}
	e.buf[lenAt] = byte(n)
	return nil
}

func (e *encoder) setting(idx int, name token, root bool) error {
	node := &tlvTree[idx]
	switch node.typ {
	case tAgg:
		if err := e.expect(tokLBrace); err != nil {
			return err
		}
		at := e.open(node.code)
		if err := e.block(idx, false, false); err != nil {
			return err
		}
		return e.close(at, node.name, name)
	case tPad, tComputed, tEOD:
		return e.lex.errAt(name.line, name.col, name.text, "%s is added by the compiler and cannot be set", node.name)
	case tExtFile:
		return e.extFile(node, name)
	case tDigitMap:
		return e.digitMap(node, name, root)
	case tVarbind:
		return e.varbindSetting(node, name, root)
	}
	at := e.open(node.code)
	if err := e.value(node, name); err != nil {
		return err
	}
	if err := e.close(at, node.name, name); err != nil {
		return err
	}
	return e.expect(tokSemi)
}

func (e *encoder) valueToken() (token, error) {
	t, err := e.lex.next()
	if err != nil {
		return t, err
	}
	if t.kind != tokWord && t.kind != tokString {
		return t, e.unexpected(t, "a value")
	}
	return t, nil
}

func (e *encoder) badValue(t token, node *tlvNode, format string, args ...any) error {
	text := t.text
	if t.kind == tokString {
		text = `"` + text + `"`
	}
	return e.lex.errAt(t.line, t.col, text, "%s: %s", node.name, fmt.Sprintf(format, args...))
}

// value parses and appends the value of a scalar setting.
func (e *encoder) value(node *tlvNode, name token) error {
	t, err := e.valueToken()
	if err != nil {
		return err
	}
	switch node.typ {
	case tU8, tU16, tU24, tU32:
		lo, hi := node.bounds()
		v, err := parseUint(t, lo, hi)
		if err != nil {
			return e.badValue(t, node, "%v", err)
		}
		switch node.typ {
		case tU8:
			e.buf = append(e.buf, byte(v))
		case tU16:
			e.buf = append(e.buf, byte(v>>8), byte(v))
		case tU24:
			e.buf = append(e.buf, byte(v>>16), byte(v>>8), byte(v))
		default:
			e.buf = append(e.buf, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		}
	case tHex:
		start := len(e.buf)
		if e.buf, err = appendHex(e.buf, t); err != nil {
			return e.badValue(t, node, "%v", err)
		}
		if err := checkCount(node, len(e.buf)-start, "bytes"); err != nil {
			return e.badValue(t, node, "%v", err)
		}
	case tStr, tStrz:
		start := len(e.buf)
		switch {
		case t.kind == tokString:
			e.buf = unescape(t, e.buf)
			if err := checkCount(node, len(e.buf)-start, "characters"); err != nil {
				return e.badValue(t, node, "%v", err)
			}
			if node.typ == tStrz {
				e.buf = append(e.buf, 0)
			}
		case isHexLiteral(t.text):
			// raw bytes, as the decoder writes strings it cannot quote
			if e.buf, err = appendHex(e.buf, t); err != nil {
				return e.badValue(t, node, "%v", err)
			}
		default:
			return e.badValue(t, node, "expected a quoted string")
		}
	case tIP4, tIP6, tIP46, tAFIP:
		a, err := netip.ParseAddr(t.text)
		if err != nil || a.Zone() != "" {
			return e.badValue(t, node, "expected %s", addrWant(node.typ))
		}
		if (node.typ == tIP4 && !a.Is4()) || (node.typ == tIP6 && a.Is4()) {
			return e.badValue(t, node, "expected %s", addrWant(node.typ))
		}
		if node.typ == tAFIP {
			if a.Is4() {
				e.buf = append(e.buf, 1)
			} else {
				e.buf = append(e.buf, 2)
			}
		}
		e.buf = appendAddr(e.buf, a)
	case tIPPort:
		i := strings.LastIndexByte(t.text, '/')
		var a netip.Addr
		var perr error
		if i > 0 {
			a, perr = netip.ParseAddr(t.text[:i])
		}
		if i <= 0 || perr != nil || a.Zone() != "" {
			return e.badValue(t, node, "expected address/port, e.g. 10.0.0.1/161 or 2001:db8::1/161")
		}
		p, err := strconv.ParseUint(t.text[i+1:], 10, 16)
		if err != nil {
			return e.badValue(t, node, "port must be 0..65535")
		}
		e.buf = appendAddr(e.buf, a)
		e.buf = append(e.buf, byte(p>>8), byte(p))
	case tMAC:
		if e.buf, err = appendMAC(e.buf, t.text); err != nil {
			return e.badValue(t, node, "%v", err)
		}
	case tMACMask:
		mac, mask, ok := strings.Cut(t.text, "/")
		if !ok {
			return e.badValue(t, node, "expected MAC/mask, e.g. 01:00:5e:00:00:00/ff:ff:ff:00:00:00")
		}
		if e.buf, err = appendMAC(e.buf, mac); err != nil {
			return e.badValue(t, node, "%v", err)
		}
		if e.buf, err = appendMAC(e.buf, mask); err != nil {
			return e.badValue(t, node, "mask: %v", err)
		}
	case tU8List, tU16List, tDualQTag:
		width, max := 1, uint64(0xff)
		if node.typ != tU8List {
			width, max = 2, 0xffff
		}
		count := 0
		for s := range strings.SplitSeq(t.text, ",") {
			v, err := parseUint(token{kind: tokWord, text: s}, 0, max)
			if err != nil {
				return e.badValue(t, node, "list entry %q: %v", s, err)
			}
			if width == 1 {
				e.buf = append(e.buf, byte(v))
			} else {
				e.buf = append(e.buf, byte(v>>8), byte(v))
			}
			count++
		}
		if node.typ == tDualQTag && count != 2 {
			return e.badValue(t, node, "expected two numbers a,b")
		}
		if err := checkCount(node, count, "entries"); err != nil {
			return e.badValue(t, node, "%v", err)
		}
	case tIP4List, tIP6List, tIP6PfxList:
		for s := range strings.SplitSeq(t.text, ",") {
			pfx := ""
			if node.typ == tIP6PfxList {
				var ok bool
				if s, pfx, ok = strings.Cut(s, "/"); !ok {
					return e.badValue(t, node, "entry %q: expected IPv6 prefix addr/len", s)
				}
			}
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" || (node.typ == tIP4List) != a.Is4() {
				return e.badValue(t, node, "entry %q: expected %s", s, addrWant(node.typ))
			}
			e.buf = appendAddr(e.buf, a)
			if node.typ == tIP6PfxList {
				l, err := strconv.ParseUint(pfx, 10, 8)
				if err != nil || l > 128 {
					return e.badValue(t, node, "entry %q: prefix length must be 0..128", s+"/"+pfx)
				}
				e.buf = append(e.buf, byte(l))
			}
		}
	case tZeroLen:
		// the value is ignored
	case tOID:
		if err := e.appendOIDValue(t, node); err != nil {
			return err
		}
	case tOIDU8:
		if err := e.appendOIDValue(t, node); err != nil {
			return err
		}
		t2, err := e.valueToken()
		if err != nil {
			return err
		}
		v, err := parseUint(t2, 0, 1)
		if err != nil {
			return e.badValue(t2, node, "%v", err)
		}
		e.buf = append(e.buf, byte(v))
	default:
		return e.badValue(t, node, "unsupported value type")
	}
	return nil
}

func addrWant(t valueType) string {
	switch t {
	case tIP4, tIP4List:
		return "an IPv4 address"
	case tIP6, tIP6List, tIP6PfxList:
		return "an IPv6 address"
	}
	return "an IPv4 or IPv6 address"
}

func (e *encoder) appendOIDValue(t token, node *tlvNode) error {
	arcs, err := e.resolveOID(t.text)
	if err != nil {
		return e.badValue(t, node, "%v", err)
	}
	e.buf = appendOID(e.buf, arcs)
	return nil
}

// checkCount applies a node's limits to a byte, character or entry count.
func checkCount(node *tlvNode, n int, what string) error {
	if node.min == 0 && node.max == 0 {
		return nil
	}
	if n < int(node.min) || n > int(node.max) {
		if node.min == node.max {
			return fmt.Errorf("%d %s, must be exactly %d", n, what, node.min)
		}
		return fmt.Errorf("%d %s, must be %d..%d", n, what, node.min, node.max)
	}
	return nil
}

func parseUint(t token, lo, hi uint64) (uint64, error) {
	if t.kind != tokWord || t.text == "" {
		return 0, fmt.Errorf("expected a number in %d..%d", lo, hi)
	}
	if isHexLiteral(t.text) {
		return 0, fmt.Errorf("expected a decimal number in %d..%d, not hex", lo, hi)
	}
	v, err := strconv.ParseUint(t.text, 10, 64)
	if err != nil {
		if _, ierr := strconv.ParseInt(t.text, 10, 64); ierr == nil || isNumeric(t.text) {
			return 0, fmt.Errorf("%s is out of range %d..%d", t.text, lo, hi)
		}
		return 0, fmt.Errorf("expected a number in %d..%d", lo, hi)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%d is out of range %d..%d", v, lo, hi)
	}
	return v, nil
}

func isNumeric(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHexLiteral(s string) bool {
	return len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
}

func appendHex(dst []byte, t token) ([]byte, error) {
	s := t.text
	if t.kind != tokWord || !isHexLiteral(s) {
		return dst, errors.New("expected a hex value like 0x0a0b (not quoted)")
	}
	s = s[2:]
	if len(s)%2 != 0 {
		return dst, errors.New("hex value needs an even number of hex digits")
	}
	for i := 0; i < len(s); i += 2 {
		h, ok1 := unhex(s[i])
		l, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return dst, fmt.Errorf("%q is not a hex digit", s[i:i+2])
		}
		dst = append(dst, h<<4|l)
	}
	return dst, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func appendMAC(dst []byte, s string) ([]byte, error) {
	if len(s) != 17 {
		return dst, errors.New("expected a MAC address like 00:11:22:aa:bb:cc")
	}
	for i := 0; i < 6; i++ {
		h, ok1 := unhex(s[i*3])
		l, ok2 := unhex(s[i*3+1])
		if !ok1 || !ok2 || (i < 5 && s[i*3+2] != ':') {
			return dst, errors.New("expected a MAC address like 00:11:22:aa:bb:cc")
		}
		dst = append(dst, h<<4|l)
	}
	return dst, nil
}

// generic parses the forms of GenericTLV after its keyword.
func (e *encoder) generic(root bool) error {
	kw, err := e.lex.next()
	if err != nil {
		return err
	}
	if kw.kind != tokWord || !strings.EqualFold(kw.text, "TlvCode") {
		return e.unexpected(kw, "TlvCode")
	}
	ct, err := e.valueToken()
	if err != nil {
		return err
	}
	lo := uint64(0)
	hi := uint64(255)
	if root && !e.mta && e.opts.Mode == ModeCM {
		lo, hi = 1, 254 // 0 and 255 are padding and the end marker
	}
	code, err := parseUint(ct, lo, hi)
	if err != nil {
		return e.lex.errAt(ct.line, ct.col, ct.text, "GenericTLV TlvCode: %v", err)
	}
	gnode := &tlvNode{name: "GenericTLV"}
	t, err := e.lex.next()
	if err != nil {
		return err
	}
	if t.kind == tokLBrace {
		at := e.open(byte(code))
		if err := e.block(0, false, true); err != nil {
			return err
		}
		return e.close(at, "GenericTLV", ct)
	}
	if t.kind != tokWord {
		return e.unexpected(t, "TlvLength, TlvString, TlvStringZero, TlvType or '{'")
	}
	at := e.open(byte(code))
	switch {
	case strings.EqualFold(t.text, "TlvLength"):
		lt, err := e.valueToken()
		if err != nil {
			return err
		}
		n, err := parseUint(lt, 0, 255)
		if err != nil {
			return e.lex.errAt(lt.line, lt.col, lt.text, "GenericTLV TlvLength: %v", err)
		}
		if err := e.keyword("TlvValue"); err != nil {
			return err
		}
		vt, err := e.valueToken()
		if err != nil {
			return err
		}
		start := len(e.buf)
		if e.buf, err = appendHex(e.buf, vt); err != nil {
			return e.badValue(vt, gnode, "%v", err)
		}
		if got := len(e.buf) - start; got != int(n) {
			return e.badValue(vt, gnode, "TlvLength %d but TlvValue has %d bytes", n, got)
		}
	case strings.EqualFold(t.text, "TlvString"), strings.EqualFold(t.text, "TlvStringZero"):
		st, err := e.valueToken()
		if err != nil {
			return err
		}
		if st.kind != tokString {
			return e.badValue(st, gnode, "expected a quoted string")
		}
		e.buf = unescape(st, e.buf)
		if strings.EqualFold(t.text, "TlvStringZero") {
			e.buf = append(e.buf, 0)
		}
	case strings.EqualFold(t.text, "TlvType"):
		tt, err := e.valueToken()
		if err != nil {
			return err
		}
		if err := e.keyword("TlvValue"); err != nil {
			return err
		}
		vt, err := e.valueToken()
		if err != nil {
			return err
		}
		var sub tlvNode
		switch strings.ToLower(tt.text) {
		case "integer":
			sub = tlvNode{name: "GenericTLV Integer", typ: tU32}
		case "short":
			sub = tlvNode{name: "GenericTLV Short", typ: tU16}
		case "char":
			sub = tlvNode{name: "GenericTLV Char", typ: tU8}
		case "ipaddress":
			sub = tlvNode{name: "GenericTLV IPAddress", typ: tIP4}
		default:
			return e.lex.errAt(tt.line, tt.col, tt.text, "unknown TlvType, expected Integer, Short, Char or IPAddress")
		}
		e.lex.unread(vt)
		if err := e.value(&sub, vt); err != nil {
			return err
		}
	default:
		return e.unexpected(t, "TlvLength, TlvString, TlvStringZero, TlvType or '{'")
	}
	if err := e.close(at, "GenericTLV", ct); err != nil {
		return err
	}
	return e.expect(tokSemi)
}

func (e *encoder) keyword(want string) error {
	t, err := e.lex.next()
	if err != nil {
		return err
	}
	if t.kind != tokWord || !strings.EqualFold(t.text, want) {
		return e.unexpected(t, want)
	}
	return nil
}

// extFile reads a file and splits it into TLVs of at most 254 bytes.
func (e *encoder) extFile(node *tlvNode, name token) error {
	data, t, err := e.readFile(node)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return e.badValue(t, node, "file %q is empty", t.text)
	}
	for len(data) > 0 {
		n := min(len(data), 254)
		e.buf = append(e.buf, node.code, byte(n))
		e.buf = append(e.buf, data[:n]...)
		data = data[n:]
	}
	return e.expect(tokSemi)
}

func (e *encoder) readFile(node *tlvNode) ([]byte, token, error) {
	t, err := e.valueToken()
	if err != nil {
		return nil, t, err
	}
	if t.kind != tokString {
		return nil, t, e.badValue(t, node, "expected a quoted file name")
	}
	if e.opts.ReadFile == nil {
		return nil, t, e.badValue(t, node, "reading files is not enabled here")
	}
	data, err := e.opts.ReadFile(t.text)
	if err != nil {
		return nil, t, e.badValue(t, node, "%v", err)
	}
	return data, t, nil
}

func appendAddr(dst []byte, a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return append(dst, b[:]...)
	}
	b := a.As16()
	return append(dst, b[:]...)
}

// appendTFTPStamp adds TLV 19 and TLV 20 (or 59) as Options asks.
func (e *encoder) appendTFTPStamp() error {
	ts, addr := e.opts.TFTPTimestamp, e.opts.TFTPModemAddress
	if ts.IsZero() && !addr.IsValid() {
		return nil
	}
	addrCode := byte(20)
	if addr.IsValid() {
		addr = addr.Unmap()
		if addr.Is6() {
			addrCode = 59
		}
	}
	var clash byte
	if err := walkTop(e.buf, false, func(code byte, _ []byte) {
		if (code == 19 && !ts.IsZero()) || (code == addrCode && addr.IsValid()) {
			clash = code
		}
	}); err != nil {
		return err
	}
	if clash != 0 {
		return fmt.Errorf("TLV %d is set in the text and by the TFTP server options; remove it from the text", clash)
	}
	if !ts.IsZero() {
		sec := ts.Unix()
		if sec < 0 || sec > 1<<32-1 {
			return fmt.Errorf("TFTP timestamp %s does not fit TLV 19 (seconds since 1970 in 32 bits)", ts.UTC().Format(time.RFC3339))
		}
		e.buf = append(e.buf, 19, 4, byte(sec>>24), byte(sec>>16), byte(sec>>8), byte(sec))
	}
	if addr.IsValid() {
		if addr.Is4() {
			e.buf = append(e.buf, 20, 4)
		} else {
			e.buf = append(e.buf, 59, 16)
		}
		e.buf = appendAddr(e.buf, addr)
	}
	return nil
}
