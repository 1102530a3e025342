package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// fakeServer is a tiny DHCPv4 server for the tests, written by hand down to
// the wire format (it shares no code with dhcpload, so an encoding mistake
// on either side shows). It answers DISCOVER with OFFER and REQUEST with
// ACK from a small pool, sends every reply to giaddr:relayPort as real
// servers do (or, if the request carries sub-option 82.19, to the port the
// relay sent from), and checks every request against the population.
type fakeServer struct {
	conn      *net.UDPConn
	relayPort int
	modems    map[MAC]int // modem MAC → population index (circuit-id upstream)

	// Behaviour, set before start.
	dropEvery  int             // drop every k-th request (0: none)
	nak        func(MAC) bool  // NAK the REQUESTs of these clients
	noEcho     bool            // leave option 82 out of replies
	silent     bool            // never answer
	bogusEvery int             // after every k-th reply, also send one with an unknown xid
	bogusXID   uint32          // the xid of those
	serverID   [4]byte         // option 54
	poolBase   [4]byte         // first pool address
	seenKinds  map[string]bool // vendor class prefixes seen ("docsis3.0", "pktc1.5", "")

	mu       sync.Mutex
	received int
	dropped  int
	bogus    int
	replies  int
	offered  map[MAC][4]byte
	next     uint32
	problems []string
	wg       sync.WaitGroup
}

func newFakeServer(t testing.TB, modems []MAC, relayPort int) *fakeServer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{
		conn:      conn,
		relayPort: relayPort,
		modems:    make(map[MAC]int, len(modems)),
		serverID:  [4]byte{127, 0, 0, 1},
		poolBase:  [4]byte{10, 1, 0, 10},
		offered:   make(map[MAC][4]byte),
		seenKinds: make(map[string]bool),
		bogusXID:  0xdeadbeef,
	}
	for i, m := range modems {
		f.modems[m] = i
	}
	t.Cleanup(f.close)
	return f
}

func (f *fakeServer) addr() netip.AddrPort {
	return f.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (f *fakeServer) start() {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := f.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			f.handle(append([]byte(nil), buf[:n]...), from)
		}
	}()
}

func (f *fakeServer) close() {
	f.conn.Close()
	f.wg.Wait()
}

func (f *fakeServer) problem(format string, args ...any) {
	if len(f.problems) < 20 {
		f.problems = append(f.problems, fmt.Sprintf(format, args...))
	}
}

// rawOptions splits an options field into code → value, in order; it
// reports a malformed field or a missing end option.
func rawOptions(b []byte) (opts map[byte][]byte, order []byte, err error) {
	opts = make(map[byte][]byte)
	for i := 0; i < len(b); {
		code := b[i]
		switch code {
		case 0:
			i++
			continue
		case 255:
			return opts, order, nil
		}
		if i+1 >= len(b) || i+2+int(b[i+1]) > len(b) {
			return nil, nil, fmt.Errorf("option %d at %d overruns the packet", code, i)
		}
		opts[code] = append(opts[code], b[i+2:i+2+int(b[i+1])]...)
		order = append(order, code)
		i += 2 + int(b[i+1])
	}
	return nil, nil, fmt.Errorf("no end option")
}

var cookie = []byte{99, 130, 83, 99}

func (f *fakeServer) handle(p []byte, from netip.AddrPort) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.received++
	if f.dropEvery > 0 && f.received%f.dropEvery == 0 {
		f.dropped++
		return
	}
	if len(p) < 240 || !bytes.Equal(p[236:240], cookie) {
		f.problem("short packet or bad cookie (%d bytes)", len(p))
		return
	}
	if p[0] != 1 || p[1] != 1 || p[2] != 6 || p[3] != 1 {
		f.problem("op/htype/hlen/hops = %d/%d/%d/%d, want 1/1/6/1", p[0], p[1], p[2], p[3])
	}
	xid := binary.BigEndian.Uint32(p[4:8])
	giaddr := netip.AddrFrom4([4]byte(p[24:28]))
	if giaddr != from.Addr().Unmap() {
		f.problem("xid %x: giaddr %v, sent from %v", xid, giaddr, from)
	}
	if !bytes.Equal(p[12:16], []byte{0, 0, 0, 0}) {
		f.problem("xid %x: ciaddr %v, want 0 (INIT/SELECTING)", xid, p[12:16])
	}
	chaddr := MAC(p[28:34])
	opts, order, err := rawOptions(p[240:])
	if err != nil {
		f.problem("xid %x: %v", xid, err)
		return
	}
	if len(order) == 0 || order[len(order)-1] != 82 {
		f.problem("xid %x: option 82 is not the last option (%v)", xid, order)
	}
	rai := opts[82]
	sub, _, err := rawOptions(append(append([]byte(nil), rai...), 255))
	if err != nil {
		f.problem("xid %x: option 82 %x: %v", xid, rai, err)
		return
	}
	if len(sub[2]) != 6 {
		f.problem("xid %x: remote-id %x is not a MAC", xid, sub[2])
		return
	}
	modem := MAC(sub[2])
	idx, known := f.modems[modem]
	if !known {
		f.problem("xid %x: remote-id %x is not a modem of the population", xid, sub[2])
		return
	}
	if want := fmt.Sprintf("cable1/0/0:%d", idx%8); string(sub[1]) != want {
		f.problem("xid %x: circuit-id %q, want %q", xid, sub[1], want)
	}
	vc := string(opts[60])
	kind, offset, wantID := "", uint64(2), append([]byte{1}, chaddr[:]...)
	switch {
	case strings.HasPrefix(vc, "docsis3.0:"):
		kind, offset = "docsis3.0", 0
		wantID = append(append(append([]byte{0xff}, chaddr[2:]...), 0, 3, 0, 1), chaddr[:]...)
	case strings.HasPrefix(vc, "pktc1.5:"):
		kind, offset = "pktc1.5", 1
	case vc != "":
		f.problem("xid %x: vendor class %q", xid, vc)
	}
	f.seenKinds[kind] = true
	if chaddr != modem.Add(offset) {
		f.problem("xid %x: chaddr %v with vendor class %q, remote-id %v", xid, chaddr, vc, modem)
	}
	if !bytes.Equal(opts[61], wantID) {
		f.problem("xid %x: client-id %x, want %x", xid, opts[61], wantID)
	}

	var reply byte
	var yiaddr [4]byte
	switch mt := opts[53]; {
	case len(mt) == 1 && mt[0] == 1: // DISCOVER
		ip, ok := f.offered[chaddr]
		if !ok {
			v := binary.BigEndian.Uint32(f.poolBase[:]) + f.next
			f.next++
			binary.BigEndian.PutUint32(ip[:], v)
			f.offered[chaddr] = ip
		}
		reply, yiaddr = 2, ip
	case len(mt) == 1 && mt[0] == 3: // REQUEST
		ip, ok := f.offered[chaddr]
		switch {
		case !ok || !bytes.Equal(opts[50], ip[:]):
			f.problem("xid %x: REQUEST for %v, offered %v", xid, opts[50], ip)
			reply = 6
		case !bytes.Equal(opts[54], f.serverID[:]):
			f.problem("xid %x: REQUEST server-id %v", xid, opts[54])
			reply = 6
		case f.nak != nil && f.nak(chaddr):
			reply = 6
		default:
			reply, yiaddr = 5, ip
		}
	default:
		f.problem("xid %x: message type %v", xid, mt)
		return
	}
	if f.silent {
		return
	}
	port := f.relayPort
	if _, ok := sub[19]; ok {
		port = int(from.Port())
	}
	to := netip.AddrPortFrom(giaddr, uint16(port))
	f.send(to, f.reply(p, reply, yiaddr, rai))
	f.replies++
	if f.bogusEvery > 0 && f.replies%f.bogusEvery == 0 {
		bogus := f.reply(p, reply, yiaddr, rai)
		binary.BigEndian.PutUint32(bogus[4:8], f.bogusXID)
		f.send(to, bogus)
		f.bogus++
	}
}

func (f *fakeServer) reply(req []byte, mt byte, yiaddr [4]byte, rai []byte) []byte {
	r := make([]byte, 240, 300)
	copy(r, req[:240])
	r[0], r[3] = 2, 0 // BOOTREPLY, hops
	copy(r[16:20], yiaddr[:])
	r = append(r, 53, 1, mt, 54, 4)
	r = append(r, f.serverID[:]...)
	if mt != 6 {
		r = append(r, 51, 4, 0, 0, 0x0e, 0x10, 1, 4, 255, 255, 0, 0, 3, 4, 10, 1, 0, 1)
	}
	if !f.noEcho {
		r = append(r, 82, byte(len(rai)))
		r = append(r, rai...)
	}
	return append(r, 255)
}

func (f *fakeServer) send(to netip.AddrPort, b []byte) {
	if _, err := f.conn.WriteToUDPAddrPort(b, to); err != nil {
		f.problem("send to %v: %v", to, err)
	}
}

func (f *fakeServer) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.problems {
		t.Errorf("fake server: %s", p)
	}
}
