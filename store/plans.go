package store

import (
	"context"
	"database/sql"
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
