package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ip6m/dhcp"
	"ip6m/internal/events"
	"ip6m/store"
	"ip6m/tftp"
)

// eventFeed turns what the services report (lease commits, DHCP and TFTP
// refusals, modems seen online or gone at their CMTS) into events on the
// bus, each placed on its CMTS. The services hand events over on a buffered
// channel (the store's committer its lease ops in a bounded list) and never
// wait: one goroutine places and publishes them, and when it falls behind
// (a reboot storm of grants) the excess is counted and dropped, never the
// DHCP answers.
type eventFeed struct {
	bus     *events.Bus
	st      *store.Store
	log     *slog.Logger
	in      chan events.Event
	dropped atomic.Uint64

	// Committed lease ops that are news, made into events here: gathered
	// for up to opsDelay, so a storm's thousands of groups a second wake
	// the feed some tens of times a second, not once a group.
	opsMu    sync.Mutex
	ops      []store.LeaseOp
	opsReady chan struct{}

	mu      sync.Mutex
	version int64 // of the inventory the maps below were built from
	built   bool
	byModem map[string]string // modem MAC → CMTS name
	byID    map[int64]string  // CMTS id → name
	nets    []store.Network
}

// feedBuffer is how many events, and how many lease ops, may wait for
// placing; opsDelay is how long a lease op may wait for others.
const (
	feedBuffer = 4096
	opsDelay   = 50 * time.Millisecond
)

func newEventFeed(bus *events.Bus, st *store.Store, log *slog.Logger) *eventFeed {
	return &eventFeed{bus: bus, st: st, log: log, in: make(chan events.Event, feedBuffer), opsReady: make(chan struct{}, 1)}
}

// sendOps hands a committed group's lease ops over without waiting; their
// events (for the ops that are news) are made on the feed's goroutine
// within opsDelay, not on the store's lease committer, which DHCP replies
// wait for. ops is not kept.
func (f *eventFeed) sendOps(ops []store.LeaseOp) {
	f.opsMu.Lock()
	defer f.opsMu.Unlock()
	was := len(f.ops)
	for _, op := range ops {
		if op.Event != store.EventGrant && op.Event != store.EventRelease {
			continue
		}
		if len(f.ops) >= feedBuffer {
			f.dropped.Add(1)
			continue
		}
		f.ops = append(f.ops, op)
	}
	if was == 0 && len(f.ops) > 0 {
		time.AfterFunc(opsDelay, func() {
			select {
			case f.opsReady <- struct{}{}:
			default:
			}
		})
	}
}

// takeOps returns the lease ops waiting, and a slice for the next ones.
func (f *eventFeed) takeOps(spare []store.LeaseOp) []store.LeaseOp {
	f.opsMu.Lock()
	defer f.opsMu.Unlock()
	ops := f.ops
	f.ops = spare[:0]
	return ops
}

// send hands e over without waiting.
func (f *eventFeed) send(e events.Event) {
	select {
	case f.in <- e:
	default:
		f.dropped.Add(1)
	}
}

// Load reads the inventory for placing events. serve calls it before the
// servers start, so the first event — often the first lease of a reboot
// storm — does not wait for it.
func (f *eventFeed) Load(ctx context.Context) {
	f.mu.Lock()
	f.current(ctx)
	f.mu.Unlock()
}

// Run places and publishes events until ctx ends.
func (f *eventFeed) Run(ctx context.Context) error {
	var spare []store.LeaseOp
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-f.in:
			f.place(ctx, &e)
			f.bus.Publish(e)
		case <-f.opsReady:
			ops := f.takeOps(spare)
			for _, op := range ops {
				if e, ok := leaseEvent(op); ok {
					f.place(ctx, &e)
					f.bus.Publish(e)
				}
			}
			clear(ops)
			spare = ops
		}
	}
}

// place fills in e's CMTS: from its modem, else from the network holding
// its address.
func (f *eventFeed) place(ctx context.Context, e *events.Event) {
	if e.CMTS != "" && !strings.HasPrefix(e.CMTS, "cmts-") {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.current(ctx) {
		return
	}
	if id, ok := strings.CutPrefix(e.CMTS, "cmts-"); ok {
		n, _ := strconv.ParseInt(id, 10, 64)
		e.CMTS = f.byID[n]
		return
	}
	if c := f.byModem[e.Modem]; c != "" {
		e.CMTS = c
		return
	}
	if a, err := netip.ParseAddr(strings.SplitN(e.Addr, "/", 2)[0]); err == nil {
		e.CMTS = f.byID[store.CMTSOf(f.nets, a)]
	}
}

// current brings the inventory for placing up to date (f.mu held) and
// reports whether it could.
func (f *eventFeed) current(ctx context.Context) bool {
	if v := f.st.InventoryVersion(); !f.built || v != f.version {
		if err := f.rebuild(ctx); err != nil {
			f.log.Debug("events: inventory for placing", "err", err)
			return false
		}
		f.version, f.built = v, true
	}
	return true
}

func (f *eventFeed) rebuild(ctx context.Context) error {
	cmts, err := f.st.ListCMTS(ctx)
	if err != nil {
		return err
	}
	f.byID = make(map[int64]string, len(cmts))
	for _, c := range cmts {
		f.byID[c.ID] = c.Name
	}
	nets, err := f.st.ListNetworks(ctx, 0)
	if err != nil {
		return err
	}
	f.nets = nets
	modems, _, err := f.st.ListModems(ctx, store.ModemFilter{}, store.Page{})
	if err != nil {
		return err
	}
	f.byModem = make(map[string]string, len(modems))
	for _, m := range modems {
		if m.CMTSName != "" {
			f.byModem[m.MAC] = m.CMTSName
		}
	}
	return nil
}

// leaseEvent is the event of a committed lease op: new grants and
// releases (renewals and expiries are routine, not news).
func leaseEvent(op store.LeaseOp) (events.Event, bool) {
	var e events.Event
	switch op.Event {
	case store.EventGrant:
		e.Kind = events.Lease
	case store.EventRelease:
		e.Kind = events.Release
	default:
		return e, false
	}
	e.Modem = op.ModemMAC
	var kind string
	if l := op.V4; l != nil {
		e.MAC, e.Addr, kind = l.MAC, l.IP, l.Kind
	} else {
		l := op.V6
		e.MAC, e.Addr, kind = l.MAC, l.Address, l.Kind
		if l.Type == "pd" {
			e.Addr = fmt.Sprintf("%s/%d", l.Address, l.PrefixLen)
		}
	}
	if kind == store.KindCM && e.Modem == "" {
		e.Modem = e.MAC
	}
	who := kindWord(kind)
	if e.MAC != "" {
		who += " " + e.MAC
	}
	if e.Modem != "" && e.Modem != e.MAC {
		who += " behind modem " + e.Modem
	}
	if e.Kind == events.Lease {
		e.Text = e.Addr + " to " + who
	} else {
		e.Text = who + " released " + e.Addr
	}
	return e, true
}

func kindWord(kind string) string {
	switch kind {
	case store.KindCM:
		return "modem"
	case store.KindMTA:
		return "MTA"
	case store.KindCPE:
		return "CPE"
	}
	return "device"
}

// dhcpRefusalEvent is the event of a refused DHCP client.
func dhcpRefusalEvent(family string, r dhcp.Refusal) events.Event {
	e := events.Event{At: r.Time, MAC: r.MAC, Addr: r.Relay}
	switch r.Class {
	case dhcp.ClassUnknownModem:
		e.Kind = events.UnknownModem
	case dhcp.ClassOverMaxCPE:
		e.Kind = events.OverMaxCPE
	default:
		e.Kind = events.Refused
	}
	who := r.MAC
	if who == "" {
		who = "a client"
	}
	e.Text = family + ": no lease for " + who + ": " + r.Reason
	if r.Relay != "" {
		e.Text += " (relay " + r.Relay + ")"
	}
	if r.Count > 1 {
		e.Text += fmt.Sprintf(", asked %d times", r.Count)
	}
	return e
}

// tftpRefusalEvent is the event of a refused config download.
func tftpRefusalEvent(r tftp.Refusal) events.Event {
	e := events.Event{At: r.Time, Kind: events.TFTPRefused, Addr: r.From.Addr().String()}
	e.Text = fmt.Sprintf("refused %q to %s: %s", r.Name, e.Addr, r.Reason)
	if r.Detail != "" {
		e.Text += " (" + r.Detail + ")"
	}
	return e
}

// modemStateEvent is the event of a modem seen online or gone at its CMTS.
func modemStateEvent(cmts, modem string, online bool) events.Event {
	e := events.Event{Kind: events.Offline, MAC: modem, Modem: modem, CMTS: cmts, Text: "modem " + modem + " is gone from its CMTS"}
	if online {
		e.Kind, e.Text = events.Online, "modem "+modem+" is online at its CMTS"
	}
	return e
}
