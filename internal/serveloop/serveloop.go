// Package serveloop holds what the UDP/TCP servers' read and accept loops
// share: backing off after socket errors and surviving a panic.
package serveloop

import (
	"log/slog"
	"time"
)

// Pause waits after a read or accept error, doubling *backoff on each
// error in a row from 5 ms up to max, so a socket that keeps failing does
// not spin. It warns once when the errors start (when *backoff is 0; the
// loop resets it to 0 after a success), and returns false if stop is
// closed meanwhile.
func Pause(log *slog.Logger, stop <-chan struct{}, backoff *time.Duration, max time.Duration, what string, err error) bool {
	if *backoff == 0 {
		log.Warn(what+" failing, retrying", "err", err)
		*backoff = 5 * time.Millisecond
	} else {
		*backoff = min(2**backoff, max)
	}
	t := time.NewTimer(*backoff)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

// RanToEnd runs loop and reports whether it returned normally; a panic is
// recovered and handed to onPanic.
func RanToEnd(loop func(), onPanic func(v any)) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			onPanic(v)
		}
	}()
	loop()
	return true
}

// RestartAfterPanic runs loop until it returns normally, running it again
// after each panic (handed to onPanic). Requests recover on their own;
// this is for the loops.
func RestartAfterPanic(loop func(), onPanic func(v any)) {
	for !RanToEnd(loop, onPanic) {
	}
}
