package tsdb_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"ip6m/tsdb"
)

// The seed's RRDBot modem: 4 counters stored as rates, 6 gauges in tenths.
func modemSchema() tsdb.Schema {
	gauge := func(name string) tsdb.Metric {
		return tsdb.Metric{Name: name, Kind: tsdb.Gauge, Encoding: tsdb.Int16, Scale: 0.1}
	}
	return tsdb.Schema{
		Archives: tsdb.DefaultArchives(),
		Metrics: []tsdb.Metric{
			{Name: "in", Kind: tsdb.Counter64, Encoding: tsdb.Uint32},
			{Name: "out", Kind: tsdb.Counter64, Encoding: tsdb.Uint32},
			{Name: "corrected", Kind: tsdb.Counter32, Encoding: tsdb.Uint32, Scale: 0.001},
			{Name: "uncorrected", Kind: tsdb.Counter32, Encoding: tsdb.Uint32, Scale: 0.001},
			gauge("dspwr"), gauge("uspwr"), gauge("dssnr"), gauge("microref"), gauge("usrcv"), gauge("ussnr"),
		},
	}
}

func Example() {
	dir, _ := os.MkdirTemp("", "tsdb-example")
	defer os.RemoveAll(dir)
	db, err := tsdb.Open(dir, tsdb.Options{FlushInterval: 5 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error)
	go func() { done <- db.Run(ctx) }() // flushes every 5 minutes

	const modem = "00:11:22:33:44:55"
	if err := db.Define(modem, modemSchema()); err != nil {
		fmt.Println(err)
		return
	}
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for i := range 30 { // 5 minutes of polls, 10 s apart
		t := start.Add(time.Duration(i) * 10 * time.Second)
		err := db.AddSamples(modem, t, []tsdb.Sample{
			{Metric: "in", Value: float64(i) * 125000}, // 12,500 bytes/s
			{Metric: "dspwr", Value: 2.5 + float64(i%3)/10},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	s, err := db.Query(modem, "in", start, start.Add(5*time.Minute), 5)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range s.Len() {
		fmt.Printf("%s %.0f B/s\n", s.Time(i).Format("15:04:05"), s.Avg[i])
	}
	s, _ = db.Query(modem, "dspwr", start, start.Add(5*time.Minute), 1)
	fmt.Printf("dspwr min %.1f avg %.2f max %.1f dBmV\n", s.Min[0], s.Avg[0], s.Max[0])

	stop()
	<-done
	if err := db.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 12:00:00 12500 B/s
	// 12:01:00 12500 B/s
	// 12:02:00 12500 B/s
	// 12:03:00 12500 B/s
	// 12:04:00 12500 B/s
	// dspwr min 2.5 avg 2.60 max 2.7 dBmV
}
