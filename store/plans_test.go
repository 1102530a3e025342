package store

import (
	"context"
	"errors"
	"testing"
)

func TestPlanVersions(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	p := Plan{Name: "Gold", Config: "Main { NetworkAccess 1; }", MaxCPE: 2}
	if err := s.CreatePlan(ctx, "alice", &p); err != nil {
		t.Fatal(err)
	}
	// A save that changes nothing is no new version.
	if err := s.UpdatePlan(ctx, "bob", &p); err != nil {
		t.Fatal(err)
	}
	p.Config = "Main { NetworkAccess 1; MaxCPE 4; }"
	p.MaxCPE = 4
	if err := s.UpdatePlan(ctx, "bob", &p); err != nil {
		t.Fatal(err)
	}
	vs, err := s.PlanVersions(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 {
		t.Fatalf("versions = %+v, want 2 then 1", vs)
	}
	if vs[0].Actor != "bob" || vs[1].Actor != "alice" || vs[1].MaxCPE != 2 || vs[0].Config != p.Config {
		t.Errorf("versions hold %+v", vs)
	}

	got, err := s.RollbackPlan(ctx, "carol", p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config != "Main { NetworkAccess 1; }" || got.MaxCPE != 2 || got.Name != "Gold" {
		t.Errorf("after rollback the plan is %+v", got)
	}
	cur, _ := s.GetPlan(ctx, p.ID)
	if cur.Config != got.Config || cur.MaxCPE != 2 {
		t.Errorf("stored plan after rollback = %+v", cur)
	}
	v3, err := s.PlanVersion(ctx, p.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if v3.Note != "rollback to version 1" || v3.Actor != "carol" || v3.Config != got.Config {
		t.Errorf("version 3 = %+v", v3)
	}
	// Rolling back to what the plan already is adds nothing.
	if _, err := s.RollbackPlan(ctx, "carol", p.ID, 3); err != nil {
		t.Fatal(err)
	}
	if vs, _ := s.PlanVersions(ctx, p.ID); len(vs) != 3 {
		t.Errorf("a no-op rollback made %d versions, want 3", len(vs))
	}
	audit, err := s.ListAudit(ctx, "plan", p.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var rollbacks int
	for _, e := range audit {
		if e.Action == "rollback" {
			rollbacks++
		}
	}
	if rollbacks != 1 {
		t.Errorf("audit has %d rollback entries, want 1", rollbacks)
	}

	if _, err := s.RollbackPlan(ctx, "carol", p.ID, 9); !errors.Is(err, ErrNotFound) {
		t.Errorf("rollback to a missing version: %v, want ErrNotFound", err)
	}
	if _, err := s.PlanVersion(ctx, p.ID, 9); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing version: %v, want ErrNotFound", err)
	}
	// Versions go with their plan.
	if err := s.DeletePlan(ctx, "carol", p.ID); err != nil {
		t.Fatal(err)
	}
	if vs, _ := s.PlanVersions(ctx, p.ID); len(vs) != 0 {
		t.Errorf("%d versions outlived their plan", len(vs))
	}
}

// A database from before versions began gets each plan as its version 1.
func TestPlanVersionsMigration(t *testing.T) {
	ctx := context.Background()
	path := tempDBPath(t)
	old, err := openFile(ctx, path, Options{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.write.ExecContext(ctx, `INSERT INTO plans(id, name, config, max_cpe, created_at, updated_at) VALUES (7, 'Basic', 'Main { }', 3, 1, 1700000000)`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s, err := OpenFile(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.PlanVersion(ctx, 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v.Config != "Main { }" || v.MaxCPE != 3 || v.Actor != "migration" || v.At.Unix() != 1700000000 {
		t.Errorf("migrated version = %+v", v)
	}
}
