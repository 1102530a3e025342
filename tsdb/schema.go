package tsdb

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Kind says how the values given to Add are turned into stored values.
type Kind uint8

const (
	// Gauge values are stored as given (a power level, an SNR).
	Gauge Kind = 1
	// Counter32 readings are 32-bit counters stored as a rate per second;
	// a decrease is a wrap if it is plausible, else a reset (no data).
	Counter32 Kind = 2
	// Counter64 readings are 64-bit counters stored as a rate per second.
	Counter64 Kind = 3
)

func (k Kind) String() string {
	switch k {
	case Gauge:
		return "GAUGE"
	case Counter32:
		return "COUNTER32"
	case Counter64:
		return "COUNTER64"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (k Kind) counter() bool { return k == Counter32 || k == Counter64 }

// Encoding is the width and type of one stored value. Each has a
// "no data" sentinel, so a missed poll is never stored as zero.
type Encoding uint8

const (
	// Int16 stores round(v/Scale) in a signed 16-bit integer, e.g. dBmV in
	// tenths (Scale 0.1). -32768 means no data; values saturate at ±32767.
	Int16 Encoding = 1
	// Uint32 stores round(v/Scale) in an unsigned 32-bit integer, e.g. a
	// rate in bytes/s. 0xFFFFFFFF means no data; values saturate.
	Uint32 Encoding = 2
	// Float32 stores v/Scale as an IEEE float32; NaN means no data.
	Float32 Encoding = 3
	// Float64 stores v/Scale as an IEEE float64; NaN means no data.
	Float64 Encoding = 4
)

func (e Encoding) String() string {
	switch e {
	case Int16:
		return "int16"
	case Uint32:
		return "uint32"
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("Encoding(%d)", uint8(e))
}

// width is the number of bytes of one stored value.
func (e Encoding) width() int {
	switch e {
	case Int16:
		return 2
	case Uint32, Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

// Archive is one ring of consolidated slots: each slot covers Step and the
// ring keeps Span of them (Span/Step slots). Steps are whole seconds and
// every archive's Step is a multiple of the first (the base step).
type Archive struct {
	Step time.Duration
	Span time.Duration
}

// Rows is the number of slots in the ring.
func (a Archive) Rows() int { return int(a.Span / a.Step) }

// Metric describes one series of a device.
type Metric struct {
	Name     string
	Kind     Kind
	Encoding Encoding
	// Scale is the value of one stored unit: 0.1 stores tenths. Zero means 1.
	Scale float64
	// Heartbeat is the longest time between two samples that still counts
	// as data; a longer gap is no data. Zero means twice the base step.
	Heartbeat time.Duration
	// Max, if positive, is the largest plausible value (for a counter, rate
	// per second); anything above is stored as no data, as RRD's max does.
	Max float64
}

// Schema is the layout of one device: its archives (shared by all its
// series, as a row of a ring holds every series) and its metrics.
type Schema struct {
	Archives []Archive
	Metrics  []Metric
}

// XFF is the largest share of a consolidated slot that may be unknown for
// the slot to still be known, as RRD's xfiles factor. A base-step slot (a
// PDP) is known when at least half of its time is covered by data.
const XFF = 0.5

// DefaultArchives returns the seed's RRDBot archives, "6/minute * 2 days,
// 30/hour * 1 month, 2/hour * 1 year": 10 s for 2 days, 2 min for 30 days
// and 30 min for 365 days.
func DefaultArchives() []Archive {
	return []Archive{
		{Step: 10 * time.Second, Span: 48 * time.Hour},
		{Step: 2 * time.Minute, Span: 30 * 24 * time.Hour},
		{Step: 30 * time.Minute, Span: 365 * 24 * time.Hour},
	}
}

const (
	maxArchives   = 16
	maxMetrics    = 4096
	maxNameLen    = 255
	maxRows       = 1 << 26
	maxDeviceName = 80
	maxFileSize   = 64 << 20 // a clearRings flush of it must fit in one journal commit
)

// ErrSchema is wrapped by errors about an invalid Schema.
var ErrSchema = errors.New("invalid schema")

// normalize fills defaults and validates s. It returns a copy.
func (s Schema) normalize() (Schema, error) {
	bad := func(format string, a ...any) (Schema, error) {
		return Schema{}, fmt.Errorf("%w: %s", ErrSchema, fmt.Sprintf(format, a...))
	}
	if len(s.Archives) == 0 || len(s.Archives) > maxArchives {
		return bad("%d archives, want 1 to %d", len(s.Archives), maxArchives)
	}
	if len(s.Metrics) == 0 || len(s.Metrics) > maxMetrics {
		return bad("%d metrics, want 1 to %d", len(s.Metrics), maxMetrics)
	}
	out := Schema{
		Archives: append([]Archive(nil), s.Archives...),
		Metrics:  append([]Metric(nil), s.Metrics...),
	}
	base := out.Archives[0].Step
	for i, a := range out.Archives {
		if a.Step < time.Second || a.Step%time.Second != 0 {
			return bad("archive %d: step %v is not a whole number of seconds", i, a.Step)
		}
		if a.Step%base != 0 {
			return bad("archive %d: step %v is not a multiple of the base step %v", i, a.Step, base)
		}
		if a.Span < a.Step || a.Span%a.Step != 0 {
			return bad("archive %d: span %v is not a multiple of step %v", i, a.Span, a.Step)
		}
		if a.Rows() > maxRows {
			return bad("archive %d: %d rows, at most %d", i, a.Rows(), maxRows)
		}
		if i > 0 && a.Step < out.Archives[i-1].Step {
			return bad("archive %d: step %v is finer than the archive before it", i, a.Step)
		}
	}
	rowBytes := 0
	for _, m := range out.Metrics {
		rowBytes += 3 * m.Encoding.width()
	}
	total := int64(0)
	for _, a := range out.Archives {
		total += int64(a.Rows()) * int64(rowBytes+trailerSize)
	}
	if total > maxFileSize {
		return bad("%d bytes a device, at most %d", total, int64(maxFileSize))
	}
	seen := make(map[string]bool, len(out.Metrics))
	for i := range out.Metrics {
		m := &out.Metrics[i]
		if m.Name == "" || len(m.Name) > maxNameLen {
			return bad("metric %d: name %q is empty or longer than %d bytes", i, m.Name, maxNameLen)
		}
		if seen[m.Name] {
			return bad("metric %q defined twice", m.Name)
		}
		seen[m.Name] = true
		if m.Kind != Gauge && !m.Kind.counter() {
			return bad("metric %q: unknown kind %d", m.Name, m.Kind)
		}
		if m.Encoding.width() == 0 {
			return bad("metric %q: unknown encoding %d", m.Name, m.Encoding)
		}
		if m.Scale == 0 {
			m.Scale = 1
		}
		if !(m.Scale > 0) || math.IsInf(m.Scale, 0) {
			return bad("metric %q: scale %v", m.Name, m.Scale)
		}
		if m.Heartbeat == 0 {
			m.Heartbeat = 2 * base
		}
		if m.Heartbeat < 0 {
			return bad("metric %q: heartbeat %v", m.Name, m.Heartbeat)
		}
		if m.Max < 0 || math.IsNaN(m.Max) {
			return bad("metric %q: max %v", m.Name, m.Max)
		}
	}
	return out, nil
}

// equalArchives reports whether two normalized schemas have the same rings.
func equalArchives(a, b []Archive) bool {
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

// equalSchema reports whether two normalized schemas are identical.
func equalSchema(a, b Schema) bool {
	if !equalArchives(a.Archives, b.Archives) || len(a.Metrics) != len(b.Metrics) {
		return false
	}
	for i := range a.Metrics {
		if a.Metrics[i] != b.Metrics[i] {
			return false
		}
	}
	return true
}

// sameStorage reports whether a series stored as a can be copied as b.
func sameStorage(a, b Metric) bool {
	return a.Name == b.Name && a.Kind == b.Kind && a.Encoding == b.Encoding && a.Scale == b.Scale
}
