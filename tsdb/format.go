package tsdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"
)

// FormatVersion is the version byte of device files and the journal.
const FormatVersion = 1

const (
	pageSize    = 4096
	trailerSize = 8 // u32 page number, u32 crc32c
	blobPrefix  = 16
	fileMagic   = "IP6MTSDB"
	stateMagic  = "IP6MTSST"
	maxBlob     = 1 << 22
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by every error about damaged bytes on disk.
var ErrCorrupt = errors.New("corrupt")

func corruptf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// sealPage writes the trailer of p, which starts at byte offset off.
func sealPage(p []byte, off int64) {
	n := len(p)
	binary.LittleEndian.PutUint32(p[n-8:], uint32(off/pageSize))
	binary.LittleEndian.PutUint32(p[n-4:], crc32.Checksum(p[:n-4], castagnoli))
}

// pageState is what checkPage found.
type pageState uint8

const (
	pageOK pageState = iota
	pageBlank
	pageBad
)

// checkPage verifies a page read from offset off. A page of zeros was
// never written (the file is preallocated) and holds no data.
func checkPage(p []byte, off int64) pageState {
	n := len(p)
	if binary.LittleEndian.Uint32(p[n-4:]) == 0 && allZero(p) {
		return pageBlank
	}
	if binary.LittleEndian.Uint32(p[n-8:]) != uint32(off/pageSize) ||
		binary.LittleEndian.Uint32(p[n-4:]) != crc32.Checksum(p[:n-4], castagnoli) {
		return pageBad
	}
	return pageOK
}

func allZero(p []byte) bool {
	for len(p) >= 8 {
		if binary.LittleEndian.Uint64(p) != 0 {
			return false
		}
		p = p[8:]
	}
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}

// blobPages is the number of pages holding a blob of n bytes.
func blobPages(n int) int {
	per := pageSize - trailerSize
	return (blobPrefix + n + per - 1) / per
}

// encodeBlob lays a blob out in sealed pages starting at page firstPage.
func encodeBlob(magic string, blob []byte, firstPage int64) []byte {
	np := blobPages(len(blob))
	out := make([]byte, np*pageSize)
	payload := make([]byte, 0, blobPrefix+len(blob))
	payload = append(payload, magic...)
	payload = append(payload, FormatVersion, 0, 0, 0)
	payload = binary.LittleEndian.AppendUint32(payload, uint32(len(blob)))
	payload = append(payload, blob...)
	per := pageSize - trailerSize
	for i := 0; i < np; i++ {
		p := out[i*pageSize : (i+1)*pageSize]
		end := min((i+1)*per, len(payload))
		copy(p, payload[i*per:end])
		sealPage(p, (firstPage+int64(i))*pageSize)
	}
	return out
}

// blobLen reads the length from the first page of a blob.
func blobLen(first []byte, magic string, off int64) (int, error) {
	switch checkPage(first, off) {
	case pageBlank:
		return 0, corruptf("page at %d is blank", off)
	case pageBad:
		return 0, corruptf("page at %d: checksum mismatch", off)
	}
	if string(first[:8]) != magic {
		return 0, corruptf("page at %d: magic %q, want %q", off, first[:8], magic)
	}
	if first[8] != FormatVersion {
		return 0, corruptf("page at %d: format version %d, want %d", off, first[8], FormatVersion)
	}
	n := int(binary.LittleEndian.Uint32(first[12:16]))
	if n > maxBlob {
		return 0, corruptf("page at %d: blob of %d bytes", off, n)
	}
	return n, nil
}

// decodeBlob checks the pages of a blob starting at off and returns it.
func decodeBlob(pages []byte, magic string, off int64) ([]byte, error) {
	if len(pages) < pageSize {
		return nil, corruptf("blob at %d: short read of %d bytes", off, len(pages))
	}
	n, err := blobLen(pages[:pageSize], magic, off)
	if err != nil {
		return nil, err
	}
	np := blobPages(n)
	if len(pages) < np*pageSize {
		return nil, corruptf("blob at %d: %d pages, want %d", off, len(pages)/pageSize, np)
	}
	per := pageSize - trailerSize
	payload := make([]byte, 0, np*per)
	for i := 0; i < np; i++ {
		p := pages[i*pageSize : (i+1)*pageSize]
		po := off + int64(i)*pageSize
		if checkPage(p, po) != pageOK {
			return nil, corruptf("page at %d: checksum mismatch", po)
		}
		payload = append(payload, p[:per]...)
	}
	return payload[blobPrefix : blobPrefix+n], nil
}

// archLayout is where one archive lives in a device file.
type archLayout struct {
	step        time.Duration
	steps       int64 // base steps per slot
	rows        int64
	cells       int // values per series per row: 1 (steps == 1) or 3 (min, avg, max)
	rowSize     int
	pageBytes   int // a multiple of pageSize
	rowsPerPage int64
	pages       int64 // in pageBytes units
	off         int64 // first byte
	col         []int // byte offset of each series in a row
}

// layout is the placement of everything in a device file; it is a pure
// function of the schema, so only the schema is stored.
type layout struct {
	schemaPages int
	stateOff    int64
	stateLen    int
	statePages  int
	arch        []archLayout
	size        int64
}

func seriesStateSize(nArch int) int { return 33 + 28*(nArch) }

func newLayout(s Schema, schemaLen int) layout {
	l := layout{schemaPages: blobPages(schemaLen)}
	base := s.Archives[0].Step
	l.stateOff = int64(l.schemaPages) * pageSize
	l.stateLen = 8 + len(s.Metrics)*seriesStateSize(len(s.Archives))
	l.statePages = blobPages(l.stateLen)
	off := l.stateOff + int64(l.statePages)*pageSize
	for _, a := range s.Archives {
		al := archLayout{step: a.Step, steps: int64(a.Step / base), rows: int64(a.Rows()), cells: 3}
		if al.steps == 1 {
			al.cells = 1
		}
		al.col = make([]int, len(s.Metrics))
		for j, m := range s.Metrics {
			al.col[j] = al.rowSize
			al.rowSize += al.cells * m.Encoding.width()
		}
		al.pageBytes = pageSize * ((al.rowSize + trailerSize + pageSize - 1) / pageSize)
		al.rowsPerPage = int64((al.pageBytes - trailerSize) / al.rowSize)
		al.pages = (al.rows + al.rowsPerPage - 1) / al.rowsPerPage
		al.off = off
		off += al.pages * int64(al.pageBytes)
		l.arch = append(l.arch, al)
	}
	l.size = off
	return l
}

// pageOf returns the byte offset of the page holding ring row r and the
// byte offset of the row inside that page.
func (a *archLayout) pageOf(r int64) (pageOff int64, rowOff int) {
	p := r / a.rowsPerPage
	return a.off + p*int64(a.pageBytes), int(r%a.rowsPerPage) * a.rowSize
}

// Value cells.

func putCell(b []byte, e Encoding, scale, v float64) {
	switch e {
	case Int16:
		x := int16(-32768)
		if !math.IsNaN(v) {
			f := math.Round(v / scale)
			x = int16(max(-32767, min(32767, f)))
		}
		binary.LittleEndian.PutUint16(b, uint16(x))
	case Uint32:
		x := uint32(math.MaxUint32)
		if !math.IsNaN(v) {
			f := math.Round(v / scale)
			x = uint32(max(0, min(math.MaxUint32-1, f)))
		}
		binary.LittleEndian.PutUint32(b, x)
	case Float32:
		x := uint32(0x7FC00000)
		if !math.IsNaN(v) {
			x = math.Float32bits(float32(v / scale))
		}
		binary.LittleEndian.PutUint32(b, x)
	case Float64:
		x := uint64(0x7FF8000000000001)
		if !math.IsNaN(v) {
			x = math.Float64bits(v / scale)
		}
		binary.LittleEndian.PutUint64(b, x)
	}
}

func getCell(b []byte, e Encoding, scale float64) float64 {
	switch e {
	case Int16:
		x := int16(binary.LittleEndian.Uint16(b))
		if x == -32768 {
			return math.NaN()
		}
		return float64(x) * scale
	case Uint32:
		x := binary.LittleEndian.Uint32(b)
		if x == math.MaxUint32 {
			return math.NaN()
		}
		return float64(x) * scale
	case Float32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) * scale
	case Float64:
		return math.Float64frombits(binary.LittleEndian.Uint64(b)) * scale
	}
	return math.NaN()
}

// blankPage fills a page (without trailer) with "no data" cells.
func blankPage(p []byte, a *archLayout, ms []Metric) {
	clear(p)
	for r := int64(0); r < a.rowsPerPage; r++ {
		row := p[int(r)*a.rowSize:]
		for j, m := range ms {
			w := m.Encoding.width()
			for c := 0; c < a.cells; c++ {
				putCell(row[a.col[j]+c*w:], m.Encoding, 1, math.NaN())
			}
		}
	}
}

// Schema blob.

func encodeSchema(device string, fileID uint64, s Schema) []byte {
	b := binary.LittleEndian.AppendUint64(nil, fileID)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(device)))
	b = append(b, device...)
	b = append(b, byte(len(s.Archives)))
	for _, a := range s.Archives {
		b = binary.LittleEndian.AppendUint64(b, uint64(a.Step))
		b = binary.LittleEndian.AppendUint64(b, uint64(a.Span))
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(s.Metrics)))
	for _, m := range s.Metrics {
		b = append(b, byte(len(m.Name)))
		b = append(b, m.Name...)
		b = append(b, byte(m.Kind), byte(m.Encoding))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(m.Scale))
		b = binary.LittleEndian.AppendUint64(b, uint64(m.Heartbeat))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(m.Max))
	}
	return b
}

// reader decodes little-endian fields, remembering the first short read.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) next(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.err = corruptf("field at offset %d: need %d bytes, have %d", r.off, n, len(r.b)-r.off)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8() uint8 {
	if p := r.next(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if p := r.next(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if p := r.next(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.next(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (r *reader) f64() float64 { return math.Float64frombits(r.u64()) }

func decodeSchema(b []byte) (device string, fileID uint64, s Schema, err error) {
	r := &reader{b: b}
	fileID = r.u64()
	device = string(r.next(int(r.u16())))
	na := int(r.u8())
	for i := 0; i < na && r.err == nil; i++ {
		s.Archives = append(s.Archives, Archive{Step: time.Duration(r.u64()), Span: time.Duration(r.u64())})
	}
	nm := int(r.u16())
	for i := 0; i < nm && r.err == nil; i++ {
		var m Metric
		m.Name = string(r.next(int(r.u8())))
		m.Kind = Kind(r.u8())
		m.Encoding = Encoding(r.u8())
		m.Scale = r.f64()
		m.Heartbeat = time.Duration(r.u64())
		m.Max = r.f64()
		s.Metrics = append(s.Metrics, m)
	}
	if r.err != nil {
		return "", 0, Schema{}, r.err
	}
	if r.off != len(b) {
		return "", 0, Schema{}, corruptf("schema: %d trailing bytes", len(b)-r.off)
	}
	n, err := s.normalize()
	if err != nil {
		return "", 0, Schema{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if !equalSchema(n, s) {
		return "", 0, Schema{}, corruptf("schema is not in normal form")
	}
	return device, fileID, s, nil
}
