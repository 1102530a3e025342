package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	fillDemo(t, s, DemoOptions{Modems: 200, Seed: 5})
	plans, _ := s.ListPlans(ctx)

	// A writer keeps adding modems until told to stop.
	stop := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	var written int
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m := Modem{MAC: fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&0xff), PlanID: plans[0].ID, Enabled: true}
			if err := s.CreateModem(ctx, "writer", &m); err != nil {
				writeErr = err
				return
			}
			written++
			if i == 5 {
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-t.Context().Done():
	}
	before := rowCount(t, s, "modems")
	path := filepath.Join(t.TempDir(), "backup #1?.db") // URI characters on purpose
	backupErr := s.Backup(ctx, path)
	after := rowCount(t, s, "modems")
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("writer: %v", writeErr)
	}
	if backupErr != nil {
		t.Fatalf("Backup: %v", backupErr)
	}
	t.Logf("writer added %d modems; backup saw between %d and %d", written, before, after)

	b := openPath(t, path)
	var integrity string
	if err := b.read.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check = %q, %v", integrity, err)
	}
	n := rowCount(t, b, "modems")
	if n < before || n > after {
		t.Errorf("backup holds %d modems, want between %d and %d", n, before, after)
	}
	// The copy is a full database: the demo's rows and a working search.
	if counts, err := b.Count(ctx); err != nil || counts.CMTS != 3 || counts.Plans != 3 || counts.MTAs == 0 {
		t.Errorf("backup Count = %+v, %v", counts, err)
	}
	rows, total, err := b.ListModems(ctx, ModemFilter{Query: "4432.c821.09e7"}, Page{Size: 10})
	if err != nil || total != 1 || rows[0].CMTSName != "CMTS-1" {
		t.Errorf("search in the backup: %+v, %d, %v", rows, total, err)
	}
	if got, want := schemaVersionOf(t, b), SchemaVersion(); got != want {
		t.Errorf("backup schema version %d, want %d", got, want)
	}
}

func TestBackupRefusesExistingPath(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	dir := t.TempDir()
	existing := filepath.Join(dir, "there.db")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := s.Backup(ctx, existing)
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), existing) {
		t.Errorf("Backup over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("existing file was changed to %q", b)
	}
	if err := s.Backup(ctx, filepath.Join(dir, "no", "such", "dir.db")); err == nil {
		t.Error("Backup into a missing folder succeeded")
	}
	// A refused or failed backup leaves the store working.
	if err := s.CreateCMTS(ctx, "t", &CMTS{Name: "after"}); err != nil {
		t.Errorf("write after refused backup: %v", err)
	}
	if err := s.Backup(ctx, filepath.Join(dir, "ok.db")); err != nil {
		t.Errorf("Backup to a new path: %v", err)
	}
}
