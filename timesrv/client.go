package timesrv

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// queryTimeout bounds a Query whose context has no deadline.
const queryTimeout = 5 * time.Second

// Query asks the RFC 868 server at addr for the time over network ("udp",
// "udp4", "udp6", "tcp", "tcp4" or "tcp6") and returns the 32-bit value it
// sent; Time turns that into a time.Time. Over UDP it sends one empty
// datagram, as the RFC says, and does not retry. Without a deadline in ctx it
// gives up after 5 seconds.
func Query(ctx context.Context, network, addr string) (uint32, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, queryTimeout)
		defer cancel()
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return 0, fmt.Errorf("rfc 868 query: %w", err)
	}
	defer c.Close()
	// Unblock the read once ctx is done (by then ctx.Err says why).
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var buf [4]byte
	fail := func(err error) (uint32, error) {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return 0, fmt.Errorf("rfc 868 query %s: %w", addr, err)
	}
	switch network {
	case "udp", "udp4", "udp6":
		if _, err := c.Write(nil); err != nil {
			return fail(err)
		}
		// A bigger buffer, so that a reply of the wrong length shows as one.
		var reply [64]byte
		n, err := c.Read(reply[:])
		if err != nil {
			return fail(err)
		}
		if n != 4 {
			return 0, fmt.Errorf("rfc 868 query %s: reply is %d bytes, not 4", addr, n)
		}
		copy(buf[:], reply[:n])
	default:
		if _, err := io.ReadFull(c, buf[:]); err != nil {
			return fail(err)
		}
	}
	return binary.BigEndian.Uint32(buf[:]), nil
}
