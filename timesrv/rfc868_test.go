package timesrv

import (
	"testing"
	"time"
)

// rfc868Case is an instant and the RFC 868 value for it, worked out by hand
// (seconds since 1970 from `date -u +%s`, plus 2208988800, modulo 2^32).
type rfc868Case struct {
	name string
	at   time.Time
	want uint32
}

func rfc868Cases() []rfc868Case {
	return []rfc868Case{
		{"1900 epoch", date(1900, 1, 1, 0, 0, 0), 0},
		{"unix epoch 1970-01-01", date(1970, 1, 1, 0, 0, 0), 2208988800},
		{"2026-12-04", date(2026, 12, 4, 21, 37, 0), 4005409020},
		{"2036 rollover minus 1s", date(2036, 2, 7, 6, 28, 15), 4294967295},
		{"2036 rollover", date(2036, 2, 7, 6, 28, 16), 0},
		{"2036 rollover plus 1s", date(2036, 2, 7, 6, 28, 17), 1},
		{"2100-01-01", date(2100, 1, 1, 0, 0, 0), 2016466304},
	}
}

func date(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

func TestSeconds(t *testing.T) {
	cases := append(rfc868Cases(),
		rfc868Case{"last nanosecond before the rollover", time.Date(2036, 2, 7, 6, 28, 15, 999999999, time.UTC), 4294967295},
		rfc868Case{"second before 1900", date(1899, 12, 31, 23, 59, 59), 4294967295},
		rfc868Case{"same instant in another zone", date(2026, 12, 4, 21, 37, 0).In(time.FixedZone("UTC-5", -5*3600)), 4005409020},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Seconds(tc.at); got != tc.want {
				t.Errorf("Seconds(%v) = %d, want %d", tc.at, got, tc.want)
			}
		})
	}
}

func TestTime(t *testing.T) {
	for _, tc := range rfc868Cases() {
		t.Run(tc.name, func(t *testing.T) {
			// Any clock within 68 years of the instant decodes it back.
			for _, off := range []time.Duration{0, -60 * 365 * 24 * time.Hour, 60 * 365 * 24 * time.Hour, time.Hour} {
				near := tc.at.Add(off)
				if got := Time(tc.want, near); !got.Equal(tc.at) {
					t.Errorf("Time(%d, %v) = %v, want %v", tc.want, near, got, tc.at)
				}
			}
		})
	}
	// The same value means different instants in different eras.
	for _, tc := range []struct {
		v          uint32
		near, want time.Time
	}{
		{0, date(1950, 1, 1, 0, 0, 0), date(1900, 1, 1, 0, 0, 0)},
		{0, date(2030, 1, 1, 0, 0, 0), date(2036, 2, 7, 6, 28, 16)},
		{1, date(2036, 2, 7, 6, 28, 15), date(2036, 2, 7, 6, 28, 17)},
		{4294967295, date(2036, 2, 7, 6, 28, 17), date(2036, 2, 7, 6, 28, 15)},
		{2016466304, date(2080, 1, 1, 0, 0, 0), date(2100, 1, 1, 0, 0, 0)},
		{2016466304, date(1990, 1, 1, 0, 0, 0), date(1963, 11, 25, 17, 31, 44)},
	} {
		if got := Time(tc.v, tc.near); !got.Equal(tc.want) {
			t.Errorf("Time(%d, %v) = %v, want %v", tc.v, tc.near, got, tc.want)
		}
	}
}

func BenchmarkSeconds(b *testing.B) {
	t := date(2026, 12, 4, 21, 37, 0)
	var sink uint32
	for b.Loop() {
		sink += Seconds(t)
	}
	_ = sink
}
