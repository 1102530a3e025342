package tftp

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInteropTFTPHPA fetches a firmware file and a modem config with
// Debian's tftp-hpa client (apt-get install tftp-hpa), and checks that a
// missing file is reported as an error.
func TestInteropTFTPHPA(t *testing.T) {
	bin, err := exec.LookPath("tftp")
	if err != nil {
		t.Skip("tftp-hpa's tftp client is not installed (apt-get install -y tftp-hpa); interoperability not checked")
	}
	if v, _ := exec.Command(bin, "-V").CombinedOutput(); !strings.Contains(string(v), "tftp-hpa") {
		t.Skipf("%s is not tftp-hpa's client (it says %q); interoperability not checked", bin, strings.TrimSpace(string(v)))
	}
	root, fw := staticRoot(t)
	st := openStore(t, 10)
	_, _, key := modemInfo(t, st, mac1)
	grant(t, st, "127.0.0.1", mac1, time.Time{})
	s := startServer(t, Config{Root: root, Source: st})
	port := strconv.Itoa(s.Addr().(*net.UDPAddr).Port)
	run := func(remote string) ([]byte, string) {
		t.Helper()
		local := filepath.Join(t.TempDir(), "got")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "-4", "127.0.0.1", port, "-m", "binary", "-c", "get", remote, local).CombinedOutput()
		if err != nil {
			t.Logf("tftp: %v", err)
		}
		data, _ := os.ReadFile(local)
		return data, string(out)
	}
	if got, out := run("fw/cm-fw-5.0.3.bin"); !bytes.Equal(got, fw) {
		t.Errorf("firmware: got %d bytes, want %d; tftp said %q", len(got), len(fw), out)
	}
	got, out := run(cmName(mac1))
	if len(got) == 0 {
		t.Fatalf("config: nothing; tftp said %q", out)
	}
	checkCM(t, got, key)
	if _, out := run("fw/missing.bin"); !strings.Contains(out, "file not found") {
		t.Errorf("missing file: tftp said %q, want the ERROR's message", out)
	}
	if testing.Short() {
		return
	}
	// Block number rollover: tftp-hpa's client asks for no options, so
	// 512-byte blocks, and 34 MB needs more than 65535 of them.
	big := make([]byte, 65536*512+300)
	for i := 0; i < len(big); i += 4096 {
		big[i] = byte(i >> 12)
	}
	if err := os.WriteFile(filepath.Join(root, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, out := run("big.bin"); !bytes.Equal(got, big) {
		t.Errorf("34 MB file through the block number wrap: got %d bytes, want %d; tftp said %q", len(got), len(big), out)
	}
}

// TestInteropCurl fetches with curl's TFTP client, which negotiates
// blksize and tsize.
func TestInteropCurl(t *testing.T) {
	bin, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed; interoperability not checked")
	}
	if out, _ := exec.Command(bin, "-V").Output(); !strings.Contains(string(out), "tftp") {
		t.Skip("this curl has no TFTP support")
	}
	root, fw := staticRoot(t)
	s := startServer(t, Config{Root: root})
	for _, blk := range []string{"512", "1468"} {
		local := filepath.Join(t.TempDir(), "got")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, bin, "-sS", "--tftp-blksize", blk, "-o", local, "tftp://"+s.Addr().String()+"/fw/cm-fw-5.0.3.bin").CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("curl blksize %s: %v: %s", blk, err, out)
		}
		if got, _ := os.ReadFile(local); !bytes.Equal(got, fw) {
			t.Errorf("curl blksize %s: got %d bytes, want %d", blk, len(got), len(fw))
		}
	}
}
