//go:build ignore

// gen_mibtable reads the MIB modules the reference compiler loads (the
// CableLabs folder, ietf/ and iana/) and writes mibtable_gen.go: the OID
// tree of their OBJECT-TYPE and NOTIFICATION-TYPE names and of the OBJECT
// IDENTIFIER / MODULE-IDENTITY / OBJECT-IDENTITY nodes above them, with the
// enumeration labels and string-index layout the decoder prints. Labels
// defined in two modules resolve as mib-ambiguous-labels.tsv says.
//
// Usage (from docsiscfg/): go run gen_mibtable.go ../../shared/mibs
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type syntax struct {
	base  string // INTEGER, OCTET STRING, IpAddress, OBJECT IDENTIFIER, BITS, or a TC name
	enums []enum
	fixed int    // SIZE(n) exactly, for OCTET STRING
	sizes string // SIZE ranges as "lo-hi,lo-hi", for OCTET STRING
}

type enum struct {
	v     int64
	label string
}

type def struct {
	module, name string
	kind         string // OBJECT-TYPE, OBJECT IDENTIFIER, ...
	oid          []tok  // tokens inside { }
	syn          *syntax
	index        []string // INDEX names; "IMPLIED x" for implied
	augments     string
	order        int
}

type tok struct {
	s string
}

type module struct {
	name    string
	imports map[string]string
	defs    map[string]*def
	tcs     map[string]*syntax
}

// gen holds the parsed MIB modules and the OID tree being built.
type gen struct {
	modules     map[string]*module
	moduleOrder []string
	defOrder    int
	root        *node
	resolved    map[*def]*node
	resolving   map[*def]bool
}

func newGen() *gen {
	return &gen{
		modules:   map[string]*module{},
		root:      &node{kids: map[uint32]*node{}},
		resolved:  map[*def]*node{},
		resolving: map[*def]bool{},
	}
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: go run gen_mibtable.go MIBDIR")
	}
	dir := os.Args[1]
	g := newGen()
	var files []string
	for _, d := range []string{dir, filepath.Join(dir, "ietf"), filepath.Join(dir, "iana")} {
		ents, err := os.ReadDir(d)
		if err != nil {
			log.Fatal(err)
		}
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() || strings.HasPrefix(n, "Makefile") || strings.HasSuffix(n, ".tsv") || strings.HasPrefix(n, ".") {
				continue
			}
			files = append(files, filepath.Join(d, n))
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			log.Fatal(err)
		}
		g.parseFile(tokenize(string(data)))
	}
	g.build(filepath.Join(dir, "mib-ambiguous-labels.tsv"))
}

func tokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			j := i + 2
			for j < len(s) && s[j] != '\n' && s[j] != '\r' {
				if s[j] == '-' && j+1 < len(s) && s[j+1] == '-' {
					j += 2
					break
				}
				j++
			}
			i = j
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return out
			}
			out = append(out, "\"")
			i += j + 2
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return out
			}
			j += i + 2
			for j < len(s) && (s[j] == 'H' || s[j] == 'h' || s[j] == 'B' || s[j] == 'b') {
				j++
			}
			out = append(out, s[i:j])
			i = j
		case c == ':' && strings.HasPrefix(s[i:], "::="):
			out = append(out, "::=")
			i += 3
		case c == '.' && strings.HasPrefix(s[i:], ".."):
			out = append(out, "..")
			i += 2
		case isAlnum(c) || (c == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9'):
			j := i + 1
			for j < len(s) && (isAlnum(s[j]) || s[j] == '-' || s[j] == '_') {
				if s[j] == '-' && j+1 < len(s) && s[j+1] == '-' {
					break
				}
				j++
			}
			out = append(out, s[i:j])
			i = j
		default:
			out = append(out, string(c))
			i++
		}
	}
	return out
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func (g *gen) parseFile(t []string) {
	for i := 0; i+2 < len(t); i++ {
		if t[i+1] == "DEFINITIONS" {
			j := i + 2
			for j < len(t) && t[j] != "BEGIN" {
				j++
			}
			end := j
			for end < len(t) && t[end] != "END" {
				if t[end] == "MACRO" {
					// a macro definition has its own BEGIN ... END
					for end < len(t) && t[end] != "END" {
						end++
					}
				}
				end++
			}
			g.parseModule(t[i], t[j+1:min(end, len(t))])
			i = end
		}
	}
}

func (g *gen) parseModule(name string, t []string) {
	m := &module{name: name, imports: map[string]string{}, defs: map[string]*def{}, tcs: map[string]*syntax{}}
	if _, dup := g.modules[name]; dup {
		return
	}
	g.modules[name] = m
	g.moduleOrder = append(g.moduleOrder, name)
	i := 0
	if len(t) > 0 && t[0] == "IMPORTS" {
		var pending []string
		for i = 1; i < len(t) && t[i] != ";"; i++ {
			switch {
			case t[i] == "FROM" && i+1 < len(t):
				for _, p := range pending {
					m.imports[p] = t[i+1]
				}
				pending = nil
				i++
			case t[i] == ",":
			default:
				pending = append(pending, t[i])
			}
		}
	}
	for ; i < len(t); i++ {
		n := t[i]
		if n == "" || !isAlnum(n[0]) {
			continue
		}
		next := func(k int) string {
			if i+k < len(t) {
				return t[i+k]
			}
			return ""
		}
		switch {
		case next(1) == "OBJECT" && next(2) == "IDENTIFIER" && next(3) == "::=" && isLower(n):
			d := &def{module: name, name: n, kind: "OBJECT IDENTIFIER"}
			j, oid := readOID(t, i+4)
			d.oid = oid
			g.add(m, d)
			i = j
		case macroKinds[next(1)] && isLower(n):
			d := &def{module: name, name: n, kind: next(1)}
			j := i + 2
			for j < len(t) && t[j] != "::=" {
				switch t[j] {
				case "SYNTAX":
					var s *syntax
					j, s = readSyntax(t, j+1)
					d.syn = s
					continue
				case "INDEX":
					j++
					for j < len(t) && t[j] != "}" {
						if t[j] == "IMPLIED" && j+1 < len(t) {
							d.index = append(d.index, "IMPLIED "+t[j+1])
							j++
						} else if t[j] != "{" && t[j] != "," {
							d.index = append(d.index, t[j])
						}
						j++
					}
				case "AUGMENTS":
					if j+2 < len(t) {
						d.augments = t[j+2]
					}
				}
				j++
			}
			j, oid := readOID(t, j+1)
			d.oid = oid
			g.add(m, d)
			i = j
		case next(1) == "::=" && !isLower(n) && next(2) == "TEXTUAL-CONVENTION":
			j := i + 3
			for j < len(t) && t[j] != "SYNTAX" {
				j++
			}
			j, s := readSyntax(t, j+1)
			m.tcs[n] = s
			i = j - 1
		case next(1) == "::=" && !isLower(n) && next(2) != "SEQUENCE" && next(2) != "CHOICE":
			j, s := readSyntax(t, i+2)
			m.tcs[n] = s
			i = j - 1
		}
	}
}

// macroKinds are the definitions kept in the table: the objects and
// notifications, and the OID nodes above them (MODULE-IDENTITY,
// OBJECT-IDENTITY and plain OBJECT IDENTIFIER assignments, needed to place
// the objects and to print OIDs like enterprises.32473.1). Conformance
// groups, compliances and capabilities are left out: no config sets them.
var macroKinds = map[string]bool{
	"OBJECT-TYPE": true, "NOTIFICATION-TYPE": true, "MODULE-IDENTITY": true, "OBJECT-IDENTITY": true,
}

func isLower(s string) bool { return s != "" && 'a' <= s[0] && s[0] <= 'z' }

func (g *gen) add(m *module, d *def) {
	if d.oid == nil {
		return
	}
	g.defOrder++
	d.order = g.defOrder
	if _, dup := m.defs[d.name]; !dup {
		m.defs[d.name] = d
	}
}

func readOID(t []string, j int) (int, []tok) {
	if j >= len(t) || t[j] != "{" {
		return j, nil
	}
	var out []tok
	j++
	for j < len(t) && t[j] != "}" {
		if t[j+1] == "(" && j+3 < len(t) && t[j+3] == ")" {
			out = append(out, tok{t[j] + "(" + t[j+2] + ")"})
			j += 4
			continue
		}
		out = append(out, tok{t[j]})
		j++
	}
	return j, out
}

func readSyntax(t []string, j int) (int, *syntax) {
	s := &syntax{}
	if j >= len(t) {
		return j, s
	}
	switch {
	case t[j] == "OCTET" && j+1 < len(t) && t[j+1] == "STRING":
		s.base = "OCTET STRING"
		j += 2
	case t[j] == "OBJECT" && j+1 < len(t) && t[j+1] == "IDENTIFIER":
		s.base = "OBJECT IDENTIFIER"
		j += 2
	default:
		s.base = t[j]
		j++
	}
	if j < len(t) && t[j] == "{" {
		j++
		for j < len(t) && t[j] != "}" {
			if j+3 < len(t) && t[j+1] == "(" && t[j+3] == ")" {
				if v, err := strconv.ParseInt(t[j+2], 10, 64); err == nil {
					s.enums = append(s.enums, enum{v, t[j]})
				}
				j += 4
				continue
			}
			j++
		}
		j++
	}
	if j < len(t) && t[j] == "(" {
		depth := 0
		start := j
		for j < len(t) {
			if t[j] == "(" {
				depth++
			}
			if t[j] == ")" {
				depth--
				if depth == 0 {
					j++
					break
				}
			}
			j++
		}
		inner := t[start:j]
		// ( SIZE ( n ) ) or ( SIZE ( a..b | c ) )
		if len(inner) == 6 && inner[1] == "SIZE" {
			if n, err := strconv.Atoi(inner[3]); err == nil {
				s.fixed = n
			}
		}
		if len(inner) > 4 && inner[1] == "SIZE" {
			var ranges []string
			ok := true
			for k := 3; k < len(inner)-2; k++ {
				switch {
				case inner[k] == "|":
				case k+2 < len(inner)-2 && inner[k+1] == "..":
					ranges = append(ranges, inner[k]+"-"+inner[k+2])
					k += 2
				default:
					if _, err := strconv.Atoi(inner[k]); err != nil {
						ok = false
					}
					ranges = append(ranges, inner[k]+"-"+inner[k])
				}
			}
			for _, r := range ranges {
				lo, hi, _ := strings.Cut(r, "-")
				if _, err := strconv.Atoi(lo); err != nil {
					ok = false
				}
				if _, err := strconv.Atoi(hi); err != nil {
					ok = false
				}
			}
			if ok && len(ranges) > 0 {
				s.sizes = strings.Join(ranges, ",")
			}
		}
	}
	return j, s
}

// ---- resolution ----

type node struct {
	arc    uint32
	parent *node
	kids   map[uint32]*node
	names  []*def
	name   string
	id     int
	extra  string
}

func child(p *node, arc uint32) *node {
	c := p.kids[arc]
	if c == nil {
		c = &node{arc: arc, parent: p, kids: map[uint32]*node{}}
		p.kids[arc] = c
	}
	return c
}

func (g *gen) lookupDef(m *module, name string) *def {
	if d := m.defs[name]; d != nil {
		return d
	}
	if from, ok := m.imports[name]; ok {
		if im := g.modules[from]; im != nil && im.defs[name] != nil {
			return im.defs[name]
		}
	}
	for _, mn := range g.moduleOrder {
		if d := g.modules[mn].defs[name]; d != nil {
			return d
		}
	}
	return nil
}

func (g *gen) resolve(d *def) *node {
	if n, ok := g.resolved[d]; ok {
		return n
	}
	if g.resolving[d] {
		return nil
	}
	g.resolving[d] = true
	defer delete(g.resolving, d)
	m := g.modules[d.module]
	var cur *node
	for i, t := range d.oid {
		s := t.s
		if p := strings.IndexByte(s, '('); p > 0 {
			v, err := strconv.ParseUint(s[p+1:len(s)-1], 10, 32)
			if err != nil {
				return nil
			}
			if cur == nil {
				cur = g.root
			}
			cur = child(cur, uint32(v))
			continue
		}
		if v, err := strconv.ParseUint(s, 10, 32); err == nil {
			if cur == nil {
				cur = g.root
			}
			cur = child(cur, uint32(v))
			continue
		}
		if i != 0 {
			return nil
		}
		switch s {
		case "iso":
			cur = child(g.root, 1)
			continue
		case "ccitt":
			cur = child(g.root, 0)
			continue
		case "joint-iso-ccitt":
			cur = child(g.root, 2)
			continue
		}
		pd := g.lookupDef(m, s)
		if pd == nil {
			return nil
		}
		cur = g.resolve(pd)
		if cur == nil {
			return nil
		}
	}
	if cur == nil || cur == g.root {
		return nil
	}
	g.resolved[d] = cur
	cur.names = append(cur.names, d)
	return cur
}

func (g *gen) findTC(m *module, name string) *syntax {
	if s := m.tcs[name]; s != nil {
		return s
	}
	if from, ok := m.imports[name]; ok {
		if im := g.modules[from]; im != nil && im.tcs[name] != nil {
			return im.tcs[name]
		}
	}
	for _, mn := range g.moduleOrder {
		if s := g.modules[mn].tcs[name]; s != nil {
			return s
		}
	}
	return nil
}

// flatten follows textual conventions down to a base syntax, keeping the
// first enumeration found.
func (g *gen) flatten(m *module, s *syntax) syntax {
	out := *s
	for depth := 0; depth < 10; depth++ {
		switch out.base {
		case "INTEGER", "Integer32", "OCTET STRING", "IpAddress", "OBJECT IDENTIFIER", "BITS", "Unsigned32", "Gauge32", "Counter32", "Counter64", "TimeTicks", "Opaque":
			return out
		}
		tc := g.findTC(m, out.base)
		if tc == nil {
			return out
		}
		next := *tc
		if len(out.enums) > 0 {
			next.enums = out.enums
		}
		if out.fixed != 0 {
			next.fixed = out.fixed
		}
		if out.sizes != "" {
			next.sizes = out.sizes
		}
		out = next
	}
	return out
}

func (g *gen) indexKind(m *module, name string) string {
	implied := strings.HasPrefix(name, "IMPLIED ")
	name = strings.TrimPrefix(name, "IMPLIED ")
	d := g.lookupDef(m, name)
	if d == nil || d.syn == nil {
		return "?"
	}
	s := g.flatten(g.modules[d.module], d.syn)
	switch s.base {
	case "INTEGER", "Integer32", "Unsigned32", "Gauge32", "Counter32", "TimeTicks":
		return "n"
	case "IpAddress":
		return "a"
	case "OCTET STRING":
		if s.fixed > 0 {
			return "x" + strconv.Itoa(s.fixed)
		}
		if implied {
			return "S"
		}
		return "s"
	}
	return "?"
}

func (g *gen) build(tsv string) {
	var all []*def
	for _, mn := range g.moduleOrder {
		for _, d := range g.modules[mn].defs {
			all = append(all, d)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].order < all[j].order })
	for _, d := range all {
		g.resolve(d)
	}
	// label -> nodes
	byLabel := map[string][]*node{}
	for _, d := range all {
		n := g.resolved[d]
		if n == nil {
			continue
		}
		found := false
		for _, x := range byLabel[d.name] {
			if x == n {
				found = true
			}
		}
		if !found {
			byLabel[d.name] = append(byLabel[d.name], n)
		}
	}
	for arc, name := range []string{"ccitt", "iso", "joint-iso-ccitt"} {
		if n := g.root.kids[uint32(arc)]; n != nil && len(byLabel[name]) == 0 {
			n.name = name
			byLabel[name] = []*node{n}
		}
	}
	picks := readTSV(tsv)
	pick := map[string]*node{}
	unlisted := 0
	for label, ns := range byLabel {
		if len(ns) == 1 {
			pick[label] = ns[0]
			continue
		}
		if oid, ok := picks[label]; ok {
			for _, n := range ns {
				if g.oidString(n) == oid {
					pick[label] = n
				}
			}
			if pick[label] == nil {
				log.Printf("ambiguous %s: pick %s not among candidates", label, oid)
			}
			continue
		}
		unlisted++
		pick[label] = ns[0]
	}
	if unlisted > 0 {
		log.Printf("%d ambiguous labels not in the tsv (first definition kept)", unlisted)
	}
	// name each node: the label that resolves to it, preferring the first
	for _, d := range all {
		n := g.resolved[d]
		if n == nil || n.name != "" {
			continue
		}
		if pick[d.name] == n {
			n.name = d.name
		}
	}
	for _, d := range all {
		n := g.resolved[d]
		if n != nil && n.name == "" {
			n.name = d.name
		}
	}
	// extras: enums and string-index layout of columns
	for _, d := range all {
		n := g.resolved[d]
		if n == nil || n.extra != "" || d.kind != "OBJECT-TYPE" || d.syn == nil || n.name != d.name {
			continue
		}
		m := g.modules[d.module]
		var parts []string
		s := g.flatten(m, d.syn)
		if len(s.enums) > 0 && (s.base == "INTEGER" || s.base == "Integer32") {
			var es []string
			for _, e := range s.enums {
				es = append(es, fmt.Sprintf("%d %s", e.v, e.label))
			}
			parts = append(parts, "e="+strings.Join(es, ","))
		}
		if s.base == "OCTET STRING" && s.sizes != "" {
			parts = append(parts, "z="+s.sizes)
		}
		// a column: its parent is a row entry with INDEX
		if n.parent != nil {
			for _, pd := range n.parent.names {
				idx := pd.index
				pm := g.modules[pd.module]
				if pd.augments != "" {
					if ad := g.lookupDef(pm, pd.augments); ad != nil {
						idx = ad.index
						pm = g.modules[ad.module]
					}
				}
				if len(idx) == 0 {
					continue
				}
				var ks []string
				str := false
				for _, x := range idx {
					k := g.indexKind(pm, x)
					if k == "s" || k == "S" {
						str = true
					}
					ks = append(ks, k)
				}
				if str {
					parts = append(parts, "i="+strings.Join(ks, ","))
				}
				break
			}
		}
		n.extra = strings.Join(parts, ";")
	}
	g.emit(pick)
}

func (g *gen) oidString(n *node) string {
	var arcs []string
	for ; n != nil && n != g.root; n = n.parent {
		arcs = append([]string{strconv.FormatUint(uint64(n.arc), 10)}, arcs...)
	}
	return strings.Join(arcs, ".")
}

func readTSV(path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) >= 2 {
			out[f[0]] = f[1]
		}
	}
	return out
}

// prune drops nodes that have neither a name nor named descendants.
func (g *gen) prune(n *node) bool {
	keep := n.name != ""
	for a, c := range n.kids {
		if g.prune(c) {
			keep = true
		} else {
			delete(n.kids, a)
		}
	}
	return keep
}

func (g *gen) emit(pick map[string]*node) {
	g.prune(g.root)
	// breadth first, children sorted by arc, so that every node's children
	// are contiguous
	var order []*node
	queue := []*node{g.root}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		arcs := make([]uint32, 0, len(n.kids))
		for a := range n.kids {
			arcs = append(arcs, a)
		}
		sort.Slice(arcs, func(i, j int) bool { return arcs[i] < arcs[j] })
		for _, a := range arcs {
			c := n.kids[a]
			c.id = len(order)
			order = append(order, c)
			queue = append(queue, c)
		}
	}
	firstKid := func(n *node) (int, int) {
		if len(n.kids) == 0 {
			return 0, 0
		}
		lo := -1
		for _, c := range n.kids {
			if lo < 0 || c.id < lo {
				lo = c.id
			}
		}
		return lo, len(n.kids)
	}
	var names, extra bytes.Buffer
	var recs []byte
	nameOff := map[string]int{}
	for _, n := range order {
		off, ok := nameOff[n.name]
		if !ok {
			off = names.Len()
			names.WriteString(n.name)
			nameOff[n.name] = off
		}
		eoff := extra.Len()
		extra.WriteString(n.extra)
		parent := 0xffffff
		if n.parent != g.root {
			parent = n.parent.id
		}
		f, c := firstKid(n)
		recs = append(recs,
			byte(n.arc>>24), byte(n.arc>>16), byte(n.arc>>8), byte(n.arc),
			byte(parent>>16), byte(parent>>8), byte(parent),
			byte(f>>16), byte(f>>8), byte(f),
			byte(c>>8), byte(c),
			byte(off>>16), byte(off>>8), byte(off), byte(len(n.name)),
			byte(eoff>>16), byte(eoff>>8), byte(eoff), byte(len(n.extra)>>8), byte(len(n.extra)))
		if len(n.name) > 255 || len(n.extra) > 0xffff || c > 0xffff || names.Len() > 0xffffff {
			log.Fatalf("field overflow at %s", n.name)
		}
	}
	// name index: labels sorted, each pointing at its node
	labels := make([]string, 0, len(pick))
	for l := range pick {
		if pick[l] != nil && pick[l].id >= 0 {
			labels = append(labels, l)
		}
	}
	sort.Strings(labels)
	var idx []byte
	var lnames bytes.Buffer
	for _, l := range labels {
		n := pick[l]
		off, ok := nameOff[l]
		if !ok {
			off = names.Len()
			names.WriteString(l)
			nameOff[l] = off
		}
		_ = lnames
		idx = append(idx, byte(off>>16), byte(off>>8), byte(off), byte(len(l)), byte(n.id>>16), byte(n.id>>8), byte(n.id))
	}
	_, rc := firstKid(g.root)
	var b bytes.Buffer
	b.WriteString("// Code generated by gen_mibtable.go from the MIB modules in shared/mibs; DO NOT EDIT.\n\npackage docsiscfg\n\n")
	fmt.Fprintf(&b, "// %d nodes, %d labels.\n", len(order), len(labels))
	fmt.Fprintf(&b, "const mibRootCount = %d\n\n", rc)
	writeConst(&b, "mibNodes", recs)
	writeConst(&b, "mibNames", names.Bytes())
	writeConst(&b, "mibLabels", idx)
	writeConst(&b, "mibExtra", extra.Bytes())
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("mibtable_gen.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("%d nodes, %d labels, %d bytes of data", len(order), len(labels), len(recs)+names.Len()+len(idx)+extra.Len())
}

// writeConst writes data as a string constant, 64 bytes per line.
func writeConst(b *bytes.Buffer, name string, data []byte) {
	fmt.Fprintf(b, "const %s = \"\" +\n", name)
	for i := 0; i < len(data); i += 64 {
		end := min(i+64, len(data))
		b.WriteString("\t\"")
		for _, c := range data[i:end] {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c >= 0x20 && c < 0x7f:
				b.WriteByte(c)
			default:
				fmt.Fprintf(b, "\\x%02x", c)
			}
		}
		b.WriteString("\"")
		if end < len(data) {
			b.WriteString(" +")
		}
		b.WriteString("\n")
	}
	if len(data) == 0 {
		b.WriteString("\t\"\"\n")
	}
	b.WriteString("\n")
}
