// Package dhcpdconf reads an ISC dhcpd.conf (DHCPv4) into ip6m's inventory:
// the importer for operators who move from ISC dhcpd to ip6m.
//
// Parsing and mapping are separate: Parse turns the text into a tree of
// statements (include files resolved, positions kept), and Import maps that
// tree to CMTSes, networks, plans, modems, MTAs, CPEs and settings, reporting
// by file and line what it could not map. The parser knows dhcpd's syntax,
// not its semantics: any statement parses, and only Import decides what it
// means.
package dhcpdconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Pos is where a statement or token starts.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return p.File + ":" + strconv.Itoa(p.Line) }

// TokenKind tells words, numbers, colon-hex strings, quoted strings and
// punctuation apart.
type TokenKind uint8

const (
	Word   TokenKind = iota // a name or keyword: subnet, agent.remote-id, 10.0.0.1
	Number                  // decimal digits, optionally signed: 7200, -3600
	Hex                     // colon-separated hex octets: 44:32:c8:21:9:e7, 1:0:1e:6b:e6:b4:a6
	String                  // a quoted string; Text is the decoded value
	Punct                   // { } ; , ( ) = != ! ~= ~~
)

// Token is one lexical token.
type Token struct {
	Kind TokenKind
	Text string
	Line int
}

func (t Token) is(kind TokenKind, text string) bool { return t.Kind == kind && t.Text == text }

// isWord reports whether t is the keyword w (dhcpd keywords are case
// insensitive).
func (t Token) isWord(w string) bool { return t.Kind == Word && strings.EqualFold(t.Text, w) }

// Stmt is one statement: its tokens up to ";" or "{", and the statements of
// its block when it has one ("subnet … { … }"). An option definition's
// record type ("= { boolean, ip-address }") stays among the Args.
type Stmt struct {
	Pos      Pos
	Args     []Token
	Block    []*Stmt
	HasBlock bool
}

// Error is a syntax error or an include that could not be read.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// ParseOptions tune Parse. The zero value reads includes from disk.
type ParseOptions struct {
	// ReadFile reads an included file; nil means os.ReadFile.
	ReadFile func(path string) ([]byte, error)
	// MaxIncludeDepth bounds nested includes; 0 means 8.
	MaxIncludeDepth int
	// MaxFiles bounds the files read in all (the file itself and every
	// include, counted each time it is included); 0 means 100,000. Files
	// that include several others each can otherwise fan out without end.
	MaxFiles int
	// MaxBytes bounds the bytes read in all; 0 means 256 MiB.
	MaxBytes int
}

// maxNesting bounds nested blocks, so hostile input cannot recurse deeply.
const maxNesting = 64

// ParseFile reads and parses the dhcpd.conf at path, with its includes.
func ParseFile(path string, opts ParseOptions) ([]*Stmt, error) {
	read := opts.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	src, err := read(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src, opts)
}

// Parse parses src, read from the file name (used in positions and to
// resolve relative includes). `include "file";` statements are replaced by
// the statements of that file, read relative to the including file's
// folder.
func Parse(name string, src []byte, opts ParseOptions) ([]*Stmt, error) {
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.MaxIncludeDepth == 0 {
		opts.MaxIncludeDepth = 8
	}
	if opts.MaxFiles == 0 {
		opts.MaxFiles = 100_000
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 256 << 20
	}
	p := &parser{opts: opts, files: 1, bytes: len(src)}
	return p.file(name, src, nil)
}

type parser struct {
	opts         ParseOptions
	files, bytes int // read so far
}

// file parses one file; stack holds the files including it (cycles).
func (p *parser) file(name string, src []byte, stack []string) ([]*Stmt, error) {
	toks, err := lex(name, src)
	if err != nil {
		return nil, err
	}
	fp := &fileParser{name: name, toks: toks}
	stmts, err := fp.block(0, Pos{name, 1})
	if err != nil {
		return nil, err
	}
	return p.includes(name, stmts, append(stack, cleanPath(name)))
}

// includes replaces include statements (at any depth) by what they include.
func (p *parser) includes(name string, stmts []*Stmt, stack []string) ([]*Stmt, error) {
	out := stmts[:0:0]
	for _, s := range stmts {
		if s.HasBlock {
			b, err := p.includes(name, s.Block, stack)
			if err != nil {
				return nil, err
			}
			s.Block = b
		}
		if len(s.Args) == 0 || !s.Args[0].isWord("include") {
			out = append(out, s)
			continue
		}
		if len(s.Args) != 2 || s.Args[1].Kind != String || s.HasBlock {
			return nil, &Error{s.Pos, `include needs one quoted file name: include "file";`}
		}
		if len(stack) > p.opts.MaxIncludeDepth {
			return nil, &Error{s.Pos, fmt.Sprintf("include %q: includes nest deeper than %d files", s.Args[1].Text, p.opts.MaxIncludeDepth)}
		}
		path := s.Args[1].Text
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(name), path)
		}
		clean := cleanPath(path)
		for _, f := range stack {
			if f == clean {
				return nil, &Error{s.Pos, fmt.Sprintf("include %q: %s includes itself (through %s)", s.Args[1].Text, path, strings.Join(stack, " → "))}
			}
		}
		if p.files >= p.opts.MaxFiles {
			return nil, &Error{s.Pos, fmt.Sprintf("include %q: more than %d files included in all (do included files include each other many times?)", s.Args[1].Text, p.opts.MaxFiles)}
		}
		src, err := p.opts.ReadFile(path)
		if err != nil {
			return nil, &Error{s.Pos, fmt.Sprintf("include %q: %v", s.Args[1].Text, err)}
		}
		p.files++
		p.bytes += len(src)
		if p.bytes > p.opts.MaxBytes {
			return nil, &Error{s.Pos, fmt.Sprintf("include %q: more than %d bytes read in all", s.Args[1].Text, p.opts.MaxBytes)}
		}
		inc, err := p.file(path, src, stack)
		if err != nil {
			return nil, err
		}
		out = append(out, inc...)
	}
	return out, nil
}

func cleanPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// lex splits src into tokens.
func lex(name string, src []byte) ([]Token, error) {
	toks := make([]Token, 0, len(src)/6)
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '"':
			s, n, lines, err := readString(src[i:])
			if err != nil {
				return nil, &Error{Pos{name, line}, err.Error()}
			}
			toks = append(toks, Token{String, s, line})
			line += lines
			i += n
		case c == '{' || c == '}' || c == ';' || c == ',' || c == '(' || c == ')' || c == '=':
			toks = append(toks, Token{Punct, punctText[c], line})
			i++
		case (c == '!' || c == '~') && i+1 < len(src) && (src[i+1] == '=' || c == '~' && src[i+1] == '~'):
			toks = append(toks, Token{Punct, string(src[i : i+2]), line})
			i += 2
		case c == '!':
			toks = append(toks, Token{Punct, "!", line})
			i++
		case c < 0x20 || c == 0x7f:
			return nil, &Error{Pos{name, line}, fmt.Sprintf("unexpected control character 0x%02x", c)}
		default:
			j := i
			for j < len(src) && isWordByte(src, j) {
				j++
			}
			w := string(src[i:j])
			toks = append(toks, Token{classify(w), w, line})
			i = j
		}
	}
	return toks, nil
}

var punctText = [256]string{'{': "{", '}': "}", ';': ";", ',': ",", '(': "(", ')': ")", '=': "="}

func isWordByte(src []byte, j int) bool {
	switch c := src[j]; c {
	case ' ', '\t', '\r', '\n', '\f', '\v', '#', '"', '{', '}', ';', ',', '(', ')', '=':
		return false
	case '!':
		return j+1 < len(src) && src[j+1] != '='
	default:
		return c >= 0x20 && c != 0x7f
	}
}

// classify tells numbers and colon-hex apart from other words.
func classify(w string) TokenKind {
	digits, colons, hex := 0, 0, true
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '-' && i == 0 && len(w) > 1:
		case c == ':':
			colons++
			if i == 0 || i == len(w)-1 || w[i-1] == ':' {
				hex = false
			}
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			digits = -len(w) // not a number
		default:
			return Word
		}
	}
	switch {
	case colons == 0 && digits == len(w) || colons == 0 && w[0] == '-' && digits == len(w)-1:
		return Number
	case colons > 0 && hex && w[0] != '-' && hexGroups(w):
		return Hex
	}
	return Word
}

// hexGroups reports whether every colon-separated group has 1 or 2 digits.
func hexGroups(w string) bool {
	n := 0
	for i := 0; i <= len(w); i++ {
		if i == len(w) || w[i] == ':' {
			if n < 1 || n > 2 {
				return false
			}
			n = 0
			continue
		}
		n++
	}
	return true
}

// readString decodes the quoted string at the start of b as dhcpd does:
// \t \r \n \b, octal \ooo, hex \xHH, and \c for any other c. It returns the
// value, the bytes consumed and the newlines inside.
func readString(b []byte) (string, int, int, error) {
	var out []byte
	lines := 0
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch c {
		case '"':
			return string(out), i + 1, lines, nil
		case '\n':
			lines++
			out = append(out, c)
		case '\\':
			i++
			if i >= len(b) {
				return "", 0, 0, fmt.Errorf("unterminated string %s", quoteStart(b))
			}
			switch e := b[i]; {
			case e == 't':
				out = append(out, '\t')
			case e == 'r':
				out = append(out, '\r')
			case e == 'n':
				out = append(out, '\n')
			case e == 'b':
				out = append(out, '\b')
			case e >= '0' && e <= '7':
				v, n := 0, 0
				for n < 3 && i < len(b) && b[i] >= '0' && b[i] <= '7' {
					v = v*8 + int(b[i]-'0')
					i++
					n++
				}
				i--
				if v > 255 {
					return "", 0, 0, fmt.Errorf("octal escape \\%o is more than one byte in %s", v, quoteStart(b))
				}
				out = append(out, byte(v))
			case e == 'x':
				v, n := 0, 0
				for n < 2 && i+1 < len(b) && isHexDigit(b[i+1]) {
					i++
					v = v*16 + hexVal(b[i])
					n++
				}
				if n == 0 {
					return "", 0, 0, fmt.Errorf(`\x without hex digits in %s`, quoteStart(b))
				}
				out = append(out, byte(v))
			default:
				if e == '\n' {
					lines++
				}
				out = append(out, e)
			}
		default:
			out = append(out, c)
		}
	}
	return "", 0, 0, fmt.Errorf("unterminated string %s", quoteStart(b))
}

// quoteStart quotes the first bytes of a bad string for an error message.
func quoteStart(b []byte) string {
	if len(b) > 24 {
		return strconv.Quote(string(b[:24])) + "…"
	}
	return strconv.Quote(string(b))
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}

// fileParser builds statements from one file's tokens.
type fileParser struct {
	name string
	toks []Token
	i    int
}

func (fp *fileParser) pos(line int) Pos { return Pos{fp.name, line} }

// block parses statements until the "}" that closes it (depth > 0) or the
// end of the file (depth 0).
func (fp *fileParser) block(depth int, open Pos) ([]*Stmt, error) {
	if depth > maxNesting {
		return nil, &Error{open, fmt.Sprintf("blocks nest deeper than %d levels", maxNesting)}
	}
	var out []*Stmt
	for {
		if fp.i >= len(fp.toks) {
			if depth > 0 {
				return nil, &Error{open, "block opened here is not closed (missing '}')"}
			}
			return out, nil
		}
		t := fp.toks[fp.i]
		switch {
		case t.is(Punct, "}"):
			if depth == 0 {
				return nil, &Error{fp.pos(t.Line), "unexpected '}' (no block is open)"}
			}
			fp.i++
			return out, nil
		case t.is(Punct, ";"):
			fp.i++ // an empty statement, or one after a block's "}"
			continue
		}
		s, err := fp.stmt(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
}

// stmt parses one statement: tokens up to ";" or a block.
func (fp *fileParser) stmt(depth int) (*Stmt, error) {
	start := fp.toks[fp.i]
	s := &Stmt{Pos: fp.pos(start.Line)}
	first := fp.i
	for fp.i < len(fp.toks) {
		t := fp.toks[fp.i]
		if t.Kind != Punct {
			fp.i++
			continue
		}
		switch t.Text {
		case ";":
			s.Args = fp.toks[first:fp.i:fp.i]
			fp.i++
			return s, nil
		case "}":
			return nil, &Error{fp.pos(t.Line), fmt.Sprintf("missing ';' after %s (statement at line %d)", describe(fp.toks[fp.i-1]), start.Line)}
		case "{":
			if fp.i > first && fp.toks[fp.i-1].is(Punct, "=") {
				// A record type in an option definition: = { a, b }.
				if err := fp.skipRecord(); err != nil {
					return nil, err
				}
				continue
			}
			s.Args = fp.toks[first:fp.i:fp.i]
			s.HasBlock = true
			fp.i++
			b, err := fp.block(depth+1, fp.pos(t.Line))
			if err != nil {
				return nil, err
			}
			s.Block = b
			return s, nil
		default:
			fp.i++
		}
	}
	return nil, &Error{s.Pos, fmt.Sprintf("statement %s… is not finished (missing ';' at the end of the file)", describe(start))}
}

// skipRecord moves past a balanced "{ … }" inside a statement.
func (fp *fileParser) skipRecord() error {
	open := fp.toks[fp.i]
	n := 0
	for ; fp.i < len(fp.toks); fp.i++ {
		t := fp.toks[fp.i]
		switch {
		case t.is(Punct, "{"):
			n++
		case t.is(Punct, "}"):
			n--
			if n == 0 {
				fp.i++
				return nil
			}
		case t.is(Punct, ";"):
			return &Error{fp.pos(t.Line), fmt.Sprintf("'{' at line %d is not closed before ';'", open.Line)}
		}
	}
	return &Error{fp.pos(open.Line), "'{' is not closed"}
}

func describe(t Token) string {
	if t.Kind == String {
		return strconv.Quote(t.Text)
	}
	return "'" + t.Text + "'"
}

// Format writes statements back as dhcpd.conf text, one statement per
// line, blocks indented with tabs. Parse(Format(x)) gives x again (less
// comments and positions).
func Format(stmts []*Stmt) string {
	var b strings.Builder
	format(&b, stmts, 0)
	return b.String()
}

func format(b *strings.Builder, stmts []*Stmt, depth int) {
	for _, s := range stmts {
		b.WriteString(strings.Repeat("\t", depth))
		for i, t := range s.Args {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(tokenText(t))
		}
		if !s.HasBlock {
			b.WriteString(";\n")
			continue
		}
		b.WriteString(" {\n")
		format(b, s.Block, depth+1)
		b.WriteString(strings.Repeat("\t", depth))
		b.WriteString("}\n")
	}
}

// tokenText is a token as dhcpd.conf text: strings quoted with escapes.
func tokenText(t Token) string {
	if t.Kind != String {
		return t.Text
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(t.Text); i++ {
		switch c := t.Text[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
