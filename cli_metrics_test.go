package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"ip6m/timesrv"
)

// TestServeMetrics starts serve with the time and DHCPv4 services and
// --metrics, asks the time service twice, and scrapes /metrics over HTTP:
// the counters are the services' own, in the Prometheus text format.
func TestServeMetrics(t *testing.T) {
	dir := t.TempDir()
	timeAddr, metricsAddr := freePort(t), freePort(t)
	cfg := &serveConfig{data: dir, time: timeAddr, dhcp4: freeUDP(t).String(), relayPort: 67, metrics: metricsAddr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)), io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	for i := 0; ; i++ {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("GET /metrics → %d: %s", resp.StatusCode, b)
			}
			break
		}
		if i == 100 {
			t.Fatalf("metrics never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 2 {
		qctx, qcancel := context.WithTimeout(ctx, 3*time.Second)
		if _, err := timesrv.Query(qctx, "udp", timeAddr); err != nil {
			t.Fatalf("time service: %v", err)
		}
		qcancel()
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	for _, want := range []string{
		"# TYPE ip6m_time_requests_total counter",
		`ip6m_time_requests_total{proto="udp"} 2`,
		`ip6m_time_requests_total{proto="tcp"} 0`,
		`ip6m_dhcp_received_total{family="v4"} 0`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Services that are off have no metrics, rather than zeros that look
	// like an idle service.
	for _, absent := range []string{"ip6m_dhcp_received_total{family=\"v6\"}", "ip6m_tftp_", "ip6m_dns_"} {
		if strings.Contains(body, absent) {
			t.Errorf("/metrics has %q for a service that is off", absent)
		}
	}
	if r, err := http.Post("http://"+metricsAddr+"/metrics", "text/plain", nil); err == nil {
		if r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /metrics → %d", r.StatusCode)
		}
		r.Body.Close()
	}
}

// TestServeMetricsBusyPort: a taken metrics address is logged with advice
// and the other services run on.
func TestServeMetricsBusyPort(t *testing.T) {
	dir := t.TempDir()
	busy := freePort(t)
	l, err := net.Listen("tcp", busy)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	timeAddr := freePort(t)
	var logs syncWriter
	logs.w = &bytes.Buffer{}
	cfg := &serveConfig{data: dir, time: timeAddr, metrics: busy}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard) }()
	var qerr error
	for range 50 {
		qctx, qcancel := context.WithTimeout(ctx, time.Second)
		_, qerr = timesrv.Query(qctx, "udp", timeAddr)
		qcancel()
		if qerr == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if qerr != nil {
		t.Errorf("time service with the metrics port taken: %v", qerr)
	}
	if !strings.Contains(logs.String(), "Prometheus metrics") {
		t.Errorf("no word of the taken metrics address in the log:\n%s", logs.String())
	}
}
