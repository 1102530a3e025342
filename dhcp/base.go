package dhcp

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// base is what the v4 and v6 servers share: the inventory snapshot, the
// counters, and the loop that keeps the snapshot fresh and expires leases.
type base struct {
	inv     Inventory
	log     *slog.Logger
	now     func() time.Time
	refresh time.Duration
	snap    atomic.Pointer[snapshot]
	stats   counters
	refused *refusalLog
	// committing counts the replies waiting for their leases' commit, so a
	// stopping server sends them before its socket closes (drain).
	committing sync.WaitGroup
}

// drainWait bounds how long a stopping server waits for the replies whose
// leases are being committed.
const drainWait = 5 * time.Second

// drain waits, at most drainWait, for the replies whose leases are being
// committed (the reader has stopped, so none is added).
func (b *base) drain() {
	done := make(chan struct{})
	go func() { b.committing.Wait(); close(done) }()
	t := time.NewTimer(drainWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		b.log.Warn("stopped before every committed lease's reply was sent")
	}
}

// init loads the first snapshot.
func (b *base) init(ctx context.Context, inv Inventory, log *slog.Logger, now func() time.Time, refresh time.Duration) error {
	b.inv, b.log, b.now, b.refresh = inv, log, now, refresh
	if b.now == nil {
		b.now = time.Now
	}
	if b.refresh == 0 {
		b.refresh = time.Second
	}
	b.stats.drops = map[string]int64{}
	b.refused = newRefusalLog(200)
	sn, err := loadSnapshot(ctx, inv)
	if err != nil {
		return err
	}
	b.snap.Store(sn)
	return nil
}

// Stats returns a copy of the counters.
func (b *base) Stats() Stats {
	b.stats.mu.Lock()
	drops := make(map[string]int64, len(b.stats.drops))
	for k, v := range b.stats.drops {
		drops[k] = v
	}
	b.stats.mu.Unlock()
	return Stats{Received: b.stats.received.Load(), Replied: b.stats.replied.Load(), LeasesCommitted: b.stats.leasesCommitted.Load(),
		Refused: b.stats.refused.Load(), NAKs: b.stats.naks.Load(), Drops: drops}
}

// Refusals lists the devices refused lately (one line per device and
// reason), newest first.
func (b *base) Refusals() []Refusal { return b.refused.list() }

// OnRefusal has fn called when a device is refused: the first time for
// that device and reason, then at most every five minutes while it keeps
// asking. fn runs on the packet's goroutine and must return at once.
func (b *base) OnRefusal(fn func(Refusal)) {
	if fn == nil {
		b.refused.notify.Store(nil)
		return
	}
	b.refused.notify.Store(&fn)
}

// refuse counts and records a device that gets nothing.
func (b *base) refuse(mac, relay, reason string) {
	b.stats.refused.Add(1)
	b.refused.add(b.now(), mac, relay, reason)
	b.log.Debug("no lease", "mac", mac, "relay", relay, "reason", reason)
}

// countDrop counts a request answered with silence, by reason (bounded).
func (b *base) countDrop(reason string) {
	b.stats.mu.Lock()
	if len(b.stats.drops) < 256 {
		b.stats.drops[reason]++
	} else {
		b.stats.drops["other"]++
	}
	b.stats.mu.Unlock()
}

// Reload rebuilds the inventory snapshot if the store changed.
func (b *base) Reload(ctx context.Context) error {
	if b.inv.InventoryVersion() == b.snap.Load().version {
		return nil
	}
	sn, err := loadSnapshot(ctx, b.inv)
	if err != nil {
		return err
	}
	b.snap.Store(sn)
	b.log.Debug("inventory reloaded", "version", sn.version, "modems", len(sn.modems))
	return nil
}

// maintain reloads the inventory when it changes and runs sweep every 10 s
// until ctx ends.
func (b *base) maintain(ctx context.Context, sweep func(context.Context)) {
	refresh := time.NewTicker(b.refresh)
	defer refresh.Stop()
	expire := time.NewTicker(10 * time.Second)
	defer expire.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			if err := b.Reload(ctx); err != nil {
				b.log.Error("reload inventory", "err", err)
			}
		case <-expire.C:
			sweep(ctx)
		}
	}
}
