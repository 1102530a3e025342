package timesrv

import "time"

// epoch1900 is the number of seconds from 1900-01-01T00:00:00Z, where RFC 868
// time starts, to 1970-01-01T00:00:00Z, where Unix time starts.
const epoch1900 = 2208988800

// Seconds returns t as RFC 868 time: whole seconds since 1900-01-01T00:00:00Z,
// modulo 2^32. The arithmetic is 64-bit and only the result is truncated, so
// the counter wraps to 0 at 2036-02-07T06:28:16Z and keeps counting from there
// (and a time before 1900 wraps the other way).
func Seconds(t time.Time) uint32 {
	return uint32(t.Unix() + epoch1900)
}

// Time returns the instant, in UTC, that the RFC 868 value v stands for: of
// all the instants 2^32 seconds (about 136 years) apart that share the value,
// the one nearest to near. With near set to a client's own rough idea of the
// time (its clock, or a build date), a value read in 2040 decodes to 2040, not
// to 1904.
func Time(v uint32, near time.Time) time.Time {
	// The difference mod 2^32, read as signed, is the shortest way from near to v.
	d := int64(int32(v - Seconds(near)))
	return time.Unix(near.Unix()+d, 0).UTC()
}
