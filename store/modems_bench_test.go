package store

import (
	"context"
	"testing"
)

// BenchmarkListModemsSearch measures the modem list's searches on the
// 10,000-modem demo network (the UI's "well under 100 ms" budget).
func BenchmarkListModemsSearch(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b, Options{})
	fillDemo(b, s, DemoOptions{Modems: 10_000, Seed: 1})
	var fixed string
	if err := s.read.QueryRow(`SELECT fixed_ipv4 FROM modems WHERE fixed_ipv4 <> '' LIMIT 1`).Scan(&fixed); err != nil {
		b.Fatal(err)
	}
	var cpeMAC string
	if err := s.read.QueryRow(`SELECT mac FROM cpes ORDER BY id DESC LIMIT 1`).Scan(&cpeMAC); err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		f    ModemFilter
		page Page
	}{
		{"mac", ModemFilter{Query: "44-32-C8-21-09-E7"}, Page{Size: 50}},
		{"cpe-mac", ModemFilter{Query: cpeMAC}, Page{Size: 50}},
		{"partial-mac", ModemFilter{Query: "c8:41:8c"}, Page{Size: 50}},
		{"customer-name", ModemFilter{Query: "Kovács"}, Page{Size: 50}},
		{"account", ModemFilter{Query: "C105000"}, Page{Size: 50}},
		{"fixed-ipv4", ModemFilter{Query: fixed}, Page{Size: 50}},
		{"derived-ipv6", ModemFilter{Query: "2001:db8:4:11::4432:c821:9e7"}, Page{Size: 50}},
		{"first-page", ModemFilter{}, Page{Size: 50}},
		{"last-page", ModemFilter{}, Page{Offset: 9_950, Size: 50}},
		{"cmts-filter", ModemFilter{CMTSID: 1}, Page{Size: 50}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var total int
			for b.Loop() {
				rows, n, err := s.ListModems(ctx, tc.f, tc.page)
				if err != nil {
					b.Fatal(err)
				}
				if len(rows) == 0 {
					b.Fatalf("%+v found nothing", tc.f)
				}
				total = n
			}
			b.ReportMetric(float64(total), "matches")
		})
	}
}
