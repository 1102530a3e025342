package dhcpdconf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"ip6m/store"
)

// Settings keys of ip6m's DHCP server (dhcp.Setting*; this package may not
// import dhcp, so a test checks that they agree).
const (
	SettingServerIPv4 = "server.ipv4"
	SettingTFTPIPv4   = "tftp.ipv4"
	SettingCMFile     = "dhcp.cm_file"
	SettingMTAFile    = "dhcp.mta_file"
	SettingPktcRealm  = "pktc.realm"
	SettingPktcProv   = "pktc.provisioner"

	defaultCMFile  = "cm/{mac}.cfg"
	defaultMTAFile = "mta/{mac}.bin"
)

// DefaultPlanName is the plan Import creates when Options.Plan is empty.
const DefaultPlanName = "Imported from dhcpd.conf"

// planConfig is the imported plan's DOCSIS config: network access and the
// plan's CPE limit, nothing else. The operator edits it (or imports with an
// existing plan) before modems depend on real service flows.
const planConfig = "Main { NetworkAccess 1; MaxCPE {{.MaxCPE}}; }"

// ErrInvalid is returned (wrapped) when the file has errors: nothing was
// written, and the Report lists them by file and line.
var ErrInvalid = errors.New("the file has errors")

// Options tune Import.
type Options struct {
	// DryRun checks and maps everything and writes nothing.
	DryRun bool
	// CMTS is the CMTS for networks that no shared-network or remote-id
	// class names; "" means "CMTS-1". It is created if missing.
	CMTS string
	// Plan is an existing plan for every imported modem; "" means create
	// DefaultPlanName (and one plan per CPE class with its own lease limit).
	Plan string
	// Actor is the audit log's actor; "" means "import".
	Actor string
}

// Import reads the dhcpd.conf at path (with its includes) into st. It maps
// and checks the whole file before writing anything; a file with errors
// writes nothing and returns an error wrapping ErrInvalid. Objects are
// written CMTSes, plans and networks first, then settings, modems, MTAs and
// CPEs, each in its own transaction: if the store refuses one, Import stops
// there and the Report says which object failed and what was written
// before it (a consistent subset: nothing refers to what is missing).
func Import(ctx context.Context, st *store.Store, path string, opts Options) (Report, error) {
	rep := &Report{File: path, DryRun: opts.DryRun}
	if opts.CMTS == "" {
		opts.CMTS = "CMTS-1"
	}
	if opts.Actor == "" {
		opts.Actor = "import"
	}
	stmts, err := ParseFile(path, ParseOptions{})
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			rep.Errors = append(rep.Errors, Note{Pos: pe.Pos, Count: 1, Text: pe.Msg})
			return rep.done(), fmt.Errorf("%s: %w", pe.Error(), ErrInvalid)
		}
		return rep.done(), err
	}
	inv, err := loadInventory(ctx, st)
	if err != nil {
		return rep.done(), err
	}
	b := mapStmts(rep, stmts, inv, opts)
	if len(rep.Errors) > 0 {
		slices.SortStableFunc(rep.Errors, func(a, b Note) int { return comparePos(a.Pos, b.Pos) })
		return rep.done(), fmt.Errorf("%s in %s (first: %s): %w", plural(len(rep.Errors), "error"), path, line(rep.Errors[0]), ErrInvalid)
	}
	if opts.DryRun {
		return rep.done(), nil
	}
	if err := b.write(ctx, st, opts.Actor, rep); err != nil {
		return rep.done(), err
	}
	return rep.done(), nil
}

// mapStmts maps a parsed file onto the inventory inv, adding errors and
// notes to rep; it reads and writes nothing else.
func mapStmts(rep *Report, stmts []*Stmt, inv *inventory, opts Options) *batch {
	w := newWalker(rep)
	w.walk(stmts, where{sc: w.global})
	m := &mapper{w: w, inv: inv, opts: opts, rep: rep, file: filepath.Base(rep.File)}
	b := m.run()
	rep.Errors = append(rep.Errors, w.errs...)
	return b
}

func newInventory() *inventory {
	return &inventory{cmts: map[string]store.CMTS{}, plans: map[string]store.Plan{}, nets: map[netip.Prefix]store.Network{},
		modems: map[string]store.ModemRow{}, mtas: map[string]store.MTA{}, cpes: map[string]store.CPE{},
		fixed: map[netip.Addr]string{}, settings: map[string]string{}}
}

func comparePos(a, b Pos) int {
	if c := strings.Compare(a.File, b.File); c != 0 {
		return c
	}
	return a.Line - b.Line
}

// inventory is what the store holds already.
type inventory struct {
	cmts     map[string]store.CMTS // by lower-case name
	plans    map[string]store.Plan
	nets     map[netip.Prefix]store.Network
	modems   map[string]store.ModemRow
	mtas     map[string]store.MTA
	cpes     map[string]store.CPE
	fixed    map[netip.Addr]string // fixed IPv4 → MAC of its device
	settings map[string]string
}

func loadInventory(ctx context.Context, st *store.Store) (*inventory, error) {
	inv := newInventory()
	cl, err := st.ListCMTS(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cl {
		inv.cmts[strings.ToLower(c.Name)] = c
	}
	pl, err := st.ListPlans(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range pl {
		inv.plans[strings.ToLower(p.Name)] = p
	}
	nl, err := st.ListNetworks(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, n := range nl {
		if p, err := netip.ParsePrefix(n.Prefix); err == nil {
			inv.nets[p] = n
		}
	}
	ml, _, err := st.ListModems(ctx, store.ModemFilter{}, store.Page{})
	if err != nil {
		return nil, err
	}
	addFixed := func(ip, mac string) {
		if a, err := netip.ParseAddr(ip); err == nil {
			inv.fixed[a] = mac
		}
	}
	for _, m := range ml {
		inv.modems[m.MAC] = m
		addFixed(m.FixedIPv4, m.MAC)
	}
	tl, _, err := st.ListMTAs(ctx, 0, store.Page{})
	if err != nil {
		return nil, err
	}
	for _, d := range tl {
		inv.mtas[d.MAC] = d
		addFixed(d.FixedIPv4, d.MAC)
	}
	cpl, _, err := st.ListCPEs(ctx, 0, store.Page{})
	if err != nil {
		return nil, err
	}
	for _, d := range cpl {
		inv.cpes[d.MAC] = d
		addFixed(d.FixedIPv4, d.MAC)
	}
	for _, k := range []string{SettingServerIPv4, SettingTFTPIPv4, SettingCMFile, SettingMTAFile, SettingPktcRealm, SettingPktcProv, SettingServerIPv6, SettingTFTPIPv6} {
		v, err := st.Setting(ctx, k, "")
		if err != nil {
			return nil, err
		}
		inv.settings[k] = v
	}
	return inv, nil
}

// batch is everything Import will write, in order.
type batch struct {
	cmts     []*store.CMTS
	plans    []*planItem
	nets     []*netItem
	settings []settingItem
	modems   []*modemItem
	mtas     []*mtaItem
	cpes     []*cpeItem
}

type planItem struct {
	p     store.Plan
	class string // the CPE class it stands for ("" for the default plan)
}

type netItem struct {
	n    store.Network
	cmts string
	pos  Pos
}

type settingItem struct {
	key, value string
	pos        Pos
}

type modemItem struct {
	m    store.Modem
	cmts string
	plan string
	pos  Pos
}

type mtaItem struct {
	d     store.MTA
	modem string
	pos   Pos
}

type cpeItem struct {
	d     store.CPE
	modem string
	pos   Pos
}

// write stores the batch, stopping at the first error.
func (b *batch) write(ctx context.Context, st *store.Store, actor string, rep *Report) error {
	cmtsID := map[string]int64{}
	cl, err := st.ListCMTS(ctx)
	if err != nil {
		return err
	}
	for _, c := range cl {
		cmtsID[strings.ToLower(c.Name)] = c.ID
	}
	planID := map[string]int64{}
	pl, err := st.ListPlans(ctx)
	if err != nil {
		return err
	}
	for _, p := range pl {
		planID[strings.ToLower(p.Name)] = p.ID
	}
	written := Counts{}
	fail := func(what string, pos Pos, err error) error {
		rep.Failed = fmt.Sprintf("%s (%s): %v", what, pos, err)
		rep.Written = written
		return fmt.Errorf("import stopped at %s (%s): %w", what, pos, err)
	}
	for _, c := range b.cmts {
		if err := st.CreateCMTS(ctx, actor, c); err != nil {
			return fail("CMTS "+c.Name, Pos{}, err)
		}
		cmtsID[strings.ToLower(c.Name)] = c.ID
		written.CMTS++
	}
	for _, p := range b.plans {
		if err := st.CreatePlan(ctx, actor, &p.p); err != nil {
			return fail("plan "+p.p.Name, Pos{}, err)
		}
		planID[strings.ToLower(p.p.Name)] = p.p.ID
		written.Plans++
	}
	for _, n := range b.nets {
		if n.cmts != "" {
			n.n.CMTSID = cmtsID[strings.ToLower(n.cmts)]
		}
		if err := st.CreateNetwork(ctx, actor, &n.n); err != nil {
			return fail("network "+n.n.Prefix, n.pos, err)
		}
		written.Networks++
	}
	for _, s := range b.settings {
		if err := st.SetSetting(ctx, actor, s.key, s.value); err != nil {
			return fail("setting "+s.key, s.pos, err)
		}
		written.Settings++
	}
	modemID := map[string]int64{}
	ml, _, err := st.ListModems(ctx, store.ModemFilter{}, store.Page{})
	if err != nil {
		return err
	}
	for _, m := range ml {
		modemID[m.MAC] = m.ID
	}
	// Devices go in chunks, each one transaction (one fsync) for up to
	// batchSize rows: a chunk is written whole or not at all.
	const batchSize = 2000
	for i := 0; i < len(b.modems); i += batchSize {
		chunk := b.modems[i:min(i+batchSize, len(b.modems))]
		var failed *modemItem
		err := st.InBatch(ctx, actor, func(bt *store.Batch) error {
			for _, m := range chunk {
				m.m.PlanID = planID[strings.ToLower(m.plan)]
				if m.cmts != "" {
					m.m.CMTSID = cmtsID[strings.ToLower(m.cmts)]
				}
				if err := bt.CreateModem(&m.m); err != nil {
					failed = m
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fail("modem "+failed.m.MAC, failed.pos, err)
		}
		for _, m := range chunk {
			modemID[m.m.MAC] = m.m.ID
		}
		written.Modems += len(chunk)
	}
	for i := 0; i < len(b.mtas); i += batchSize {
		chunk := b.mtas[i:min(i+batchSize, len(b.mtas))]
		var failed *mtaItem
		err := st.InBatch(ctx, actor, func(bt *store.Batch) error {
			for _, d := range chunk {
				d.d.ModemID = modemID[d.modem]
				if err := bt.CreateMTA(&d.d); err != nil {
					failed = d
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fail("MTA "+failed.d.MAC, failed.pos, err)
		}
		written.MTAs += len(chunk)
	}
	for i := 0; i < len(b.cpes); i += batchSize {
		chunk := b.cpes[i:min(i+batchSize, len(b.cpes))]
		var failed *cpeItem
		err := st.InBatch(ctx, actor, func(bt *store.Batch) error {
			for _, d := range chunk {
				d.d.ModemID = modemID[d.modem]
				if err := bt.CreateCPE(&d.d); err != nil {
					failed = d
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fail("CPE "+failed.d.MAC, failed.pos, err)
		}
		written.CPEs += len(chunk)
	}
	rep.Written = written
	return nil
}
