// Package tsdb is a fixed-size, crash-safe, ring-buffer time-series store
// that replaces RRDtool for ip6m's SNMP statistics.
//
// # Model
//
// A device (a cable modem, a CMTS) has a Schema: archives, shared by all
// its series, and metrics. A series is (device, metric). A metric is a
// GAUGE (stored as given) or a 32/64-bit COUNTER (stored as a rate per
// second). As in RRD, a sample at time t covers the interval since the
// previous sample of the series; that interval is spread over the base
// step slots (PDPs) it overlaps, time weighted. An interval longer than the
// metric's heartbeat (default two base steps), a NaN value, a counter reset
// (a decrease that is not a plausible wrap: the wrapped delta would exceed
// half the counter's range), a Sample.Reset, or a rate above Metric.Max is
// "no data" - never zero and never a spike. A PDP is known when at least
// half of its time is known. Each further archive consolidates Step/base
// PDPs into one slot holding MIN, AVERAGE and MAX of its known PDPs, and
// is no data when more than XFF (half) of them are unknown. The base
// archive keeps one value per slot (min = avg = max there).
//
// # Files
//
// The root folder holds one file per device, named after the device
// (bytes other than letters, digits, '-' and '_' are %XX-escaped) with
// the suffix ".tsdb", a "journal" and a "LOCK" file (flock). One file per
// device, rather than one per series, because its rows interleave the
// device's series: a flush of the 10 seed series of a modem after 5 minutes
// touches about 3 pages (one per archive row range, plus state) instead of
// about 25 with a file per series, and Open lists 10,000 files instead of
// 100,000. A file is allocated once (fallocate) at its full size and never
// grows; it holds, in 4 KiB pages:
//
//	pages 0..     schema: "IP6MTSDB", version byte (1), 3 zero bytes, u32
//	              length, then u64 file ID, u16+device name, u8 archives
//	              (i64 step ns, i64 span ns each), u16 metrics (u8+name,
//	              u8 kind, u8 encoding, f64 scale, i64 heartbeat ns, f64
//	              max each). Written once.
//	pages ..      state: "IP6MTSST", version, length, u64 flush count, then
//	              per series: i64 last sample ns, u64 last counter reading,
//	              u8 flags, i64 known ns and f64 sum of the current PDP, and
//	              per archive u32 known PDPs, f64 sum, min, max of the
//	              current slot. Rewritten at each flush.
//	per archive   a ring of rows: slot s (Unix time / step) is row s mod
//	              rows; a row holds, for each series in schema order, one
//	              value (base archive) or min, avg, max, in the metric's
//	              encoding. Rows do not cross pages. No timestamps: which
//	              slots are valid follows from the series' last sample time.
//
// Every page ends with a trailer: u32 page number (offset/4096) and u32
// CRC-32C of the page before the CRC. A page of zeros was never written
// (preallocated) and reads as no data. All integers are little-endian.
//
// Encodings (Metric.Encoding) are native widths with a no-data sentinel:
// Int16 (round(v/Scale), -32768 = no data; tenths of dBmV/dB with Scale
// 0.1), Uint32 (0xFFFFFFFF = no data; rates), Float32 and Float64 (NaN).
// Out-of-range values saturate. The seed's modem (in, out, corrected,
// uncorrected as Uint32 rates; 6 gauges as Int16 tenths) with the seed's
// archives (DefaultArchives: 10 s for 2 days, 2 min for 30 days, 30 min
// for 365 days) takes 3,833,856 bytes per modem with MIN/AVG/MAX.
//
// # Writes and crashes
//
// Samples only change memory: the consolidation state and the rows
// completed since the last flush. Flush (every Options.FlushInterval from
// Run, and at Close) builds the new image of each touched page (read,
// patch, CRC) and the state pages, and commits them in batches (about
// 8 MiB) through the journal: the images are written to "journal" and
// fdatasync'ed, then written in place with pwrite and each file
// fdatasync'ed (8 at a time), then the journal is cleared. Journal:
// "IP6MTSJR", version byte, flags byte (1 = records deflated), 2 zero
// bytes, u32 records, u64 total length, u64 records length before
// compression; records (u16+file name, u64 file ID, u64 offset, u32+page
// bytes), deflated at the fastest level; u32 CRC-32C of all before it. At
// Open a complete journal is replayed (a torn in-place write is redone,
// records for a file with another file ID or past its end are skipped)
// and a torn one is discarded and reported (ErrTornJournal): the files
// were not touched yet, so a crash loses at most the last flush interval
// and never older data. Damage found later (a bad page CRC, a short file,
// bad state) is reported through Options.OnDamage and by Check; damaged
// slots read as no data, a device whose state is lost restarts its
// series, and a file whose schema is unreadable is renamed *.damaged.
//
// Disk writes per modem and flush are about 3.4 pages in place (state,
// the 10 s and 2 min rows' pages, a 30 min page one flush in six) plus
// their deflated copy in the journal: with the seed's modem, polled every
// 10 s and flushed every 5 minutes, about 70 bytes a sample (40 at 10
// minutes), against about 950 for rrdtool with MIN/AVG/MAX RRAs in the
// same benchmark (BenchmarkWriteVolume, BenchmarkRRDWriteVolume). Device
// files are opened with POSIX_FADV_RANDOM: readahead would cache large
// folios that a 4 KiB write then dirties whole.
//
// A loaded device keeps its file open: 10,000 modems hold 10,000 file
// descriptors (Go raises the soft RLIMIT_NOFILE to the hard limit at
// start). Devices load lazily, at their first Define, Add or Query: Open
// only lists the folder and replays the journal.
//
// # Reads
//
// Query picks the finest archive whose ring reaches back to the start of
// the range (else the coarsest), and merges runs of slots, aligned to
// multiples of the run length, so that at most maxPoints points return
// (min of mins, mean of averages, max of maxes).
//
// # Time
//
// The library never reads the clock for data: sample times are passed
// in. Options.Now only times flushes for Stats, and Run uses a ticker.
package tsdb
