package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
)

//go:embed demo/*.conf
var demoFiles embed.FS

// ErrNotEmpty is returned by FillDemo for a database that already holds an
// inventory: the demo never mixes with real data.
var ErrNotEmpty = errors.New("demo: the database already holds an inventory; use an empty data folder")

// DemoOptions size the demo network.
type DemoOptions struct {
	Modems int   // number of cable modems; 0 means DefaultDemoModems
	Seed   int64 // same seed, same network
}

// DefaultDemoModems is the demo network's size when none is asked for.
const DefaultDemoModems = 300

// DemoResult says what FillDemo created.
type DemoResult struct {
	CMTS, Networks, Plans, Customers, Modems, MTAs, CPEs int
}

// demoVendor is a cable modem maker: its OUI and the models it sells here.
type demoVendor struct {
	name   string
	oui    [3]byte
	models []string
	mta    bool // the models have an embedded MTA
}

var demoVendors = []demoVendor{
	{"Technicolor", [3]byte{0x44, 0x32, 0xc8}, []string{"TC7200", "TC4400"}, true},
	{"Cisco", [3]byte{0x00, 0x1e, 0x6b}, []string{"EPC3208", "EPC3925"}, true},
	{"Scientific Atlanta", [3]byte{0x00, 0x11, 0xe6}, []string{"DPC2100", "EPC2203"}, true},
	{"ARRIS", [3]byte{0x00, 0x00, 0xca}, []string{"TM822", "SB6183", "CM8200"}, false},
	{"Hitron", [3]byte{0x0c, 0xee, 0xe6}, []string{"CGNV4", "CODA-4582"}, false},
	{"Compal", [3]byte{0x90, 0x6e, 0xbb}, []string{"CH7465LG"}, false},
}

// The seed's modems come first, as its dhcpd.conf lists them.
var demoSeedModems = []struct {
	mac    string
	vendor int
	mta    bool
}{
	{"44:32:c8:21:09:e7", 0, true},
	{"44:32:c8:41:8c:67", 0, true},
	{"00:1e:6b:e6:b4:a5", 1, true},
	{"0c:ee:e6:e5:35:2c", 4, true},
	{"90:6e:bb:54:f0:d0", 5, false},
	{"00:11:e6:f2:2c:94", 2, true},
}

var (
	demoFirst = []string{"Anna", "Béla", "Clara", "Dávid", "Eszter", "Ferenc", "Gabriella", "Hanna", "István", "Judit",
		"Kata", "László", "Márta", "Norbert", "Orsolya", "Péter", "Réka", "Sándor", "Tamás", "Zsófia", "Thomas", "Maria", "John", "Eva"}
	demoLast = []string{"Kovács", "Szabó", "Tóth", "Nagy", "Horváth", "Varga", "Kiss", "Molnár", "Németh", "Farkas",
		"Balogh", "Papp", "Lakatos", "Takács", "Juhász", "Mészáros", "Oláh", "Simon", "Rácz", "Fekete"}
	demoStreets = []string{"Fő utca", "Petőfi utca", "Kossuth tér", "Rákóczi út", "Ady Endre utca", "Dózsa György út", "Széchenyi sor", "Arany János utca"}
)

// FillDemo fills an empty database with a deterministic, realistic demo
// network modelled on the seed: three CMTSes with CM, MTA and CPE networks
// (v4 and v6, with prefix delegation), three plans, customers, modems from
// real vendor OUIs, their MTAs and some registered CPEs. It refuses a
// database that already has modems.
func (s *Store) FillDemo(ctx context.Context, opts DemoOptions) (DemoResult, error) {
	n := opts.Modems
	if n == 0 {
		n = DefaultDemoModems
	}
	if n < 0 || n > 200_000 {
		return DemoResult{}, fmt.Errorf("demo: modems must be between 1 and 200000, not %d", n)
	}
	var res DemoResult
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x1b6d))
	codes := rand.New(rand.NewPCG(uint64(opts.Seed), 0xc0de)) // registration codes, apart so the rest stays as it was
	err := s.inventoryTx(ctx, func(tx *sql.Tx) error {
		var existing int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM modems) + (SELECT COUNT(*) FROM cmts)`).Scan(&existing); err != nil {
			return err
		}
		if existing > 0 {
			return ErrNotEmpty
		}
		now := s.unixNow()
		ins := func(q string, args ...any) (int64, error) {
			var id int64
			err := tx.QueryRowContext(ctx, q+" RETURNING id", args...).Scan(&id)
			return id, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES
			('server.ipv4', '10.0.0.10'), ('server.ipv6', '2001:db8::10'), ('demo', '1'), ('portal.plan', 'Residential 100/20')
			ON CONFLICT(key) DO NOTHING`); err != nil {
			return err
		}
		// The server's own networks (the seed's "minimal subnet declaration").
		if _, err := tx.ExecContext(ctx, `INSERT INTO networks(cmts_id, name, family, prefix, purpose, gateway, created_at, updated_at)
			VALUES (NULL, 'Headend LAN', 4, '10.0.0.0/24', 'server', '10.0.0.1', ?, ?)`, now, now); err != nil {
			return err
		}
		srv6, err := ins(`INSERT INTO networks(cmts_id, name, family, prefix, purpose, created_at, updated_at)
			VALUES (NULL, 'Headend LAN v6', 6, '2001:db8::/64', 'server', ?, ?)`, now, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO network_ranges(network_id, first, last) VALUES (?, '2001:db8::100', '2001:db8::110')`, srv6); err != nil {
			return err
		}
		res.Networks += 2

		// Three CMTSes. CMTS-1 carries the seed's networks.
		var cmtsIDs []int64
		for i := 1; i <= 3; i++ {
			id, err := ins(`INSERT INTO cmts(name, mgmt_ipv4, mgmt_ipv6, snmp_read, snmp_write, shared_secret, notes, created_at, updated_at)
				VALUES (?, ?, ?, 'public', 'private', ?, ?, ?, ?)`,
				// Management addresses on loopback, where cmd/snmpsim answers as
				// a CMTS: polling the demo never sends a packet off this host.
				fmt.Sprintf("CMTS-%d", i), fmt.Sprintf("127.0.1.%d", i), fmt.Sprintf("2001:db8::%d", i+1),
				fmt.Sprintf("demo-secret-%d", i), []string{"Headend rack A", "Headend rack B", "Hub site north"}[i-1], now, now)
			if err != nil {
				return err
			}
			cmtsIDs = append(cmtsIDs, id)
			res.CMTS++
			v6 := fmt.Sprintf("2001:db8:%d:", i+3)
			nets := []struct {
				purpose, prefix, gw, first, last string
				lease                            int64
				policy                           string
			}{
				{"cm", fmt.Sprintf("10.%d.0.0/16", 10*i), fmt.Sprintf("10.%d.0.1", 10*i), fmt.Sprintf("10.%d.1.0", 10*i), fmt.Sprintf("10.%d.255.254", 10*i), 86400, PolicyWalled},
				{"mta", fmt.Sprintf("10.%d.0.0/16", 10*i+1), fmt.Sprintf("10.%d.0.1", 10*i+1), fmt.Sprintf("10.%d.1.0", 10*i+1), fmt.Sprintf("10.%d.255.254", 10*i+1), 86400, PolicyIgnore},
				{"cpe", fmt.Sprintf("100.%d.0.0/16", 64+i-1), fmt.Sprintf("100.%d.0.1", 64+i-1), fmt.Sprintf("100.%d.0.10", 64+i-1), fmt.Sprintf("100.%d.255.254", 64+i-1), 7200, PolicyIgnore},
				{"cm", v6 + "11::/64", "", v6 + "11::2", v6 + "11::100", 86400, PolicyWalled},
				{"cpe", v6 + "12::/64", "", v6 + "12::1000", v6 + "12::ffff", 7200, PolicyIgnore},
			}
			for _, nw := range nets {
				fam, dns, ts, offset := 4, "10.0.0.10", "10.0.0.10", int64(7200)
				if netip.MustParsePrefix(nw.prefix).Addr().Is6() {
					fam, dns, ts, offset = 6, "2001:db8::10", "2001:db8::10", 3600
				}
				name := fmt.Sprintf("CMTS-%d %s v%d", i, nw.purpose, fam)
				// The hub site's unknown modems may register themselves.
				selfReg := i == 3 && nw.purpose == "cm" && fam == 4
				id, err := ins(`INSERT INTO networks(cmts_id, name, family, prefix, purpose, gateway, lease_time, max_lease_time,
					dns_servers, time_servers, log_servers, time_offset, domain, unknown_policy, self_register, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'example.net', ?, ?, ?, ?)`,
					cmtsIDs[i-1], name, fam, nw.prefix, nw.purpose, nw.gw, nw.lease, nw.lease, dns, ts, ts, offset, nw.policy, selfReg, now, now)
				if err != nil {
					return fmt.Errorf("network %s: %w", nw.prefix, err)
				}
				res.Networks++
				if _, err := tx.ExecContext(ctx, `INSERT INTO network_ranges(network_id, first, last) VALUES (?, ?, ?)`, id, nw.first, nw.last); err != nil {
					return err
				}
				if fam == 6 && nw.purpose == PurposeCM {
					// The seed: prefix6 2001:db8:4:100:: 2001:db8:4:200:: /64.
					if _, err := tx.ExecContext(ctx, `INSERT INTO pd_pools(network_id, first, last, delegated_len) VALUES (?, ?, ?, 64)`,
						id, v6+"100::", v6+"200::"); err != nil {
						return err
					}
				}
			}
		}

		// Plans.
		read := func(name string) string {
			b, _ := demoFiles.ReadFile("demo/" + name)
			return string(b)
		}
		mtaConf := read("mta.conf")
		plans := []struct {
			name, desc, file string
			maxCPE           int
		}{
			{"Residential 100/20", "DOCSIS 3.0 home plan: 100 Mbit/s down, 20 Mbit/s up, 4 CPEs", "residential.conf", 4},
			{"Business 500/100", "DOCSIS 3.0 business plan with committed rates and a voice flow, 16 CPEs", "business.conf", 16},
			{"Basic 20/2", "DOCSIS 1.1 entry plan: 20 Mbit/s down, 2 Mbit/s up, 1 CPE", "basic.conf", 1},
		}
		var planIDs []int64
		for _, p := range plans {
			id, err := ins(`INSERT INTO plans(name, description, config, mta_config, max_cpe, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				p.name, p.desc, strings.TrimSpace(read(p.file)), mtaConf, p.maxCPE, now, now)
			if err != nil {
				return err
			}
			pl := Plan{Meta: Meta{ID: id}, Name: p.name, Description: p.desc, Config: strings.TrimSpace(read(p.file)), MTAConfig: mtaConf, MaxCPE: int64(p.maxCPE)}
			if err := appendPlanVersion(ctx, tx, "demo", "", unixUTC(now), &pl); err != nil {
				return err
			}
			planIDs = append(planIDs, id)
			res.Plans++
		}

		custStmt, err := tx.PrepareContext(ctx, `INSERT INTO customers(account, name, address, phone, email, reg_code, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return err
		}
		defer custStmt.Close()
		modemStmt, err := tx.PrepareContext(ctx, `INSERT INTO modems(mac, serial, vendor, model, customer_id, plan_id, cmts_id, fixed_ipv4, enabled, notes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return err
		}
		defer modemStmt.Close()
		mtaStmt, err := tx.PrepareContext(ctx, `INSERT INTO mtas(mac, modem_id, phone_lines, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer mtaStmt.Close()
		cpeStmt, err := tx.PrepareContext(ctx, `INSERT INTO cpes(mac, modem_id, fixed_ipv4, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer cpeStmt.Close()

		used := map[[6]byte]bool{}
		fixedNext := 0
		for i := range n {
			var mac [6]byte
			var vend demoVendor
			hasMTA := false
			if i < len(demoSeedModems) {
				sm := demoSeedModems[i]
				mac, _ = MACBytes(sm.mac)
				vend, hasMTA = demoVendors[sm.vendor], sm.mta
			} else {
				vend = demoVendors[rng.IntN(len(demoVendors))]
				for {
					mac = [6]byte{vend.oui[0], vend.oui[1], vend.oui[2], byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(252)) &^ 3}
					if !used[mac] && !used[macPlus(mac, 1)] && !used[macPlus(mac, 2)] {
						break
					}
				}
				hasMTA = vend.mta && rng.IntN(100) < 45
			}
			// The modem, its MTA (+1) and its CPE (+2), as in the seed.
			used[mac], used[macPlus(mac, 1)], used[macPlus(mac, 2)] = true, true, true
			first, last := demoFirst[rng.IntN(len(demoFirst))], demoLast[rng.IntN(len(demoLast))]
			custID, err := scanID(custStmt.QueryRowContext(ctx, fmt.Sprintf("C%06d", 100001+i), last+" "+first,
				fmt.Sprintf("%s %d., %04d Demoville", demoStreets[rng.IntN(len(demoStreets))], 1+rng.IntN(120), 1000+rng.IntN(9000)),
				fmt.Sprintf("+36 %d %03d %04d", 20+rng.IntN(3)*10, rng.IntN(1000), rng.IntN(10000)),
				fmt.Sprintf("%s.%s%d@example.com", asciiLower(first), asciiLower(last), i), newRegCode(codes), now, now))
			if err != nil {
				return fmt.Errorf("customer %d: %w", i, err)
			}
			res.Customers++
			planIdx := 0
			switch r := rng.IntN(100); {
			case r < 12:
				planIdx = 1
			case r < 30:
				planIdx = 2
			}
			cmtsIdx := 0
			if i >= len(demoSeedModems) {
				cmtsIdx = min(rng.IntN(10)/4, 2) // about 40/40/20 %
			}
			fixed := ""
			if planIdx == 1 && rng.IntN(100) < 40 {
				fixedNext++
				fixed = fmt.Sprintf("10.%d.0.%d", 10*(cmtsIdx+1), 10+fixedNext%240)
				if fixedNext >= 240 {
					fixed = ""
				}
			}
			enabled, notes := true, ""
			if i >= len(demoSeedModems) && rng.IntN(100) < 3 {
				enabled, notes = false, "disabled: unpaid invoice"
			}
			macStr := formatMAC(mac)
			modemID, err := scanID(modemStmt.QueryRowContext(ctx, macStr,
				fmt.Sprintf("%s%08d", string(vend.name[0]), rng.IntN(100_000_000)), vend.name, vend.models[rng.IntN(len(vend.models))],
				custID, planIDs[planIdx], cmtsIDs[cmtsIdx], fixed, enabled, notes, now, now))
			if err != nil {
				return fmt.Errorf("modem %s: %w", macStr, err)
			}
			res.Modems++
			if hasMTA {
				// As in the seed, the embedded MTA's MAC is the modem's + 1.
				m := macPlus(mac, 1)
				lines := fmt.Sprintf("+36 1 %03d %04d", rng.IntN(1000), rng.IntN(10000))
				if rng.IntN(4) == 0 {
					lines += fmt.Sprintf(", +36 1 %03d %04d", rng.IntN(1000), rng.IntN(10000))
				}
				if _, err := mtaStmt.ExecContext(ctx, formatMAC(m), modemID, lines, now, now); err != nil {
					return fmt.Errorf("MTA of %s: %w", macStr, err)
				}
				res.MTAs++
			}
			if planIdx == 1 || rng.IntN(100) < 10 {
				m := macPlus(mac, 2)
				if _, err := cpeStmt.ExecContext(ctx, formatMAC(m), modemID, "", "customer router", now, now); err != nil {
					return fmt.Errorf("CPE of %s: %w", macStr, err)
				}
				res.CPEs++
			}
		}
		return s.audit(ctx, tx, "system", "demo", "inventory", 0, nil, res)
	})
	return res, err
}

// macPlus adds d to the low 24 bits of mac (the OUI stays).
func macPlus(mac [6]byte, d int) [6]byte {
	v := (int(mac[3])<<16 | int(mac[4])<<8 | int(mac[5])) + d
	mac[3], mac[4], mac[5] = byte(v>>16), byte(v>>8), byte(v)
	return mac
}

func scanID(row *sql.Row) (int64, error) {
	var id int64
	err := row.Scan(&id)
	return id, err
}

// asciiLower folds a name to lower-case ASCII for a demo e-mail address.
func asciiLower(s string) string {
	fold := map[rune]string{'á': "a", 'é': "e", 'í': "i", 'ó': "o", 'ö': "o", 'ő': "o", 'ú': "u", 'ü': "u", 'ű': "u", 'Á': "a", 'É': "e"}
	var out []byte
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			out = append(out, byte(r-'A'+'a'))
		case r < 128:
			out = append(out, byte(r))
		default:
			out = append(out, fold[r]...)
		}
	}
	return string(out)
}
