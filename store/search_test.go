package store

import (
	"context"
	"testing"
)

// TestSearchWithFilters: a search by address still honours the list's
// other filters (the filters' arguments come first in the query).
func TestSearchWithFilters(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	if _, err := s.FillDemo(ctx, DemoOptions{Modems: 200, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	all, _, err := s.ListModems(ctx, ModemFilter{}, Page{})
	if err != nil {
		t.Fatal(err)
	}
	var m ModemRow
	for _, r := range all {
		if r.FixedIPv4 != "" {
			m = r
			break
		}
	}
	if m.ID == 0 {
		t.Fatal("the demo has no modem with a fixed IPv4")
	}
	yes, no := true, false
	tests := []struct {
		name string
		f    ModemFilter
		want int
	}{
		{"address alone", ModemFilter{Query: m.FixedIPv4}, 1},
		{"address and its CMTS", ModemFilter{Query: m.FixedIPv4, CMTSID: m.CMTSID}, 1},
		{"address and another CMTS", ModemFilter{Query: m.FixedIPv4, CMTSID: m.CMTSID%3 + 1}, 0},
		{"address, plan and state", ModemFilter{Query: m.FixedIPv4, PlanID: m.PlanID, Enabled: &m.Enabled}, 1},
		{"address and the other state", ModemFilter{Query: m.FixedIPv4, Enabled: map[bool]*bool{true: &no, false: &yes}[m.Enabled]}, 0},
		{"MAC and its CMTS", ModemFilter{Query: m.MAC, CMTSID: m.CMTSID}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, total, err := s.ListModems(ctx, tc.f, Page{Size: 10})
			if err != nil || total != tc.want {
				t.Fatalf("ListModems(%+v) total %d, %v; want %d", tc.f, total, err, tc.want)
			}
		})
	}
}
