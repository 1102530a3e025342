package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzHandleReply feeds arbitrary bytes as a reply to an exchange in
// flight: no panic, every packet counted once, and a REQUEST comes out only
// for an OFFER that the exchange could take.
func FuzzHandleReply(f *testing.F) {
	modem := MAC{0, 0, 0xca, 0, 0, 4}
	newRelay := func() (*Relay, message) {
		r, err := NewRelay(Config{
			Server: netip.MustParseAddrPort("127.0.0.1:10067"), Giaddr: netip.MustParseAddr("127.0.0.2"),
			Modems: []MAC{modem}, Count: 1, Duration: time.Second, Window: 1, Timeout: time.Second,
		})
		if err != nil {
			f.Fatal(err)
		}
		r.firstID = 0x1f2e3d4c
		msg := r.builder.newMessage(r.firstID, newClient(KindCM, modem, 0))
		r.inflight[msg.xid] = &exchange{msg: msg, state: selecting, tries: 1}
		r.c.Started = 1
		r.slots <- struct{}{}
		return r, msg
	}
	r, msg := newRelay()
	req := r.builder.request(msg, netip.MustParseAddr("10.1.0.10"), netip.MustParseAddr("127.0.0.1"))
	fake := &fakeServer{serverID: [4]byte{127, 0, 0, 1}}
	for _, mt := range []byte{2, 5, 6} {
		f.Add(fake.reply(req, mt, [4]byte{10, 1, 0, 10}, msg.opt82))
	}
	f.Add(r.builder.discover(msg)) // a BOOTREQUEST echoed back
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 300))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _ := newRelay()
		out := r.handleReply(b, netip.MustParseAddrPort("127.0.0.1:67"), time.Now())
		c := r.c
		if c.Received != 1 {
			t.Fatalf("received %d, want 1", c.Received)
		}
		if out != nil && (c.Offers != 1 || c.Requests != 1) {
			t.Fatalf("a REQUEST without an OFFER: %+v", c)
		}
		if n := c.Malformed + c.Unexpected + c.Late + c.Offers + c.ACKs + c.NAKs; n != 1 {
			t.Fatalf("one packet counted %d times: %+v", n, c)
		}
	})
}

// FuzzParseMACList: no panic, and whatever is accepted prints and parses
// back to the same MACs.
func FuzzParseMACList(f *testing.F) {
	f.Add("44:32:c8:21:09:e7\n44-32-C8-21-09-E8\n4432.c821.09e9\n4432c82109ea\n")
	f.Add("# comment\n\n0:1e:6b:e6:b4:a5, customer\n")
	f.Add(",,,\n")
	f.Fuzz(func(t *testing.T, in string) {
		macs, err := parseMACList(strings.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		var sb strings.Builder
		for _, m := range macs {
			sb.WriteString(m.String() + "\n")
		}
		again, err := parseMACList(strings.NewReader(sb.String()), "again")
		if err != nil || len(again) != len(macs) {
			t.Fatalf("round trip of %q: %v, %d of %d", in, err, len(again), len(macs))
		}
		for i := range macs {
			if macs[i] != again[i] {
				t.Fatalf("round trip changed %v into %v", macs[i], again[i])
			}
		}
	})
}
