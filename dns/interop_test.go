package dns

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDigInterop asks the relay with Debian's dig (package bind9-dnsutils),
// over UDP and TCP, for a forwarded, a local and a reverse name.
func TestDigInterop(t *testing.T) {
	dig, err := exec.LookPath("dig")
	if err != nil {
		t.Skip("dig not installed (apt-get install bind9-dnsutils); skipping the interoperability test")
	}
	up := startUpstream(t, "127.0.0.1")
	names := &fakeNames{}
	names.set(Host{Kind: "cm", MAC: "44:32:c8:21:09:e7", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5")}})
	s := testServer(t, Config{Upstreams: []string{up.addr}, Domain: "example.net", Names: names})
	waitFor(t, func() bool { return s.Stats().LocalNames == 1 })
	_, port, _ := net.SplitHostPort(s.Addr().String())

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"a.test", "A"}, "192.0.2.1"},
		{[]string{"+tcp", "a.test", "A"}, "192.0.2.1"},
		{[]string{"+bufsize=4096", "cm-4432c82109e7.cm.example.net", "A"}, "10.0.0.5"},
		{[]string{"-x", "10.0.0.5"}, "cm-4432c82109e7.cm.example.net."},
		{[]string{"+noedns", "big.test", "TXT"}, strings.Repeat("a", 100)}, // TC, then dig retries over TCP
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		args := append([]string{"@127.0.0.1", "-p", port, "+short", "+time=2", "+tries=1"}, tc.args...)
		out, err := exec.CommandContext(ctx, dig, args...).CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("dig %s: %v\n%s\nwant %q", strings.Join(args, " "), err, out, tc.want)
		}
	}
}
