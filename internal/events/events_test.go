package events

import (
	"fmt"
	"sync"
	"testing"
)

func TestRecentAndRing(t *testing.T) {
	b := New(5)
	for i := 1; i <= 8; i++ {
		b.Publish(Event{Kind: Lease, Text: fmt.Sprint(i)})
	}
	got := b.Recent(10, nil)
	if len(got) != 5 || got[0].Text != "8" || got[4].Text != "4" || got[0].Seq != 8 {
		t.Fatalf("recent = %+v, want 8..4 newest first", got)
	}
	odd := b.Recent(2, func(e Event) bool { return e.Seq%2 == 1 })
	if len(odd) != 2 || odd[0].Text != "7" || odd[1].Text != "5" {
		t.Errorf("filtered = %+v", odd)
	}
	if New(0).Recent(3, nil) != nil {
		t.Error("an empty bus has events")
	}
}

// A slow subscriber misses events; the publisher never waits for it.
func TestSlowSubscriber(t *testing.T) {
	b := New(0)
	fast, slow := b.Subscribe(100), b.Subscribe(2)
	for i := 0; i < 50; i++ {
		b.Publish(Event{Kind: Lease})
	}
	if len(fast.C) != 50 || len(slow.C) != 2 || slow.Missed() != 48 {
		t.Errorf("fast has %d, slow has %d and missed %d", len(fast.C), len(slow.C), slow.Missed())
	}
	b.Unsubscribe(slow)
	b.Publish(Event{Kind: Lease})
	if len(slow.C) != 2 || b.Stats().Subscribers != 1 || b.Stats().Published != 51 || b.Stats().ByKind[Lease] != 51 {
		t.Errorf("after unsubscribe: %d queued, stats %+v", len(slow.C), b.Stats())
	}
	var nilBus *Bus
	nilBus.Publish(Event{}) // no panic
}

func TestConcurrentPublish(t *testing.T) {
	b := New(100)
	s := b.Subscribe(10000)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				b.Publish(Event{Kind: Lease})
			}
		}()
	}
	wg.Wait()
	if len(s.C) != 4000 {
		t.Fatalf("subscriber got %d, want 4000", len(s.C))
	}
	var last uint64
	for range 4000 {
		e := <-s.C
		if e.Seq <= last {
			t.Fatalf("seq %d after %d: out of order", e.Seq, last)
		}
		last = e.Seq
	}
}

func BenchmarkPublish(b *testing.B) {
	bus := New(0)
	s := bus.Subscribe(64)
	go func() {
		for range s.C {
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		bus.Publish(Event{Kind: Lease, MAC: "44:32:c8:21:09:e7", Text: "granted"})
	}
}
