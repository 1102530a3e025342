package workpool

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolReusesWorkers: every job runs once; jobs that come one after
// another run on the same worker; concurrent jobs get workers of their own;
// idle workers end.
func TestPoolReusesWorkers(t *testing.T) {
	var sum, ran atomic.Int64
	var wg sync.WaitGroup
	p := New(func(n int) {
		sum.Add(int64(n))
		ran.Add(1)
		wg.Done()
	}, 50*time.Millisecond)
	defer p.Wait()
	defer p.Close()
	for i := 1; i <= 100; i++ {
		wg.Add(1)
		p.Go(i)
		wg.Wait()
		time.Sleep(time.Millisecond) // the worker is back waiting
	}
	if sum.Load() != 100*101/2 || ran.Load() != 100 {
		t.Fatalf("ran %d jobs summing %d", ran.Load(), sum.Load())
	}
	if n := p.started.Load(); n > 5 {
		t.Errorf("%d workers started for 100 jobs one after another", n)
	}

	// Eight jobs at once: eight workers.
	release := make(chan struct{})
	var running sync.WaitGroup
	running.Add(8)
	q := New(func(int) { running.Done(); <-release }, time.Minute)
	for i := range 8 {
		q.Go(i)
	}
	running.Wait()
	if n := q.live.Load(); n != 8 {
		t.Errorf("%d workers for 8 concurrent jobs", n)
	}
	close(release)
	q.Close()
	q.Wait()
	if n := q.live.Load(); n != 0 {
		t.Errorf("%d workers left after Close and Wait", n)
	}

	// Idle workers end by themselves.
	deadline := time.Now().Add(5 * time.Second)
	for p.live.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := p.live.Load(); n != 0 {
		t.Errorf("%d idle workers still running", n)
	}
}
