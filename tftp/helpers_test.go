package tftp

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	tftplib "github.com/pin/tftp/v3"

	"ip6m/store"
)

// startServer runs a server for the test and stops it at cleanup.
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

// openStore opens a store in a temporary folder filled with the demo
// network (the seed's modems first).
func openStore(t testing.TB, modems int) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: modems, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return st
}

// grant gives ip an active lease for mac (ends in an hour, or at ends).
func grant(t testing.TB, st *store.Store, ip, mac string, ends time.Time) {
	t.Helper()
	if ends.IsZero() {
		ends = time.Now().Add(time.Hour)
	}
	err := st.CommitLeases(context.Background(), store.LeaseOp{Event: store.EventGrant, V4: &store.Lease4{
		IP: ip, MAC: mac, Kind: store.KindCM, State: store.StateActive, GiAddr: "10.10.0.1",
		Starts: time.Now().Add(-time.Minute), Ends: ends}})
	if err != nil {
		t.Fatal(err)
	}
}

// fetch downloads name with pin/tftp's client.
func fetch(t testing.TB, addr net.Addr, name string, blksize int, tsize bool) ([]byte, error) {
	t.Helper()
	c, err := tftplib.NewClient(addr.String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(2 * time.Second)
	c.SetRetries(3)
	if blksize > 0 {
		c.SetBlockSize(blksize)
	}
	c.RequestTSize(tsize)
	wt, err := c.Receive(name, "octet")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// rawResult is what rawGet saw.
type rawResult struct {
	oack     map[string]string // nil: no OACK
	data     []byte
	blocks   int
	errCode  int // 0: no ERROR
	errMsg   string
	wrapped  bool // a block number went from 65535 to 0
	blockLen int  // size of the first DATA block
}

// rawGet is a minimal RFC 1350/2347 client for what pin/tftp's client
// cannot do: send any option, pick the source address, show the OACK and
// the block numbers.
func rawGet(t testing.TB, server net.Addr, src, name string, opts ...string) rawResult {
	t.Helper()
	la := &net.UDPAddr{}
	if src != "" {
		la.IP = net.ParseIP(src)
	}
	c, err := net.ListenUDP("udp", la)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte{0, 1}
	req = append(append(req, name...), 0)
	req = append(append(req, "octet"...), 0)
	for _, o := range opts {
		req = append(append(req, o...), 0)
	}
	srv := server.(*net.UDPAddr)
	if _, err := c.WriteToUDP(req, srv); err != nil {
		t.Fatal(err)
	}
	var res rawResult
	var tid *net.UDPAddr
	blksize := 512
	next := uint16(1)
	buf := make([]byte, 65536)
	ack := func(block uint16) {
		c.WriteToUDP([]byte{0, 4, byte(block >> 8), byte(block)}, tid)
	}
	for {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("rawGet %s: %v (after %d blocks)", name, err, res.blocks)
		}
		if tid == nil {
			tid = from
		} else if from.Port != tid.Port {
			continue
		}
		p := buf[:n]
		if len(p) < 4 {
			t.Fatalf("rawGet %s: short packet % x", name, p)
		}
		switch binary.BigEndian.Uint16(p) {
		case 6: // OACK
			res.oack = map[string]string{}
			f := strings.Split(string(p[2:]), "\x00")
			for i := 0; i+1 < len(f); i += 2 {
				res.oack[f[i]] = f[i+1]
			}
			if v, ok := res.oack["blksize"]; ok {
				blksize = atoi(t, v)
			}
			ack(0)
		case 3: // DATA
			block := binary.BigEndian.Uint16(p[2:])
			if block != next {
				if block == next-1 {
					ack(block) // a retransmission
					continue
				}
				t.Fatalf("rawGet %s: block %d, want %d", name, block, next)
			}
			if res.blocks == 0 {
				res.blockLen = n - 4
			}
			if block == 0 {
				res.wrapped = true
			}
			res.data = append(res.data, p[4:]...)
			res.blocks++
			ack(block)
			next++
			if n-4 < blksize {
				return res
			}
		case 5: // ERROR
			res.errCode = int(binary.BigEndian.Uint16(p[2:]))
			res.errMsg = strings.TrimRight(string(p[4:]), "\x00")
			return res
		default:
			t.Fatalf("rawGet %s: unexpected packet % x", name, p[:min(n, 16)])
		}
	}
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("%q is not a number", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// tftpError reports whether err is the pin/tftp client's report of an
// ERROR packet whose message contains want.
func tftpError(err error, want string) bool {
	return err != nil && strings.Contains(err.Error(), want)
}

// waitIdle waits for the transfers in progress to end (the server counts a
// transfer when the last ACK arrives, after the client has its data) and
// returns the stats.
func waitIdle(t testing.TB, s *Server) Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Active != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("transfers still active: %+v", s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	return s.Stats()
}
