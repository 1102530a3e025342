package tsdb

import (
	"errors"
	"fmt"
	"io"
)

// Check loads every device and verifies the checksum of every page. The
// damage found is reported to Options.OnDamage and returned; damaged
// pages read as no data until the slots are written again, and a device
// whose schema is damaged is set aside (renamed *.damaged).
func (db *DB) Check() ([]Damage, error) {
	var found []Damage
	report := func(dm Damage) {
		found = append(found, dm)
	}
	db.checkMu.Lock()
	db.collect = report
	db.checkMu.Unlock()
	defer func() {
		db.checkMu.Lock()
		db.collect = nil
		db.checkMu.Unlock()
	}()
	for _, name := range db.Devices() {
		d, err := db.lookup(name)
		if err != nil {
			if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnknownDevice) {
				continue
			}
			return found, err
		}
		err = db.checkPages(d)
		d.mu.Unlock()
		if err != nil {
			return found, err
		}
	}
	db.checkMu.Lock()
	defer db.checkMu.Unlock()
	return append([]Damage(nil), found...), nil
}

// checkPages verifies every data page of d. d.mu is held.
func (db *DB) checkPages(d *device) error {
	for k := range d.lay.arch {
		a := &d.lay.arch[k]
		const chunk = 64
		buf := make([]byte, chunk*a.pageBytes)
		for p := int64(0); p < a.pages; p += chunk {
			n := min(chunk, a.pages-p)
			b := buf[:n*int64(a.pageBytes)]
			off := a.off + p*int64(a.pageBytes)
			if _, err := d.f.ReadAt(b, off); err != nil && err != io.EOF {
				return fmt.Errorf("check %s at %d: %w", d.name, off, err)
			}
			for i := int64(0); i < n; i++ {
				po := off + i*int64(a.pageBytes)
				if checkPage(b[i*int64(a.pageBytes):][:a.pageBytes], po) != pageBad {
					continue
				}
				if d.badPages[po] { // reported before: report to Check only
					db.checkMu.Lock()
					if db.collect != nil {
						db.collect(Damage{Device: d.name, File: d.path, Offset: po, Err: corruptf("page checksum mismatch")})
					}
					db.checkMu.Unlock()
					continue
				}
				db.reportPage(d, po)
			}
		}
	}
	return nil
}
