package docsiscfg

import "strings"

//go:generate go run gen_mibtable.go ../../shared/mibs
//go:generate go run gen_tlvtree.go ../../shared/reference/docsis-compiler.md

// The MIB table (mibtable_gen.go) is a breadth-first array of fixed-size
// node records in mibNodes; the children of a node are contiguous and sorted
// by arc. Node ids index the records; mibRoot stands for the OID root.
const (
	mibRoot     = -2
	mibNodeSize = 21
	mibNoParent = 0xffffff
	mibLabelLen = 7
)

func mibU24(s string, i int) int {
	return int(s[i])<<16 | int(s[i+1])<<8 | int(s[i+2])
}

func mibArc(n int) uint32 {
	r := n * mibNodeSize
	return uint32(mibNodes[r])<<24 | uint32(mibNodes[r+1])<<16 | uint32(mibNodes[r+2])<<8 | uint32(mibNodes[r+3])
}

func mibParent(n int) int {
	p := mibU24(mibNodes, n*mibNodeSize+4)
	if p == mibNoParent {
		return mibRoot
	}
	return p
}

func mibKids(n int) (first, count int) {
	if n == mibRoot {
		return 0, mibRootCount
	}
	r := n * mibNodeSize
	return mibU24(mibNodes, r+7), int(mibNodes[r+10])<<8 | int(mibNodes[r+11])
}

func mibName(n int) string {
	r := n * mibNodeSize
	off := mibU24(mibNodes, r+12)
	return mibNames[off : off+int(mibNodes[r+15])]
}

func mibExtraOf(n int) string {
	r := n * mibNodeSize
	off := mibU24(mibNodes, r+16)
	return mibExtra[off : off+(int(mibNodes[r+19])<<8|int(mibNodes[r+20]))]
}

// mibChildByArc returns the child of n with the given arc, or -1.
func mibChildByArc(n int, arc uint32) int {
	first, count := mibKids(n)
	lo, hi := first, first+count
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if mibArc(m) < arc {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < first+count && mibArc(lo) == arc {
		return lo
	}
	return -1
}

// mibChildByName returns the child of n with the given label, or -1.
func mibChildByName(n int, name string) int {
	first, count := mibKids(n)
	for i := first; i < first+count; i++ {
		if mibName(i) == name {
			return i
		}
	}
	return -1
}

func mibLabelAt(i int) (string, int) {
	r := i * mibLabelLen
	off := mibU24(mibLabels, r)
	return mibNames[off : off+int(mibLabels[r+3])], mibU24(mibLabels, r+4)
}

// mibLookup resolves an object name to its node, or -1. Names are matched
// exactly first, then case-insensitively.
func mibLookup(name string) int {
	total := len(mibLabels) / mibLabelLen
	lo, hi := 0, total
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if l, _ := mibLabelAt(m); l < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < total {
		if l, n := mibLabelAt(lo); l == name {
			return n
		}
	}
	for i := 0; i < total; i++ {
		if l, n := mibLabelAt(i); strings.EqualFold(l, name) {
			return n
		}
	}
	return -1
}

// mibArcs appends the full OID of node n.
func mibArcs(n int, dst []uint32) []uint32 {
	depth := 0
	for p := n; p != mibRoot; p = mibParent(p) {
		depth++
	}
	start := len(dst)
	for i := 0; i < depth; i++ {
		dst = append(dst, 0)
	}
	for i, p := depth-1, n; p != mibRoot; i, p = i-1, mibParent(p) {
		dst[start+i] = mibArc(p)
	}
	return dst
}
