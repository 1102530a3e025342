package docsiscfg

import (
	"fmt"
	"strconv"
)

// SyntaxError is a problem in a config text, located by line and column.
type SyntaxError struct {
	Line, Column int
	Token        string // the offending token, "" at end of input
	Msg          string
	Err          error // an underlying sentinel such as ErrTooLong, if any
}

func (e *SyntaxError) Unwrap() error { return e.Err }

func (e *SyntaxError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("line %d, column %d: %s at %s", e.Line, e.Column, e.Msg, quoteToken(e.Token))
}

func quoteToken(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}

type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokWord           // bare token: keyword, number, hex, address, OID...
	tokString         // "quoted string"
	tokLBrace         // {
	tokRBrace         // }
	tokSemi           // ;
)

func (k tokKind) String() string {
	switch k {
	case tokEOF:
		return "end of input"
	case tokWord:
		return "a value"
	case tokString:
		return "a quoted string"
	case tokLBrace:
		return "'{'"
	case tokRBrace:
		return "'}'"
	}
	return "';'"
}

type token struct {
	kind      tokKind
	text      string // raw text; for tokString the text between the quotes
	line, col int
	escaped   bool // tokString containing a backslash
}

// maxString is the reference's longest quoted string.
const maxString = 2048

// lexer splits config text into tokens. Bare tokens run until white space or
// one of { } ; " and may contain quoted parts (OID indexes like
// label.'REALM' or label."a,b").
type lexer struct {
	src       string
	pos       int
	line      int // of src[pos]
	lineStart int // offset of the first byte of line
	peeked    bool
	peek      token
}

func newLexer(src string) lexer {
	return lexer{src: src, line: 1}
}

// col is the 1-based column (in bytes) of src[pos].
func (l *lexer) col() int { return l.pos - l.lineStart + 1 }

func (l *lexer) errAt(line, col int, tok, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: line, Column: col, Token: tok, Msg: fmt.Sprintf(format, args...)}
}

// advance moves past n bytes, counting the line breaks among them.
func (l *lexer) advance(n int) {
	end := l.pos + n
	for i := l.pos; i < end; i++ {
		if l.src[i] == '\n' {
			l.line++
			l.lineStart = i + 1
		}
	}
	l.pos = end
}

// skip passes over white space and comments.
func (l *lexer) skip() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t':
			l.pos++
		case c == '\n':
			l.pos++
			l.line++
			l.lineStart = l.pos
		case c == '\r':
			if l.pos+1 < len(l.src) && l.src[l.pos+1] == '\n' {
				l.advance(2)
				continue
			}
			return l.errAt(l.line, l.col(), "\r", "carriage return without line feed")
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '*':
			line, col := l.line, l.col()
			end := indexFrom(l.src, l.pos+2, "*/")
			if end < 0 {
				return l.errAt(line, col, "/*", "comment is not closed with */")
			}
			l.advance(end + 2 - l.pos)
		default:
			return nil
		}
	}
	return nil
}

func indexFrom(s string, from int, sub string) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i] == sub[0] && s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func (l *lexer) next() (token, error) {
	if l.peeked {
		l.peeked = false
		return l.peek, nil
	}
	if err := l.skip(); err != nil {
		return token{}, err
	}
	t := token{line: l.line, col: l.col()}
	if l.pos >= len(l.src) {
		return t, nil
	}
	switch c := l.src[l.pos]; c {
	case '{':
		t.kind, t.text = tokLBrace, "{"
		l.pos++
		return t, nil
	case '}':
		t.kind, t.text = tokRBrace, "}"
		l.pos++
		return t, nil
	case ';':
		t.kind, t.text = tokSemi, ";"
		l.pos++
		return t, nil
	case '"':
		start := l.pos + 1
		i := start
		for ; i < len(l.src); i++ {
			b := l.src[i]
			if b == '\\' {
				t.escaped = true
				if i+1 < len(l.src) && l.src[i+1] == '"' {
					i++
				}
				continue
			}
			if b == '"' {
				break
			}
			if b == '\n' || b == '\r' || b == '\t' {
				return t, l.errAt(t.line, t.col, l.src[l.pos:i], "quoted string contains a raw tab or line break; close it with \" on the same line")
			}
		}
		if i >= len(l.src) {
			return t, l.errAt(t.line, t.col, l.src[l.pos:], "quoted string is not closed")
		}
		if i-start > maxString {
			return t, l.errAt(t.line, t.col, l.src[l.pos:i+1], "quoted string is longer than %d characters", maxString)
		}
		t.kind, t.text = tokString, l.src[start:i]
		l.pos = i + 1 // a string holds no line break
		return t, nil
	}
	start := l.pos
	i := start
	for i < len(l.src) {
		b := l.src[i]
		if b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '{' || b == '}' || b == ';' {
			break
		}
		if b == '/' && i+1 < len(l.src) && l.src[i+1] == '*' {
			break
		}
		if (b == '"' || b == '\'') && i > start {
			// quoted part of an OID index
			j := i + 1
			for j < len(l.src) && l.src[j] != b && l.src[j] != '\n' {
				j++
			}
			if j >= len(l.src) || l.src[j] != b {
				return t, l.errAt(t.line, t.col, l.src[start:j], "quoted OID index is not closed")
			}
			i = j + 1
			continue
		}
		if b == '"' {
			break
		}
		i++
	}
	t.kind, t.text = tokWord, l.src[start:i]
	l.pos = i // a bare token holds no line break
	return t, nil
}

func (l *lexer) unread(t token) {
	l.peeked = true
	l.peek = t
}

// unescape applies the reference's string rules: \" is a quote, any other
// backslash becomes a space.
func unescape(t token, dst []byte) []byte {
	s := t.text
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			if i+1 < len(s) && s[i+1] == '"' {
				dst = append(dst, '"')
				i++
				continue
			}
			dst = append(dst, ' ')
			continue
		}
		dst = append(dst, s[i])
	}
	return dst
}
