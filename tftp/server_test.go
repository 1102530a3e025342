package tftp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	tftplib "github.com/pin/tftp/v3"
)

func TestNewChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"empty address", Config{}, "listen address is empty"},
		{"no port", Config{Addr: "127.0.0.1"}, "missing port"},
		{"bad port", Config{Addr: "127.0.0.1:70000"}, "bad port"},
		{"host name", Config{Addr: "localhost:0"}, "must be an IP address"},
		{"block size 512", Config{Addr: "127.0.0.1:0", MaxBlockSize: 512}, "not in 513..65464"},
		{"block size too big", Config{Addr: "127.0.0.1:0", MaxBlockSize: 65465}, "not in 513..65464"},
		{"negative timeout", Config{Addr: "127.0.0.1:0", Timeout: -1}, "negative"},
		{"missing root", Config{Addr: "127.0.0.1:0", Root: "/nonexistent/ip6m-tftp"}, "root folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if err == nil {
				s.closeAll()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "tftp: ") {
				t.Errorf("err = %q, want one starting with tftp: and containing %q", err, tt.want)
			}
		})
	}
}

func TestBindBothFamilies(t *testing.T) {
	s := startServer(t, Config{Addr: ":0"})
	addrs := s.Addrs()
	if len(addrs) != 2 {
		t.Fatalf("Addrs = %v, want a v4 and a v6 socket", addrs)
	}
	a4, a6 := addrs[0].(*net.UDPAddr), addrs[1].(*net.UDPAddr)
	if a4.IP.To4() == nil || a6.IP.To4() != nil {
		t.Errorf("Addrs = %v, want v4 then v6", addrs)
	}
	if a4.Port != a6.Port {
		t.Errorf("ports %d and %d differ; with port 0 the v6 socket takes the v4 one's", a4.Port, a6.Port)
	}
	// A second server on the same port fails with EADDRINUSE, wrapped.
	_, err := New(Config{Addr: "127.0.0.1:" + strconv.Itoa(a4.Port)})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second bind: %v, want EADDRINUSE", err)
	}
}

func TestRunReleasesSockets(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	s2, err := New(Config{Addr: addr})
	if err != nil {
		t.Fatalf("port not released: %v", err)
	}
	s2.closeAll()
	if err := s.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

// staticRoot makes a root folder with a file, a subfolder, symlinks in and
// out of the root, and a secret beside the root.
func staticRoot(t *testing.T) (root string, firmware []byte) {
	t.Helper()
	dir := t.TempDir()
	root = filepath.Join(dir, "tftp")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "fw"), 0o755))
	firmware = make([]byte, 100_000)
	for i := range firmware {
		firmware[i] = byte(i * 7)
	}
	must(os.WriteFile(filepath.Join(root, "fw", "cm-fw-5.0.3.bin"), firmware, 0o644))
	must(os.WriteFile(filepath.Join(root, "empty.txt"), nil, 0o644))
	must(os.WriteFile(filepath.Join(dir, "secret"), []byte("outside the root"), 0o644))
	must(os.Symlink(filepath.Join(dir, "secret"), filepath.Join(root, "abs-link")))
	must(os.Symlink("../secret", filepath.Join(root, "rel-link")))
	must(os.Symlink(dir, filepath.Join(root, "dir-link")))
	must(os.Symlink("fw/cm-fw-5.0.3.bin", filepath.Join(root, "latest.bin")))
	must(os.Symlink("../nowhere", filepath.Join(root, "dangling-out")))
	return root, firmware
}

func TestStaticFiles(t *testing.T) {
	root, fw := staticRoot(t)
	s := startServer(t, Config{Root: root})
	tests := []struct {
		name   string
		file   string
		want   []byte
		reason string // refusal reason when refused
	}{
		{"file", "fw/cm-fw-5.0.3.bin", fw, ""},
		{"symlink inside the root", "latest.bin", fw, ""},
		{"redundant slashes and dots", "fw//./cm-fw-5.0.3.bin", fw, ""},
		{"empty file", "empty.txt", []byte{}, ""},
		{"missing file", "fw/nope.bin", nil, ReasonNotFound},
		{"folder", "fw", nil, ReasonNotFound},
		{"dot dot", "../secret", nil, ReasonTraversal},
		{"dot dot inside", "fw/../../secret", nil, ReasonTraversal},
		{"dot dot that stays inside", "fw/../empty.txt", nil, ReasonTraversal},
		{"absolute", "/etc/passwd", nil, ReasonTraversal},
		{"backslash", `..\secret`, nil, ReasonTraversal},
		{"drive letter", `C:/secret`, nil, ReasonTraversal},
		{"absolute symlink out", "abs-link", nil, ReasonTraversal},
		{"relative symlink out", "rel-link", nil, ReasonTraversal},
		{"through a folder symlink out", "dir-link/secret", nil, ReasonTraversal},
		{"dangling symlink out", "dangling-out", nil, ReasonTraversal},
		{"control character", "fw/\x01x", nil, ReasonBadName},
		{"too long", strings.Repeat("a", 300), nil, ReasonBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Stats().RefusedBy[tt.reason]
			got, err := fetch(t, s.Addr(), tt.file, 0, false)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, tt.want) {
					t.Fatalf("got %d bytes, want %d", len(got), len(tt.want))
				}
				return
			}
			wantMsg := "access violation"
			if tt.reason == ReasonNotFound {
				wantMsg = "file not found"
			}
			if !tftpError(err, wantMsg) {
				t.Fatalf("err = %v, want an ERROR %q", err, wantMsg)
			}
			if n := s.Stats().RefusedBy[tt.reason]; n != before+1 {
				t.Errorf("refusals for %q: %d, want %d", tt.reason, n, before+1)
			}
			rs := s.Refusals()
			last := rs[len(rs)-1]
			if last.Reason != tt.reason || last.Name != tt.file[:min(len(tt.file), maxNameLen)] || !last.From.Addr().IsLoopback() {
				t.Errorf("last refusal %+v", last)
			}
		})
	}
	st := waitIdle(t, s)
	if st.Transfers != 4 || st.Bytes != uint64(3*len(fw)) {
		t.Errorf("stats %+v, want 4 transfers of %d bytes", st, 3*len(fw))
	}
}

// TestFileStreamed checks that a static file is handed to the transfer as
// the open file (read block by block as ACKs come), never read whole.
func TestFileStreamed(t *testing.T) {
	root, _ := staticRoot(t)
	s, err := New(Config{Addr: "127.0.0.1:0", Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer s.closeAll()
	f, err := s.open(context.Background(), "fw/cm-fw-5.0.3.bin", netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := f.r.(*os.File); !ok || f.size != 100_000 {
		t.Errorf("static file reader is %T of size %d, want the *os.File", f.r, f.size)
	}
}

func TestNoRootServesNoFiles(t *testing.T) {
	s := startServer(t, Config{})
	_, err := fetch(t, s.Addr(), "anything.bin", 0, false)
	if !tftpError(err, "file not found") {
		t.Fatalf("err = %v", err)
	}
}

func TestWriteRequestRefused(t *testing.T) {
	root, _ := staticRoot(t)
	s := startServer(t, Config{Root: root})
	c, err := tftplib.NewClient(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(2 * time.Second)
	c.SetRetries(1)
	rf, err := c.Send("fw/evil.bin", "octet")
	if err == nil {
		_, err = rf.ReadFrom(strings.NewReader("overwrite"))
	}
	if !tftpError(err, "access violation: this TFTP server is read-only") {
		t.Fatalf("write: %v, want an ERROR saying access violation", err)
	}
	if _, err := os.Stat(filepath.Join(root, "fw", "evil.bin")); !os.IsNotExist(err) {
		t.Error("the write request created a file")
	}
	if n := s.Stats().RefusedBy[ReasonWrite]; n != 1 {
		t.Errorf("write refusals: %d, want 1", n)
	}
}

// TestOptions checks each option of RFC 2347/2348/2349/7440 on the wire.
func TestOptions(t *testing.T) {
	root := t.TempDir()
	data := make([]byte, 70_000)
	for i := range data {
		data[i] = byte(i % 251)
	}
	if err := os.WriteFile(filepath.Join(root, "f.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	def := startServer(t, Config{Root: root})
	big := startServer(t, Config{Root: root, MaxBlockSize: MaxBlockSize})
	size := strconv.Itoa(len(data))
	tests := []struct {
		name     string
		srv      *Server
		opts     []string
		oack     map[string]string // nil: no OACK expected
		blockLen int
	}{
		{"no options", def, nil, nil, 512},
		{"blksize 1024", def, []string{"blksize", "1024"}, map[string]string{"blksize": "1024"}, 1024},
		{"blksize 1468", def, []string{"blksize", "1468"}, map[string]string{"blksize": "1468"}, 1468},
		{"blksize over the cap is clamped", def, []string{"blksize", "9000"}, map[string]string{"blksize": "1468"}, 1468},
		{"blksize 65464 where allowed", big, []string{"blksize", "65464"}, map[string]string{"blksize": "65464"}, 65464},
		{"blksize under 512 is ignored", def, []string{"blksize", "8"}, nil, 512},
		{"blksize not a number is ignored", def, []string{"blksize", "x"}, nil, 512},
		{"tsize", def, []string{"tsize", "0"}, map[string]string{"tsize": size}, 512},
		{"tsize and blksize", def, []string{"blksize", "1400", "tsize", "0"}, map[string]string{"blksize": "1400", "tsize": size}, 1400},
		{"timeout is not acknowledged", def, []string{"timeout", "3"}, nil, 512},
		{"windowsize is not acknowledged", def, []string{"windowsize", "8"}, nil, 512},
		{"all four", def, []string{"blksize", "1468", "tsize", "0", "timeout", "2", "windowsize", "4"}, map[string]string{"blksize": "1468", "tsize": size}, 1468},
		{"unknown option", def, []string{"multicast", ""}, nil, 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, addr := range []net.Addr{tt.srv.Addr()} {
				res := rawGet(t, addr, "", "f.bin", tt.opts...)
				if res.errCode != 0 {
					t.Fatalf("ERROR %d %s", res.errCode, res.errMsg)
				}
				if fmt.Sprint(res.oack) != fmt.Sprint(tt.oack) && !(res.oack == nil && len(tt.oack) == 0) {
					t.Errorf("OACK %v, want %v", res.oack, tt.oack)
				}
				if res.blockLen != tt.blockLen {
					t.Errorf("first block %d bytes, want %d", res.blockLen, tt.blockLen)
				}
				if !bytes.Equal(res.data, data) {
					t.Errorf("got %d bytes, differing from the file", len(res.data))
				}
			}
		})
	}
	// pin/tftp's client negotiates blksize and tsize the same way.
	got, err := fetch(t, def.Addr(), "f.bin", 1468, true)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("pin/tftp client with blksize 1468 and tsize: %d bytes, %v", len(got), err)
	}
}

func TestIPv6(t *testing.T) {
	root, fw := staticRoot(t)
	s := startServer(t, Config{Addr: "[::1]:0", Root: root})
	got, err := fetch(t, s.Addr(), "fw/cm-fw-5.0.3.bin", 1468, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, fw) {
		t.Fatal("firmware differs over IPv6")
	}
	res := rawGet(t, s.Addr(), "::1", "fw/cm-fw-5.0.3.bin", "blksize", "1468")
	if res.oack["blksize"] != "1468" || !bytes.Equal(res.data, fw) {
		t.Errorf("raw v6 fetch: OACK %v, %d bytes", res.oack, len(res.data))
	}
}

// TestRollover sends a 40 MB file at 512-byte blocks: 81,920 blocks, so the
// block number wraps from 65535 to 0 (pin/tftp's uint16 counter), and the
// bytes after the wrap must land in the right place.
func TestRollover(t *testing.T) {
	if testing.Short() {
		t.Skip("40 MB over loopback in lock step; skipped with -short")
	}
	root := t.TempDir()
	const size = 40 << 20
	f, err := os.Create(filepath.Join(root, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil { // sparse
		t.Fatal(err)
	}
	// Marks around the wrap (block 65535 ends at 65535*512) and the end.
	for _, off := range []int64{0, 65534 * 512, 65535*512 - 3, 65535 * 512, 65536*512 + 17, size - 5} {
		if _, err := f.WriteAt([]byte(fmt.Sprintf("@%d", off%100_000))[:3], off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	want, _ := os.ReadFile(filepath.Join(root, "big.bin"))
	s := startServer(t, Config{Root: root})
	res := rawGet(t, s.Addr(), "", "big.bin", "tsize", "0")
	if res.errCode != 0 {
		t.Fatalf("ERROR %d %s", res.errCode, res.errMsg)
	}
	if !res.wrapped || res.blocks != size/512+1 {
		t.Errorf("blocks %d (wrapped %v), want %d with a wrap to 0", res.blocks, res.wrapped, size/512+1)
	}
	if res.oack["tsize"] != strconv.Itoa(size) {
		t.Errorf("tsize %q", res.oack["tsize"])
	}
	if sha256.Sum256(res.data) != sha256.Sum256(want) {
		t.Fatal("40 MB file arrived different")
	}
	// pin/tftp's own client wraps the same way.
	got, err := fetch(t, s.Addr(), "big.bin", 0, false)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("pin/tftp client: %d bytes, %v", len(got), err)
	}
}

func TestBusy(t *testing.T) {
	root, _ := staticRoot(t)
	s := startServer(t, Config{Root: root, MaxTransfers: 1})
	// Hold one transfer open: ask, get block 1, never ACK.
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.WriteToUDP([]byte("\x00\x01fw/cm-fw-5.0.3.bin\x00octet\x00"), s.Addr().(*net.UDPAddr))
	buf := make([]byte, 600)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := c.ReadFromUDP(buf); err != nil {
		t.Fatal(err)
	}
	_, err = fetch(t, s.Addr(), "fw/cm-fw-5.0.3.bin", 0, false)
	if !tftpError(err, "busy") {
		t.Fatalf("second transfer: %v, want busy", err)
	}
	if s.Stats().RefusedBy[ReasonBusy] != 1 {
		t.Errorf("stats %+v", s.Stats())
	}
}

// TestMalformedPackets sends the listening socket what is no request: the
// server counts it, and goes on serving.
func TestMalformedPackets(t *testing.T) {
	root, fw := staticRoot(t)
	s := startServer(t, Config{Root: root})
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	junk := [][]byte{
		{0},                   // shorter than an opcode
		{0, 99, 1, 2},         // unknown opcode
		[]byte("\x00\x01abc"), // RRQ without a mode
		{0, 3, 0, 1, 'x'},     // DATA to the request port
		{0, 4, 0, 1},          // ACK to the request port
		bytes.Repeat([]byte{0xff}, 3000),
		append([]byte("\x00\x01"), bytes.Repeat([]byte("a/"), 1000)...),
	}
	for _, p := range junk {
		if _, err := c.WriteToUDP(p, s.Addr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := fetch(t, s.Addr(), "fw/cm-fw-5.0.3.bin", 1468, false)
	if err != nil || !bytes.Equal(got, fw) {
		t.Fatalf("after junk: %d bytes, %v", len(got), err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.Stats().Malformed < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Stats(); st.Malformed < 5 {
		t.Errorf("malformed %d, want at least 5 of %d junk datagrams", st.Malformed, len(junk))
	}
}
