package dhcp

import (
	"fmt"
	"testing"
	"time"
)

func TestRefusalLog(t *testing.T) {
	l := newRefusalLog(3)
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	l.add(t0, "a", "10.0.0.1", "unknown modem")
	l.add(t0.Add(time.Second), "b", "10.0.0.1", "unknown modem")
	l.add(t0.Add(2*time.Second), "a", "10.0.0.1", "unknown modem") // again: one line, count 2, newest
	got := l.list()
	if len(got) != 2 || got[0].MAC != "a" || got[0].Count != 2 || got[1].MAC != "b" {
		t.Fatalf("after a repeat: %+v", got)
	}
	for i := range 5 {
		l.add(t0.Add(time.Duration(10+i)*time.Second), fmt.Sprint("x", i), "", "flood")
	}
	got = l.list()
	if len(got) != 3 || got[0].MAC != "x4" || got[2].MAC != "x2" {
		t.Fatalf("bounded to 3, newest first: %+v", got)
	}
	l.add(t0.Add(time.Minute), "x2", "", "flood") // still indexed correctly after shifts
	if got = l.list(); got[0].MAC != "x2" || got[0].Count != 2 || len(got) != 3 {
		t.Fatalf("after shifts: %+v", got)
	}
}

func TestUnknownModemListedAsRefused(t *testing.T) {
	f := newFixture(t, false)
	stranger := mustMAC("00:00:ca:de:ad:01")
	for range 3 {
		f.handle(t, discover(t, stranger, giCM, stranger, "docsis3.0"))
	}
	r := f.srv.Refusals()
	if len(r) != 1 || r[0].MAC != "00:00:ca:de:ad:01" || r[0].Count != 3 || r[0].Relay != "127.10.0.1" {
		t.Fatalf("refusals %+v", r)
	}
}

// TestOnRefusal: the callback hears a device's refusal once, again only
// after notifyEvery, and with its class.
func TestOnRefusal(t *testing.T) {
	l := newRefusalLog(10)
	var heard []Refusal
	fn := func(r Refusal) { heard = append(heard, r) }
	l.notify.Store(&fn)
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	l.add(t0, "a", "10.0.0.1", "unknown modem a")
	l.add(t0.Add(time.Minute), "a", "10.0.0.1", "unknown modem a")
	l.add(t0.Add(2*time.Minute), "c", "10.0.0.1", "modem m already has 4 CPEs (its plan allows 4)")
	l.add(t0.Add(notifyEvery+time.Second), "a", "10.0.0.1", "unknown modem a")
	l.add(t0.Add(3*time.Minute), "d", "", "the modem is disabled")
	if len(heard) != 4 {
		t.Fatalf("heard %d refusals, want 4: %+v", len(heard), heard)
	}
	for i, want := range []string{ClassUnknownModem, ClassOverMaxCPE, ClassUnknownModem, ClassOther} {
		if heard[i].Class != want {
			t.Errorf("refusal %d (%s): class %q, want %q", i, heard[i].Reason, heard[i].Class, want)
		}
	}
	if heard[2].Count != 3 {
		t.Errorf("the repeat carries count %d, want 3", heard[2].Count)
	}
}
