package tsdb

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
)

// rebuild rewrites the file of d for a schema with other metrics and the
// same archives, keeping the data and state of the series stored alike.
// d.mu and db.flushMu are held, so no flush is in flight.
func (db *DB) rebuild(d *device, ns Schema) error {
	nd := &device{name: d.name, path: d.path}
	fileID := rand.Uint64() | 1
	blob := encodeSchema(d.name, fileID, ns)
	nd.setSchema(ns, len(blob))
	nd.fileID = fileID
	from := make([]int, len(ns.Metrics))
	for j, m := range ns.Metrics {
		from[j] = -1
		if oj, ok := d.byName[m.Name]; ok && sameStorage(d.series[oj].m, m) {
			from[j] = oj
			nd.series[j] = d.series[oj]
			nd.series[j].m = m
			nd.series[j].acc = append([]cdpAcc(nil), d.series[oj].acc...)
		}
	}
	out := make([]byte, nd.lay.size)
	copy(out, encodeBlob(fileMagic, blob, 0))
	copy(out[nd.lay.stateOff:], encodeBlob(stateMagic, nd.encodeState(), nd.lay.stateOff/pageSize))
	for k := range nd.lay.arch {
		na, oa := &nd.lay.arch[k], &d.lay.arch[k]
		dst := out[na.off : na.off+na.pages*int64(na.pageBytes)]
		for p := int64(0); p < na.pages; p++ {
			blankPage(dst[p*int64(na.pageBytes):][:na.pageBytes], na, ns.Metrics)
		}
		src := make([]byte, oa.pages*int64(oa.pageBytes))
		if _, err := d.f.ReadAt(src, oa.off); err != nil && err != io.EOF {
			return fmt.Errorf("rebuild %s: %w", d.name, err)
		}
		copyRow := func(r int64, row []byte) {
			off, rowOff := na.pageOf(r)
			nrow := out[off+int64(rowOff):][:na.rowSize]
			for j, oj := range from {
				if oj < 0 {
					continue
				}
				w := na.cells * ns.Metrics[j].Encoding.width()
				copy(nrow[na.col[j]:na.col[j]+w], row[oa.col[oj]:])
			}
		}
		for p := int64(0); p < oa.pages; p++ {
			page := src[p*int64(oa.pageBytes):][:oa.pageBytes]
			switch checkPage(page, oa.off+p*int64(oa.pageBytes)) {
			case pageBad:
				db.reportPage(d, oa.off+p*int64(oa.pageBytes))
				continue
			case pageBlank:
				continue
			}
			for i := int64(0); i < oa.rowsPerPage && p*oa.rowsPerPage+i < oa.rows; i++ {
				copyRow(p*oa.rowsPerPage+i, page[int(i)*oa.rowSize:])
			}
		}
		ps := d.pend[k]
		for e, r := range ps.rows {
			off, rowOff := na.pageOf(r)
			nrow := out[off+int64(rowOff):][:na.rowSize]
			for j, oj := range from {
				if oj < 0 || !ps.has(e, oj) {
					continue
				}
				w := na.cells * ns.Metrics[j].Encoding.width()
				copy(nrow[na.col[j]:na.col[j]+w], ps.row(e)[oa.col[oj]:])
			}
		}
		for p := int64(0); p < na.pages; p++ {
			sealPage(dst[p*int64(na.pageBytes):][:na.pageBytes], na.off+p*int64(na.pageBytes))
		}
	}
	tmp := d.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", d.name, err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("rebuild %s: %w", d.name, err)
	}
	if err := allocate(f, nd.lay.size); err != nil {
		return fail(err)
	}
	if _, err := f.WriteAt(out, 0); err != nil {
		return fail(err)
	}
	if err := db.datasync(f); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, d.path); err != nil {
		return fail(err)
	}
	db.stats.bytesWritten.Add(int64(len(out)))
	db.dirDirty.Store(true)
	dropCache(f)
	adviseRandom(f)
	d.f.Close()
	d.f = f
	d.fileID = fileID
	d.schema, d.lay, d.series, d.byName, d.pend = nd.schema, nd.lay, nd.series, nd.byName, nd.pend
	for k := range d.pend {
		d.pend[k].a = &d.lay.arch[k]
	}
	d.flight, d.badPages, d.dirty = nil, nil, false
	return nil
}
