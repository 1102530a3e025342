package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"

	"ip6m/store"

	_ "modernc.org/sqlite" // read-only access to an ip6m data folder (--db)
)

// MAC is an Ethernet address. Array, not slice, so it can key maps and be
// copied into packets without allocating.
type MAC [6]byte

func (m MAC) String() string { return net.HardwareAddr(m[:]).String() }

// Add returns m+n as a 48-bit number: the MTA of a modem is MAC+1 and the
// CPE (eRouter) MAC+2, as DOCSIS vendors number them.
func (m MAC) Add(n uint64) MAC {
	var v uint64
	for _, b := range m {
		v = v<<8 | uint64(b)
	}
	v = (v + n) & (1<<48 - 1)
	var out MAC
	for i := 5; i >= 0; i-- {
		out[i] = byte(v)
		v >>= 8
	}
	return out
}

// parseMAC accepts every notation store.NormalizeMAC does (44:32:c8:21:09:e7,
// 44-32-C8-21-09-E7, 4432.c821.09e7, 4432c82109e7), so a list pasted from
// the UI, a CMTS or a dhcpd.conf reads as is.
func parseMAC(s string) (MAC, error) {
	norm, err := store.NormalizeMAC(s)
	if err != nil {
		return MAC{}, err
	}
	hw, err := net.ParseMAC(norm)
	if err != nil || len(hw) != 6 {
		return MAC{}, fmt.Errorf("%q is not a 48-bit MAC address", s)
	}
	return MAC(hw), nil
}

// parseMACList reads one MAC per line. Blank lines and lines starting with #
// are skipped; only the first field (separated by blanks, comma or
// semicolon) is read, so a CSV export whose first column is the MAC works.
func parseMACList(r io.Reader, name string) ([]MAC, error) {
	var macs []MAC
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.FieldsFunc(text, func(r rune) bool {
			return r == ',' || r == ';' || r == ' ' || r == '\t'
		})
		if len(fields) == 0 {
			return nil, fmt.Errorf("%s:%d: %q holds no MAC address", name, line, text)
		}
		m, err := parseMAC(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		macs = append(macs, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return macs, nil
}

func readMACFile(path string) ([]MAC, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMACList(f, path)
}

// maxRandom bounds --random: MACs are drawn from the 2^22 four-aligned
// values under one OUI so that a modem's MTA (+1) and CPE (+2) never collide
// with another modem.
const maxRandom = 1 << 22

// randomMACs returns n distinct modem MACs under oui, the same for the same
// seed (so a Kea config written with --kea-config matches a later run).
func randomMACs(n int, oui [3]byte, seed uint64) ([]MAC, error) {
	if n < 0 || n > maxRandom {
		return nil, fmt.Errorf("random population %d out of range 0..%d", n, maxRandom)
	}
	rng := rand.New(rand.NewPCG(seed, 0x1f2e3d4c5b6a7988))
	seen := make(map[uint32]struct{}, n)
	macs := make([]MAC, 0, n)
	for len(macs) < n {
		v := rng.Uint32N(maxRandom) << 2
		if _, dup := seen[v]; dup {
			continue
		}
		seen[v] = struct{}{}
		macs = append(macs, MAC{oui[0], oui[1], oui[2], byte(v >> 16), byte(v >> 8), byte(v)})
	}
	return macs, nil
}

func parseOUI(s string) ([3]byte, error) {
	// Reuse the MAC parser: pad the OUI to a full address.
	var oui [3]byte
	clean := strings.NewReplacer(":", "", "-", "", ".", "").Replace(strings.TrimSpace(s))
	if len(clean) != 6 {
		return oui, fmt.Errorf("OUI %q: want 3 bytes such as 00:00:ca", s)
	}
	m, err := parseMAC(clean + "000000")
	if err != nil {
		return oui, fmt.Errorf("OUI %q: %w", s, err)
	}
	copy(oui[:], m[:3])
	return oui, nil
}

// readDBMACs returns the MACs of the enabled modems of an ip6m data folder.
// The database is opened read-only (it may belong to a running ip6m); no
// write path of the store package is involved.
func readDBMACs(ctx context.Context, dir string) ([]MAC, error) {
	path := filepath.Join(dir, "ip6m.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("ip6m data folder %s: %w", dir, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT mac FROM modems WHERE enabled = 1 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read modems from %s: %w", path, err)
	}
	defer rows.Close()
	var macs []MAC
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("read modems from %s: %w", path, err)
		}
		m, err := parseMAC(s)
		if err != nil {
			return nil, fmt.Errorf("modem in %s: %w", path, err)
		}
		macs = append(macs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read modems from %s: %w", path, err)
	}
	return macs, nil
}

// PopulationSpec says where the modem MACs come from; sources add up, and a
// MAC named twice counts once.
type PopulationSpec struct {
	MACFile string
	Random  int
	OUI     [3]byte
	Seed    uint64
	DBDir   string
}

var errNoPopulation = errors.New("no modems: give --macs FILE, --random N or --db DIR")

func loadPopulation(ctx context.Context, spec PopulationSpec) ([]MAC, error) {
	var all []MAC
	if spec.MACFile != "" {
		m, err := readMACFile(spec.MACFile)
		if err != nil {
			return nil, err
		}
		all = append(all, m...)
	}
	if spec.Random > 0 {
		m, err := randomMACs(spec.Random, spec.OUI, spec.Seed)
		if err != nil {
			return nil, err
		}
		all = append(all, m...)
	}
	if spec.DBDir != "" {
		m, err := readDBMACs(ctx, spec.DBDir)
		if err != nil {
			return nil, err
		}
		all = append(all, m...)
	}
	seen := make(map[MAC]struct{}, len(all))
	out := all[:0]
	for _, m := range all {
		if _, dup := seen[m]; !dup {
			seen[m] = struct{}{}
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, errNoPopulation
	}
	return out, nil
}
