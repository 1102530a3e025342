package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
		bad  bool
	}{
		{
			name: "kea",
			in:   "4242 (kea-dhcp4) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 130 0 0 20 0 3 0 100 0 0 18446744073709551615",
			want: 3800 * time.Millisecond,
		},
		{
			name: "name with spaces and parentheses",
			in:   "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5",
			want: 30 * time.Millisecond,
		},
		{name: "truncated", in: "7 (x) R 1 2", bad: true},
		{name: "no name", in: "7 x R", bad: true},
		{name: "not a number", in: "7 (x) R 1 7 7 0 -1 0 0 0 0 0 u s 0 0", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat(tt.in)
			if tt.bad {
				if err == nil {
					t.Errorf("accepted, got %v", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Errorf("own /proc stat: %v", err)
	}
}

func TestResultOutput(t *testing.T) {
	cfg := Config{Modems: make([]MAC, 3), Window: 4}
	lat := []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}
	res := newResult(cfg, Counters{Started: 4, Completed: 3, NAKs: 1, Sent: 8, Drops: 2, CompletedBy: map[string]int{"cm": 2, "cpe": 1}}, lat, 2*time.Second)
	res.ServerCPU = newCPU(30*time.Millisecond, res.Completed)
	if res.ExchangesPerSec != 1.5 || res.DropPercent != 25 {
		t.Errorf("rate %v, drop %% %v", res.ExchangesPerSec, res.DropPercent)
	}
	if res.Latency != (LatencyStats{P50: 2, P90: 3, P99: 3, Max: 3}) {
		t.Errorf("latency %+v", res.Latency)
	}
	if res.ServerCPU.MicrosPerExchange != 10000 {
		t.Errorf("server cpu %+v", res.ServerCPU)
	}
	var text bytes.Buffer
	if err := res.writeText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 completed (cm 2, cpe 1)", "1.5 exchanges/s", "p50 2.000 ms", "1 NAK", "10000.0 µs per exchange", "25.000% of sent"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := res.writeJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"completed": 3.0, "naks": 1.0, "exchanges_per_s": 1.5, "drops": 2.0} {
		if back[key] != want {
			t.Errorf("JSON %s = %v, want %v", key, back[key], want)
		}
	}
	if lat, ok := back["latency_ms"].(map[string]any); !ok || lat["p99"] != 3.0 {
		t.Errorf("JSON latency_ms = %v", back["latency_ms"])
	}
}
