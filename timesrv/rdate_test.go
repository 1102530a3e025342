package timesrv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRdate reads the time with Debian's rdate (OpenRdate), over TCP and UDP
// (-u) on each loopback family, at the test port (-o). It always passes -p,
// print only: the test must never set the clock of the machine it runs on.
//
// rdate reads a value as the instant within 2^31 seconds of the 2036
// rollover (1968-01-20 to 2104-02-26), so the 1900 epoch case, value 0,
// prints as 2036-02-07T06:28:16Z: that is rdate's choice of era, and Time
// with the rollover as near makes the same one.
func TestRdate(t *testing.T) {
	path, err := exec.LookPath("rdate")
	if err != nil {
		t.Skip("rdate is not installed (Debian: apt-get install rdate); skipping the interoperability check with it")
	}
	rollover := date(2036, 2, 7, 6, 28, 16)
	for _, addr := range loopbacks(t) {
		t.Run(addr, func(t *testing.T) {
			clk := newClock(time.Now())
			s := start(t, Config{Addr: addr, Now: clk.Now, RatePerSecond: noLimitRate, Burst: noLimitBurst})
			udp := s.UDPAddr().(*net.UDPAddr)
			tcp := s.TCPAddr().(*net.TCPAddr)
			for _, tc := range rfc868Cases() {
				for _, transport := range []struct {
					name string
					args []string
				}{
					{"tcp", []string{"-p", "-o", strconv.Itoa(tcp.Port), tcp.IP.String()}},
					{"udp", []string{"-p", "-u", "-o", strconv.Itoa(udp.Port), udp.IP.String()}},
				} {
					t.Run(tc.name+"/"+transport.name, func(t *testing.T) {
						clk.Set(tc.at)
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						cmd := exec.CommandContext(ctx, path, transport.args...)
						cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
						out, err := cmd.CombinedOutput()
						if err != nil {
							t.Fatalf("rdate %s: %v\n%s", strings.Join(transport.args, " "), err, out)
						}
						got, err := time.Parse(time.UnixDate, strings.TrimSpace(string(out)))
						if err != nil {
							t.Fatalf("rdate %s printed %q: %v", strings.Join(transport.args, " "), out, err)
						}
						if want := Time(tc.want, rollover); !got.Equal(want) {
							t.Errorf("rdate %s printed %v, want %v", strings.Join(transport.args, " "), got, want)
						}
					})
				}
			}
			n := uint64(len(rfc868Cases()))
			if st := s.Stats(); st.UDPRequests != n || st.TCPRequests != n {
				t.Errorf("stats %+v, want %d UDP and %d TCP requests", st, n, n)
			}
		})
	}
}
