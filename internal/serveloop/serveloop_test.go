package serveloop

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestPauseBacksOffAndWarnsOnce(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	stop := make(chan struct{})
	var backoff time.Duration
	want := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}
	for i, w := range want {
		if !Pause(log, stop, &backoff, 20*time.Millisecond, "udp read", errors.New("boom")) {
			t.Fatalf("pause %d returned false with stop open", i)
		}
		if backoff != w {
			t.Errorf("pause %d: backoff %v, want %v", i, backoff, w)
		}
	}
	if n := strings.Count(logs.String(), "udp read failing"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, logs.String())
	}
	close(stop)
	start := time.Now()
	if Pause(log, stop, &backoff, time.Hour, "udp read", errors.New("boom")) {
		t.Error("pause returned true with stop closed")
	}
	if time.Since(start) > 10*time.Second {
		t.Error("pause did not end at stop")
	}
}

func TestRestartAfterPanic(t *testing.T) {
	runs := 0
	var panics []any
	RestartAfterPanic(func() {
		runs++
		if runs < 3 {
			panic(runs)
		}
	}, func(v any) { panics = append(panics, v) })
	if runs != 3 || len(panics) != 2 || panics[0] != 1 || panics[1] != 2 {
		t.Errorf("runs %d, panics %v", runs, panics)
	}
	if RanToEnd(func() { panic("x") }, func(any) {}) {
		t.Error("RanToEnd reports a panicking loop as ended normally")
	}
	if !RanToEnd(func() {}, func(any) { t.Error("onPanic without a panic") }) {
		t.Error("RanToEnd reports a normal loop as panicked")
	}
}
