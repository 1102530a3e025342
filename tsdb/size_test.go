package tsdb

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSeedModemSize checks the target: the seed's 10 series with
// MIN/AVG/MAX at the seed's archives in under 4 MB per modem (RRD: 13.5 MB).
func TestSeedModemSize(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir, nil)
	defer db.Close()
	mustDefine(t, db, "00:11:22:33:44:55", seedSchema())
	fi, err := os.Stat(filepath.Join(dir, fileName("00:11:22:33:44:55")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bytes per modem: %d", fi.Size())
	if fi.Size() >= 4_000_000 {
		t.Fatalf("modem file is %d bytes, want < 4 MB", fi.Size())
	}
	d := db.devices["00:11:22:33:44:55"]
	for k, a := range d.lay.arch {
		t.Logf("archive %d: step %v, %d rows of %d bytes, %d rows a page, %d pages", k, a.step, a.rows, a.rowSize, a.rowsPerPage, a.pages)
	}
}
