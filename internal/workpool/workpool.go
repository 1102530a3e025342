// Package workpool runs jobs on goroutines that stay for the next job.
//
// A server that starts a goroutine per request pays, per request, for the
// goroutine's start and for growing its fresh stack to what handling takes
// (runtime.newstack/copystack: 8-9% of a DHCPv6 exchange or a DNS cache
// miss here). A worker that waits a while for the next job has its stack
// grown already. The caller bounds how many jobs run at once, as before:
// the pool never holds more workers than jobs were running at once.
package workpool

import (
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs each job given to Go on a worker goroutine: one waiting for
// work if there is one, else a new one. A worker with nothing to do for Idle
// ends.
type Pool[T any] struct {
	run     func(T)
	idle    time.Duration
	handoff chan T
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	started, live atomic.Int64 // workers started ever, and running now
}

// New returns a pool that calls run for every job. Workers idle for idle
// end (0: 10 seconds).
func New[T any](run func(T), idle time.Duration) *Pool[T] {
	if idle <= 0 {
		idle = 10 * time.Second
	}
	return &Pool[T]{run: run, idle: idle, handoff: make(chan T), stop: make(chan struct{})}
}

// Go runs job: at once on a waiting worker, or on a new one. It does not
// wait for job to finish. After Close, job runs on a goroutine of its own.
func (p *Pool[T]) Go(job T) {
	select {
	case p.handoff <- job:
	default:
		p.started.Add(1)
		p.live.Add(1)
		p.wg.Go(func() { p.worker(job) })
	}
}

func (p *Pool[T]) worker(job T) {
	defer p.live.Add(-1)
	var t *time.Timer
	for {
		p.run(job)
		if t == nil {
			t = time.NewTimer(p.idle)
			defer t.Stop()
		} else {
			t.Reset(p.idle)
		}
		select {
		case job = <-p.handoff:
		case <-t.C:
			return
		case <-p.stop:
			return
		}
	}
}

// Close makes the waiting workers end, and those still running end when
// their job is done.
func (p *Pool[T]) Close() { p.once.Do(func() { close(p.stop) }) }

// Wait waits for every worker to end (after Close, for the running jobs).
func (p *Pool[T]) Wait() { p.wg.Wait() }
