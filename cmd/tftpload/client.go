package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// client fetches files like a cable modem does: one RRQ per file from a
// fresh socket (a new TID), optionally asking for blksize, ACKing each
// block, resending its last packet when the server goes quiet.
type client struct {
	timeout time.Duration
	retries int
	blksize int // 0 or 512: no option
}

// errTimeout is a transfer that got no answer after every retry.
var errTimeout = errors.New("timeout")

// get downloads name from server, sending from src (zero: any address),
// and returns the bytes received.
func (c *client) get(ctx context.Context, server netip.AddrPort, src netip.Addr, name string) (int64, error) {
	var la *net.UDPAddr
	if src.IsValid() {
		la = net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	}
	network := "udp4"
	if server.Addr().Is6() {
		network = "udp6"
	}
	conn, err := net.ListenUDP(network, la)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	req := make([]byte, 0, 2+len(name)+32)
	req = append(req, 0, 1)
	req = append(append(req, name...), 0)
	req = append(append(req, "octet"...), 0)
	blk := 512
	if c.blksize > 512 {
		req = append(append(req, "blksize"...), 0)
		req = append(append(req, strconv.Itoa(c.blksize)...), 0)
	}
	buf := make([]byte, max(c.blksize, 512)+4)
	last := req
	dest := server
	tid := false
	expect := uint16(1)
	var n int64
	var ack [4]byte
	send := func(p []byte) error {
		_, err := conn.WriteToUDPAddrPort(p, dest)
		return err
	}
	if err := send(last); err != nil {
		return 0, err
	}
	tries := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		conn.SetReadDeadline(time.Now().Add(c.timeout))
		nr, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if tries++; tries > c.retries {
					return n, errTimeout
				}
				if err := send(last); err != nil {
					return n, err
				}
				continue
			}
			return n, err
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if !tid {
			if from.Addr() != server.Addr() {
				continue
			}
			dest, tid = from, true
		} else if from != dest {
			continue
		}
		p := buf[:nr]
		if len(p) < 4 {
			return n, fmt.Errorf("short packet from %s", from)
		}
		switch binary.BigEndian.Uint16(p) {
		case 6: // OACK
			f := strings.Split(string(p[2:]), "\x00")
			for i := 0; i+1 < len(f); i += 2 {
				if f[i] == "blksize" {
					if v, err := strconv.Atoi(f[i+1]); err == nil && v >= 8 && v <= c.blksize {
						blk = v
					}
				}
			}
			binary.BigEndian.PutUint16(ack[:], 4)
			binary.BigEndian.PutUint16(ack[2:], 0)
		case 3: // DATA
			block := binary.BigEndian.Uint16(p[2:])
			if block != expect {
				if block == expect-1 {
					send(last) // our ACK was lost: say it again
				}
				continue
			}
			n += int64(nr - 4)
			binary.BigEndian.PutUint16(ack[:], 4)
			binary.BigEndian.PutUint16(ack[2:], block)
			expect++
			if nr-4 < blk {
				return n, send(ack[:])
			}
		case 5: // ERROR
			return n, fmt.Errorf("ERROR %d: %s", binary.BigEndian.Uint16(p[2:]), strings.TrimRight(string(p[4:]), "\x00"))
		default:
			return n, fmt.Errorf("unexpected opcode %d", binary.BigEndian.Uint16(p))
		}
		last = ack[:]
		tries = 0
		if err := send(last); err != nil {
			return n, err
		}
	}
}
