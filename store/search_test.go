package store

import (
	"context"
	"errors"
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

// TestInBatch: a batch's creates commit together, or none does.
func TestInBatch(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	p := Plan{Name: "P", Config: "Main { NetworkAccess 1; }"}
	if err := s.CreatePlan(ctx, "t", &p); err != nil {
		t.Fatal(err)
	}
	err := s.InBatch(ctx, "t", func(b *Batch) error {
		for i := range 3 {
			if err := b.CreateModem(&Modem{MAC: FormatMAC([6]byte{0, 0, 0xca, 0, 0, byte(i)}), PlanID: p.ID, Enabled: true}); err != nil {
				return err
			}
		}
		return b.CreateModem(&Modem{MAC: "bad", PlanID: p.ID})
	})
	var verr *ValidationError
	if !errors.As(err, &verr) || verr.Fields["mac"] == "" {
		t.Fatalf("a bad row in a batch: %v", err)
	}
	if c, _ := s.Count(ctx); c.Modems != 0 {
		t.Fatalf("%d modems after a failed batch, want none", c.Modems)
	}
	if err := s.InBatch(ctx, "t", func(b *Batch) error {
		m := Modem{MAC: "00:00:ca:00:00:09", PlanID: p.ID, Enabled: true}
		if err := b.CreateModem(&m); err != nil {
			return err
		}
		return b.CreateMTA(&MTA{MAC: "00:00:ca:00:00:0a", ModemID: m.ID})
	}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Count(ctx); c.Modems != 1 || c.MTAs != 1 {
		t.Fatalf("after a good batch: %+v", c)
	}
}
