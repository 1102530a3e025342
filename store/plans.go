package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Plan is a service plan: the DOCSIS config template (the `docsis` tool's
// text syntax with per-modem variables), an optional MTA config template, and
// how many CPEs a modem on it may have.
type Plan struct {
	Meta
	Name        string
	Description string
	Config      string
	MTAConfig   string
	MaxCPE      int64
}

var planTable = &table[Plan]{
	entity: "plan",
	name:   "plans",
	cols:   []string{"name", "description", "config", "mta_config", "max_cpe"},
	meta:   func(p *Plan) *Meta { return &p.Meta },
	values: func(p *Plan) []any { return []any{p.Name, p.Description, p.Config, p.MTAConfig, p.MaxCPE} },
	dests:  func(p *Plan) []any { return []any{&p.Name, &p.Description, &p.Config, &p.MTAConfig, &p.MaxCPE} },
	validate: func(_ context.Context, _ *sql.Tx, p *Plan) error {
		v := newValidator("plan")
		v.required("name", &p.Name)
		v.maxLen("name", p.Name, 64)
		v.maxLen("description", p.Description, 1000)
		v.required("config", &p.Config)
		v.maxLen("config", p.Config, 256*1024)
		v.maxLen("mta_config", p.MTAConfig, 256*1024)
		v.intRange("max_cpe", p.MaxCPE, 0, 254)
		return v.err()
	},
	unique: map[string]string{"name": "name"},
	refs:   "modems or MTAs on this plan",
	afterWrite: func(ctx context.Context, tx *sql.Tx, actor string, at time.Time, p *Plan) error {
		return appendPlanVersion(ctx, tx, actor, "", at, p)
	},
}

func (s *Store) CreatePlan(ctx context.Context, actor string, p *Plan) error {
	return planTable.create(ctx, s, actor, p)
}
func (s *Store) UpdatePlan(ctx context.Context, actor string, p *Plan) error {
	return planTable.update(ctx, s, actor, p)
}
func (s *Store) DeletePlan(ctx context.Context, actor string, id int64) error {
	return planTable.remove(ctx, s, actor, id)
}
func (s *Store) GetPlan(ctx context.Context, id int64) (Plan, error) {
	return planTable.get(ctx, s.read, id)
}

// ListPlans returns every plan by name.
func (s *Store) ListPlans(ctx context.Context) ([]Plan, error) {
	return planTable.list(ctx, s.read, "", "name")
}

// PlanVersion is one saved state of a plan. Version 1 is the plan as
// created; every save that changes the plan appends the next one.
type PlanVersion struct {
	PlanID      int64
	Version     int64
	Name        string
	Description string
	Config      string
	MTAConfig   string
	MaxCPE      int64
	Actor       string
	// Note says why the version exists beyond an edit ("rollback to
	// version 3").
	Note string
	At   time.Time
}

// same reports whether v holds exactly what p holds.
func (v PlanVersion) same(p *Plan) bool {
	return v.Name == p.Name && v.Description == p.Description && v.Config == p.Config &&
		v.MTAConfig == p.MTAConfig && v.MaxCPE == p.MaxCPE
}

const planVersionCols = "plan_id, version, name, description, config, mta_config, max_cpe, actor, note, created_at"

func scanPlanVersion(sc scanner) (PlanVersion, error) {
	var v PlanVersion
	var at int64
	err := sc.Scan(&v.PlanID, &v.Version, &v.Name, &v.Description, &v.Config, &v.MTAConfig, &v.MaxCPE, &v.Actor, &v.Note, &at)
	v.At = unixUTC(at)
	return v, err
}

// appendPlanVersion writes p as its plan's next version unless it equals
// the latest one (a save that changed nothing is no new version).
func appendPlanVersion(ctx context.Context, tx *sql.Tx, actor, note string, at time.Time, p *Plan) error {
	last, err := scanPlanVersion(tx.QueryRowContext(ctx, "SELECT "+planVersionCols+" FROM plan_versions WHERE plan_id = ? ORDER BY version DESC LIMIT 1", p.ID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		last.Version = 0
	case err != nil:
		return fmt.Errorf("plan %d versions: %w", p.ID, err)
	case last.same(p):
		return nil
	}
	if actor == "" {
		actor = "system"
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO plan_versions("+planVersionCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		p.ID, last.Version+1, p.Name, p.Description, p.Config, p.MTAConfig, p.MaxCPE, actor, note, at.Unix())
	if err != nil {
		return fmt.Errorf("plan %d version %d: %w", p.ID, last.Version+1, err)
	}
	return nil
}

// PlanVersions lists a plan's versions, newest first.
func (s *Store) PlanVersions(ctx context.Context, planID int64) ([]PlanVersion, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+planVersionCols+" FROM plan_versions WHERE plan_id = ? ORDER BY version DESC", planID)
	if err != nil {
		return nil, fmt.Errorf("plan %d versions: %w", planID, err)
	}
	defer rows.Close()
	var out []PlanVersion
	for rows.Next() {
		v, err := scanPlanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("plan %d versions: %w", planID, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// PlanVersion returns one version of a plan.
func (s *Store) PlanVersion(ctx context.Context, planID, version int64) (PlanVersion, error) {
	v, err := scanPlanVersion(s.read.QueryRowContext(ctx, "SELECT "+planVersionCols+" FROM plan_versions WHERE plan_id = ? AND version = ?", planID, version))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("plan %d version %d: %w", planID, version, ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("plan %d version %d: %w", planID, version, err)
	}
	return v, nil
}

// RollbackPlan makes version the plan's current state again. The plan keeps
// its name; its description, templates and max-CPE come back from the
// version, validated like any save, and are recorded as a new version noted
// "rollback to version N" (history is never rewritten). Rolling back to a
// version equal to the current state changes nothing.
func (s *Store) RollbackPlan(ctx context.Context, actor string, planID, version int64) (Plan, error) {
	var p Plan
	err := s.inventoryTx(ctx, func(tx *sql.Tx) error {
		before, err := planTable.get(ctx, tx, planID)
		if err != nil {
			return err
		}
		v, err := scanPlanVersion(tx.QueryRowContext(ctx, "SELECT "+planVersionCols+" FROM plan_versions WHERE plan_id = ? AND version = ?", planID, version))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("plan %d version %d: %w", planID, version, ErrNotFound)
		}
		if err != nil {
			return err
		}
		p = before
		p.Description, p.Config, p.MTAConfig, p.MaxCPE = v.Description, v.Config, v.MTAConfig, v.MaxCPE
		if p == before {
			return nil
		}
		if err := planTable.validate(ctx, tx, &p); err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Second)
		_, err = tx.ExecContext(ctx, "UPDATE plans SET description = ?, config = ?, mta_config = ?, max_cpe = ?, updated_at = ? WHERE id = ?",
			p.Description, p.Config, p.MTAConfig, p.MaxCPE, now.Unix(), planID)
		if err != nil {
			return fmt.Errorf("roll back plan %d: %w", planID, err)
		}
		p.Updated = now
		if err := appendPlanVersion(ctx, tx, actor, fmt.Sprintf("rollback to version %d", version), now, &p); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "rollback", "plan", planID, &before, &p)
	})
	return p, err
}
