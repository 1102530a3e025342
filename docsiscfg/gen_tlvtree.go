//go:build ignore

// gen_tlvtree reads the TLV tree (§9.2 and §9.3) of the reference compiler's
// behaviour inventory and writes tlvtree_gen.go: a flat node table whose
// children are contiguous, name-sorted ranges.
//
// Usage (from docsiscfg/): go run gen_tlvtree.go ../../shared/reference/docsis-compiler.md
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"
)

type row struct {
	path     []int
	name     string
	typ      string
	min, max uint64
	subtree  bool // "NN.43.*" marker
}

type node struct {
	name     string
	code     int
	typ      string
	min, max uint64
	kids     []*node
	shared   string // name of a shared subtree whose range to reuse
}

var typeNames = map[string]string{
	"u8": "tU8", "u16": "tU16", "u24": "tU24", "u32": "tU32", "hex": "tHex", "str": "tStr",
	"strz": "tStrz", "ip4": "tIP4", "ip6": "tIP6", "ip4|ip6": "tIP46", "af+ip": "tAFIP",
	"ip/port": "tIPPort", "mac": "tMAC", "mac/mask": "tMACMask", "u8list": "tU8List",
	"u16list": "tU16List", "ip4list": "tIP4List", "ip6list": "tIP6List", "ip6pfxlist": "tIP6PfxList",
	"dualqtag": "tDualQTag", "zero-len": "tZeroLen", "oid": "tOID", "oid+u8": "tOIDU8",
	"snmp-varbind": "tVarbind", "snmp-varbind (file)": "tDigitMap", "extfile": "tExtFile",
	"agg": "tAgg", "(pad)": "tPad", "(computed)": "tComputed", "(escape hatch)": "tGeneric", "(EOD)": "tEOD",
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: go run gen_tlvtree.go docsis-compiler.md")
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var top []row
	var subs []row
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "### 9.2"):
			section = "top"
			continue
		case strings.HasPrefix(line, "### 9.3"):
			section = "sub"
			continue
		case strings.HasPrefix(line, "## ") || (strings.HasPrefix(line, "### ") && section != ""):
			section = ""
		}
		if section == "" || !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(strings.ReplaceAll(cells[i], "&nbsp;", ""))
		}
		if len(cells) > 3 && cells[2] == "ip4" && cells[3] == "ip6" {
			cells = append(cells[:2], append([]string{"ip4|ip6"}, cells[4:]...)...)
		}
		if len(cells) < 3 || cells[0] == "TLV" || cells[0] == "code path" || strings.HasPrefix(cells[0], "---") {
			continue
		}
		var r row
		for _, p := range strings.Split(cells[0], ".") {
			if p == "*" {
				r.subtree = true
				continue
			}
			n, err := strconv.Atoi(p)
			if err != nil {
				log.Fatalf("bad code path %q", cells[0])
			}
			r.path = append(r.path, n)
		}
		r.name = cells[1]
		r.typ = cells[2]
		if _, ok := typeNames[r.typ]; !ok && !r.subtree {
			log.Fatalf("unknown type %q in %q", r.typ, line)
		}
		if len(cells) > 3 && cells[3] != "" && !r.subtree {
			lo, hi, ok := strings.Cut(cells[3], "..")
			if !ok {
				log.Fatalf("bad limits %q", line)
			}
			r.min, _ = strconv.ParseUint(lo, 10, 64)
			r.max, _ = strconv.ParseUint(hi, 10, 64)
		}
		if section == "top" {
			top = append(top, r)
		} else {
			subs = append(subs, r)
		}
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}

	root := &node{name: "Main", typ: "tAgg"}
	byPath := map[string]*node{}
	key := func(p []int) string { return fmt.Sprint(p) }
	for _, r := range top {
		n := &node{name: r.name, code: r.path[0], typ: typeNames[r.typ], min: r.min, max: r.max}
		root.kids = append(root.kids, n)
		if _, dup := byPath[key(r.path)]; !dup {
			byPath[key(r.path)] = n
		}
	}
	for _, r := range subs {
		parent := byPath[key(r.path[:len(r.path)-1])]
		if r.subtree {
			parent = byPath[key(r.path)]
			if parent == nil {
				log.Fatalf("no parent for subtree %v", r.path)
			}
			if r.path[0] == 43 {
				continue
			}
			parent.shared = "vendorNested"
			continue
		}
		if parent == nil {
			log.Fatalf("no parent for %v %s", r.path, r.name)
		}
		code := r.path[len(r.path)-1]
		dup := false
		for _, k := range parent.kids {
			if k.code == code && k.name == r.name {
				dup = true
			}
		}
		if dup {
			continue
		}
		n := &node{name: r.name, code: code, typ: typeNames[r.typ], min: r.min, max: r.max}
		parent.kids = append(parent.kids, n)
		byPath[key(r.path)] = n
	}
	// 74.4.2 (DLS-mode upstream activity parameters): the reference's rows
	// are self-parented; the codes are those of 74.2.2.
	dls := byPath[key([]int{74, 4, 2})]
	one := byPath[key([]int{74, 2, 2})]
	if dls == nil || one == nil {
		log.Fatal("74.2.2 or 74.4.2 missing")
	}
	for _, k := range one.kids {
		c := *k
		dls.kids = append(dls.kids, &c)
	}
	// The nested TLV 43 subtree: top-level 43 with the 43.6 children renamed.
	v43 := byPath[key([]int{43})]
	nested := cloneTree(v43)
	for _, k := range nested.kids {
		if k.code == 6 {
			for _, kk := range k.kids {
				switch kk.code {
				case 1:
					kk.name = "ExtendedCMTSMICHMACtype"
				case 2:
					kk.name = "ExtendedCMTSMICBitmap"
				case 3:
					kk.name = "ExplicitExtendedCMTSMICDigest"
				}
			}
		}
	}

	// Flatten: breadth first, each node's children in one contiguous range
	// sorted by lower-case name (stable, so the first of two equal names wins).
	type flat struct {
		n            *node
		first, count int
	}
	var out []flat
	ranges := map[*node][2]int{}
	var nestedRange [2]int
	out = append(out, flat{n: root})
	queue := []int{0}
	emit := func(kids []*node) (int, int) {
		sorted := append([]*node(nil), kids...)
		sort.SliceStable(sorted, func(i, j int) bool {
			return strings.ToLower(sorted[i].name) < strings.ToLower(sorted[j].name)
		})
		first := len(out)
		for _, k := range sorted {
			out = append(out, flat{n: k})
			queue = append(queue, len(out)-1)
		}
		return first, len(sorted)
	}
	nestedDone := false
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		n := out[i].n
		if n.shared == "vendorNested" {
			if !nestedDone {
				f, c := emit(nested.kids)
				nestedRange = [2]int{f, c}
				nestedDone = true
			}
			out[i].first, out[i].count = nestedRange[0], nestedRange[1]
			continue
		}
		if r, ok := ranges[n]; ok {
			out[i].first, out[i].count = r[0], r[1]
			continue
		}
		if len(n.kids) > 0 {
			f, c := emit(n.kids)
			out[i].first, out[i].count = f, c
			ranges[n] = [2]int{f, c}
		}
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by gen_tlvtree.go from the reference compiler's TLV tree; DO NOT EDIT.\n\npackage docsiscfg\n\n")
	b.WriteString("// tlvTree is the settings tree. Node 0 is Main; the children of a node are\n// tlvTree[first:first+count], sorted by lower-case name.\n")
	b.WriteString("var tlvTree = [...]tlvNode{\n")
	for i, f := range out {
		fmt.Fprintf(&b, "\t/* %d */ {%q, %d, %s, %d, %d, %d, %d},\n", i, f.n.name, f.n.code, f.n.typ, f.n.min, f.n.max, f.first, f.count)
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("tlvtree_gen.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "%d nodes\n", len(out))
}

func cloneTree(n *node) *node {
	c := *n
	c.kids = nil
	for _, k := range n.kids {
		c.kids = append(c.kids, cloneTree(k))
	}
	return &c
}
