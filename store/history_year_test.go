package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkLeaseHistoryYear answers the abuse desk's questions over one
// simulated year of lease history for a 10,000-modem network, and reports
// the database's size. The year is built once per run (about a minute;
// IP6M_HISTORY_DB=FILE keeps and reuses it, IP6M_HISTORY_MODEMS=N changes
// the size): each modem reboots weekly (its CM, MTA and eRouter v6
// bindings get new sessions), each of its two CPEs goes away for the night
// and gets a new session every day, from a shared CPE pool, so an address
// has many holders over the year. Hourly renewals of the seed's two-hour
// leases fold into their session's row, and its expiry closes it, as the
// committer writes them.
//
//	go test ./store/ -run XXX -bench LeaseHistoryYear -benchtime 2000x
func BenchmarkLeaseHistoryYear(b *testing.B) {
	modems := 10000
	if n, err := strconv.Atoi(os.Getenv("IP6M_HISTORY_MODEMS")); err == nil && n > 0 {
		modems = n
	}
	path := os.Getenv("IP6M_HISTORY_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), FileName)
	}
	ctx := context.Background()
	st, err := OpenFile(ctx, path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var rows int
	st.read.QueryRow("SELECT COUNT(*) FROM lease_history").Scan(&rows)
	if rows == 0 {
		start := time.Now()
		if rows, err = fillHistoryYear(ctx, st, modems); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %d history rows for %d modems in %v", rows, modems, time.Since(start).Round(time.Second))
	}
	st.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}

	year := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(7, 7))
	queries := []struct {
		name string
		q    func() HistoryQuery
	}{
		{"cpe-ip-at-time", func() HistoryQuery {
			return HistoryQuery{Address: cpeAddr(rng.IntN(cpePool(modems))), At: year.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))}
		}},
		{"cpe-ip-whole-year", func() HistoryQuery { return HistoryQuery{Address: cpeAddr(rng.IntN(cpePool(modems))), Limit: 10000} }},
		{"pd-prefix-at-time", func() HistoryQuery {
			return HistoryQuery{Address: pdAddr(rng.IntN(modems)), At: year.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))}
		}},
		{"modem-mac-whole-year", func() HistoryQuery { return HistoryQuery{MAC: histModemMAC(rng.IntN(modems)), Limit: 10000} }},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			found := 0
			for b.Loop() {
				h, err := st.LeaseHistory(ctx, q.q())
				if err != nil {
					b.Fatal(err)
				}
				found += len(h)
			}
			b.ReportMetric(float64(found)/float64(b.N), "rows/op")
			b.ReportMetric(float64(fi.Size())/(1<<20), "db-MiB")
			b.ReportMetric(float64(rows), "history-rows")
		})
	}
}

func cpePool(modems int) int { return modems * 5 / 2 } // 2 CPEs per modem, 25 % spare

func cpeAddr(i int) string { return fmt.Sprintf("100.%d.%d.%d", 64+i>>16, i>>8&255, i&255) }
func cmAddr(i int) string  { return fmt.Sprintf("10.%d.%d.%d", 10+i>>16, i>>8&255, i&255) }
func mtaAddr(i int) string { return fmt.Sprintf("10.%d.%d.%d", 100+i>>16, i>>8&255, i&255) }
func pdAddr(i int) string  { return fmt.Sprintf("2001:db8:%x:%x00::", 0x100+i>>8, i&255) }
func cm6Addr(i int) string { return fmt.Sprintf("2001:db8:4:11::%x:%x", i>>16, i&0xffff) }
func histModemMAC(i int) string {
	return fmt.Sprintf("44:32:c8:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255)
}

// fillHistoryYear writes the simulated year straight into lease_history
// with the committer's columns, in large transactions.
func fillHistoryYear(ctx context.Context, st *Store, modems int) (int, error) {
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	const yearSec = 365 * 24 * 3600
	rng := rand.New(rand.NewPCG(1, 2))
	tx, err := st.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	ins, err := tx.Prepare(`INSERT INTO lease_history(at, event, family, type, address, prefix_len, mac, client_id, iaid, kind,
		modem_id, modem_mac, customer_id, relay, remote_id, circuit_id, starts, ends, renewals, ended) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	rows := 0
	session := func(family int, typ, addr string, plen int, mac, kind, modemMAC string, cust int64, relay string, starts, ends int64) error {
		renewals := (ends - starts) / 3600
		_, err := ins.Exec(ends, EventGrant, family, typ, addr, plen, mac, nil, nil, kind, nil, modemMAC, cust, relay, nil, nil, starts, ends, renewals, EventExpire)
		rows++
		return err
	}
	for i := range modems {
		mac := histModemMAC(i)
		cust := int64(i + 1)
		relay := fmt.Sprintf("10.10.%d.1", i%8)
		// Weekly reboots: the CM's, MTA's and eRouter's sessions.
		t := year
		for t < year+yearSec {
			next := t + 7*24*3600 + rng.Int64N(24*3600) - 12*3600
			end := min(next, year+yearSec)
			for _, s := range []struct {
				family    int
				typ, addr string
				plen      int
				mac, kind string
			}{
				{4, "na", cmAddr(i), 32, mac, KindCM},
				{4, "na", mtaAddr(i), 32, fmt.Sprintf("44:32:c9:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255), KindMTA},
				{6, "na", cm6Addr(i), 128, mac, KindCM},
				{6, "pd", pdAddr(i), 56, fmt.Sprintf("02:32:c8:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255), KindCPE},
			} {
				if err := session(s.family, s.typ, s.addr, s.plen, s.mac, s.kind, mac, cust, relay, t+60, end); err != nil {
					return 0, err
				}
			}
			t = next
		}
		// Two CPEs, a session a day each from the shared pool.
		for c := range 2 {
			cpe := fmt.Sprintf("02:%02x:%02x:%02x:%02x:00", c, i>>16&255, i>>8&255, i&255)
			for d := int64(0); d < 365; d++ {
				on := year + d*24*3600 + 7*3600 + rng.Int64N(3*3600)
				off := on + 12*3600 + rng.Int64N(6*3600)
				if err := session(4, "na", cpeAddr(rng.IntN(cpePool(modems))), 32, cpe, KindCPE, mac, cust, relay, on, off); err != nil {
					return 0, err
				}
			}
		}
		if i%500 == 499 {
			if err := tx.Commit(); err != nil {
				return 0, err
			}
			if tx, err = st.write.BeginTx(ctx, nil); err != nil {
				return 0, err
			}
			if ins, err = tx.Prepare(`INSERT INTO lease_history(at, event, family, type, address, prefix_len, mac, client_id, iaid, kind,
				modem_id, modem_mac, customer_id, relay, remote_id, circuit_id, starts, ends, renewals, ended) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
				return 0, err
			}
		}
	}
	return rows, tx.Commit()
}
