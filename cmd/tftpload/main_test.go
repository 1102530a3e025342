package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ip6m/store"
	"ip6m/tftp"
)

// startIP6M runs ip6m's TFTP server on a demo data folder with a 3 MB
// firmware file, anti-theft on.
func startIP6M(t *testing.T, modems int, antiTheftOff bool) (data string, srv *tftp.Server) {
	t.Helper()
	ctx := context.Background()
	data = t.TempDir()
	st, err := store.Open(ctx, data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: modems, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(data, "tftp")
	os.MkdirAll(filepath.Join(root, "fw"), 0o755)
	fw := bytes.Repeat([]byte("firmware"), 3<<20/8)
	if err := os.WriteFile(filepath.Join(root, "fw", "cm.bin"), fw, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := tftp.New(tftp.Config{Addr: "127.0.0.1:0", Root: root, Source: st, DisableAntiTheft: antiTheftOff,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return data, s
}

var lineRE = regexp.MustCompile(`(?m)^(.*): (\d+) transfers, (\d+) failed`)

// counts returns transfers and failures per phase of a report.
func counts(t *testing.T, out string) map[string][2]int {
	t.Helper()
	m := map[string][2]int{}
	for _, g := range lineRE.FindAllStringSubmatch(out, -1) {
		ok, _ := strconv.Atoi(g[2])
		failed, _ := strconv.Atoi(g[3])
		m[g[1]] = [2]int{ok, failed}
	}
	return m
}

func TestLoadWithGrantedLeases(t *testing.T) {
	data, s := startIP6M(t, 40, false)
	var out bytes.Buffer
	err := run(context.Background(), []string{"-server", s.Addr().String(), "-data", data, "-src", "127.7.0.0/16", "-grant",
		"-c", "8", "-n", "200", "-duration", "20s", "-file", "fw/cm.bin", "-file-count", "2", "-file-blksize", "1468"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	c := counts(t, out.String())
	if c["configs"] != [2]int{200, 0} || c["file fw/cm.bin (blksize 1468)"] != [2]int{2, 0} {
		t.Fatalf("report:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "transfers/s") || !strings.Contains(out.String(), "latency p50") {
		t.Errorf("report lacks rates:\n%s", out.String())
	}
	// Each enabled modem's config was built once (the demo disables about
	// 3 %), the other requests came from the cache.
	if st := s.Stats(); st.Refused != 0 || st.Compiles < 30 || st.Compiles > 40 || st.Compiles+st.CacheHits != 200 {
		t.Errorf("server stats %+v", st)
	}
}

func TestLoadRefusedWithoutLeases(t *testing.T) {
	data, s := startIP6M(t, 10, false)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-server", s.Addr().String(), "-data", data, "-src", "127.8.0.0/16",
		"-c", "4", "-n", "20", "-timeout", "500ms", "-retries", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, out.String()); c["configs"] != [2]int{0, 20} || !strings.Contains(out.String(), "access violation") {
		t.Fatalf("report:\n%s", out.String())
	}
}

func TestLoadNamesList(t *testing.T) {
	_, s := startIP6M(t, 5, true)
	list := filepath.Join(t.TempDir(), "names")
	os.WriteFile(list, []byte("# modems\ncm/4432c82109e7.cfg\ncm/4432c8418c67.cfg\n\nfw/cm.bin\n"), 0o644)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-server", s.Addr().String(), "-names", list, "-c", "3", "-n", "30", "-blksize", "1468"}, &out); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, out.String()); c["configs"] != [2]int{30, 0} {
		t.Fatalf("report:\n%s", out.String())
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-server", "10.0.0.1:69", "-names", "x"}, "not a loopback address"},
		{[]string{"-names", "x", "-c", "0"}, "-c 0"},
		{[]string{"-names", "x", "-n", "20000000"}, "-n 20000000"},
		{[]string{"-names", "x", "-duration", "2h"}, "--duration"},
		{[]string{}, "nothing to fetch"},
		{[]string{"-names", "x", "-grant"}, "--grant needs"},
		{[]string{"-names", "x", "-src", "10.0.0.0/8"}, "loopback prefix"},
		{[]string{"-names", "x", "-blksize", "100"}, "blksize"},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.want)
		}
	}
}

// TestClientRollover fetches a file of more than 65535 blocks of 512
// bytes: the client's block counter wraps like the server's.
func TestClientRollover(t *testing.T) {
	if testing.Short() {
		t.Skip("34 MB in lock step")
	}
	root := t.TempDir()
	f, _ := os.Create(filepath.Join(root, "big.bin"))
	f.Truncate(65536*512 + 100)
	f.Close()
	s, err := tftp.New(tftp.Config{Addr: "127.0.0.1:0", Root: root, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	cl := &client{timeout: time.Second, retries: 3}
	n, err := cl.get(context.Background(), netip.MustParseAddrPort(s.Addr().String()), netip.Addr{}, "big.bin")
	if err != nil || n != 65536*512+100 {
		t.Fatalf("got %d bytes, %v", n, err)
	}
}

// TestFigures measures ip6m's TFTP server in-process with the load tool:
// 50 concurrent simulated modems with their own addresses and leases over
// a 10,000-modem demo inventory (each config built on the fly once, then
// served from the cache), and one firmware file at blksize 512 and 1468.
// With TFTPD_HPA=/path/to/in.tftpd it then runs Debian's tftpd-hpa on
// static files of the same names and size and measures it the same way.
// It runs only with TFTPLOAD_FIGURES=1:
//
//	TFTPLOAD_FIGURES=1 TFTPD_HPA=/usr/sbin/in.tftpd go test -v -run Figures ./cmd/tftpload/
func TestFigures(t *testing.T) {
	if os.Getenv("TFTPLOAD_FIGURES") == "" {
		t.Skip("set TFTPLOAD_FIGURES=1 to measure")
	}
	data, s := startIP6M(t, 10_000, false)
	fw := filepath.Join(data, "tftp", "fw", "big.bin")
	if err := os.WriteFile(fw, bytes.Repeat([]byte{0xa5}, 32<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := [][]string{
		{"-c", "50", "-n", "10000", "-duration", "60s"},
		{"-c", "50", "-n", "30000", "-duration", "30s"},
		{"-file", "fw/big.bin", "-file-blksize", "512"},
		{"-file", "fw/big.bin", "-file-blksize", "1468"},
		{"-file", "fw/big.bin", "-file-blksize", "1468", "-file-count", "4"},
	}
	ip6mArgs := func(i int) []string {
		if i == 0 {
			return []string{"-data", data, "-src", "127.9.0.0/16", "-grant"}
		}
		if i == 1 {
			return []string{"-data", data, "-src", "127.9.0.0/16"}
		}
		return nil
	}
	for i, args := range runs {
		var out bytes.Buffer
		before := s.Stats()
		args = append(ip6mArgs(i), args...)
		if err := run(context.Background(), append([]string{"-server", s.Addr().String()}, args...), &out); err != nil {
			t.Fatal(err)
		}
		after := s.Stats()
		t.Logf("ip6m: tftpload %s\n%scompiles %d, cache hits %d", strings.Join(args, " "), out.String(),
			after.Compiles-before.Compiles, after.CacheHits-before.CacheHits)
	}

	hpa := os.Getenv("TFTPD_HPA")
	if hpa == "" {
		return
	}
	// The same names, as static files of the size ip6m's configs have.
	targets, err := loadTargets(context.Background(), config{data: data})
	if err != nil {
		t.Fatal(err)
	}
	cl := &client{timeout: time.Second, retries: 3}
	size, err := cl.get(context.Background(), netip.MustParseAddrPort(s.Addr().String()), netip.MustParseAddr("127.9.0.1"), targets[0].name)
	if err != nil {
		t.Fatal(err)
	}
	static := filepath.Join(t.TempDir(), "static")
	os.MkdirAll(filepath.Join(static, "cm"), 0o755)
	os.MkdirAll(filepath.Join(static, "fw"), 0o755)
	names := filepath.Join(t.TempDir(), "names")
	var list bytes.Buffer
	for _, tg := range targets {
		if err := os.WriteFile(filepath.Join(static, tg.name), bytes.Repeat([]byte{1}, int(size)), 0o644); err != nil {
			t.Fatal(err)
		}
		list.WriteString(tg.name + "\n")
	}
	os.WriteFile(names, list.Bytes(), 0o644)
	if err := os.Link(fw, filepath.Join(static, "fw", "big.bin")); err != nil {
		t.Fatal(err)
	}
	port := 20000 + os.Getpid()%20000
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(hpa, "-L", "-s", "-u", "root", "-a", addr, static)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+os.Getenv("TFTPD_HPA_LIBS"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(300 * time.Millisecond)
	pid := strconv.Itoa(cmd.Process.Pid)
	for i, args := range runs {
		if i == 0 {
			args = append([]string{"-names", names}, args...)
		} else if i == 1 {
			args = append([]string{"-names", names}, args...)
		}
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"-server", addr, "-server-pid", pid}, args...), &out); err != nil {
			t.Fatalf("%v (tftpd-hpa: %s)", err, stderr.String())
		}
		t.Logf("tftpd-hpa: tftpload %s\n%s", strings.Join(args, " "), out.String())
	}
}
