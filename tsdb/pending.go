package tsdb

// rowSet holds the rows of one archive written since the last flush: the
// "recent rows kept in memory". Only the cells whose bit is set in mask
// were written; the rest of a row is taken from disk at flush time.
type rowSet struct {
	a       *archLayout
	words   int // mask words per row
	idx     map[int64]int32
	rows    []int64 // ring row of each entry, in insertion order
	data    []byte
	mask    []uint64
	lastRow int64
	lastIdx int32
}

func newRowSet(a *archLayout, nSeries int) *rowSet {
	return &rowSet{a: a, words: (nSeries + 63) / 64, lastRow: -1}
}

func (p *rowSet) len() int { return len(p.rows) }

// entry returns the index of ring row r, adding it if needed.
func (p *rowSet) entry(r int64) int32 {
	if r == p.lastRow {
		return p.lastIdx
	}
	i, ok := p.idx[r]
	if !ok {
		if p.idx == nil {
			p.idx = make(map[int64]int32)
		}
		i = int32(len(p.rows))
		p.idx[r] = i
		p.rows = append(p.rows, r)
		p.data = append(p.data, make([]byte, p.a.rowSize)...)
		p.mask = append(p.mask, make([]uint64, p.words)...)
	}
	p.lastRow, p.lastIdx = r, i
	return i
}

// cell marks series j of ring row r as written and returns its bytes.
func (p *rowSet) cell(r int64, j int) []byte {
	i := p.entry(r)
	p.mask[int(i)*p.words+j/64] |= 1 << (j % 64)
	off := int(i)*p.a.rowSize + p.a.col[j]
	return p.data[off:]
}

// has reports whether entry i holds series j.
func (p *rowSet) has(i int, j int) bool {
	return p.mask[i*p.words+j/64]&(1<<(j%64)) != 0
}

// row returns the bytes of entry i.
func (p *rowSet) row(i int) []byte {
	return p.data[i*p.a.rowSize : (i+1)*p.a.rowSize]
}

// mergeOlder copies into p the cells of older that p does not have, so
// that a failed flush keeps its rows without undoing newer writes.
func (p *rowSet) mergeOlder(older *rowSet, ms []Metric) {
	for i, r := range older.rows {
		src := older.row(i)
		for j := range ms {
			if !older.has(i, j) {
				continue
			}
			if k, ok := p.idx[r]; ok && p.has(int(k), j) {
				continue
			}
			w := p.a.cells * ms[j].Encoding.width()
			copy(p.cell(r, j)[:w], src[p.a.col[j]:p.a.col[j]+w])
		}
	}
}
