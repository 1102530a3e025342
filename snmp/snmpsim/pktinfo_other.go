//go:build !linux

package snmpsim

import (
	"errors"
	"net"
	"net/netip"
)

// listen binds 127.0.0.1 only: without IP_PKTINFO one socket cannot answer
// from many addresses, so elsewhere the simulator serves its first address.
func listen(port uint16) (*net.UDPConn, error) {
	return net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
}

func readFrom(c *net.UDPConn, buf []byte) (int, netip.AddrPort, netip.Addr, error) {
	n, from, err := c.ReadFromUDPAddrPort(buf)
	return n, from, netip.AddrFrom4([4]byte{127, 0, 0, 1}), err
}

func writeFrom(c *net.UDPConn, b []byte, to netip.AddrPort, src netip.Addr) error {
	if src != netip.AddrFrom4([4]byte{127, 0, 0, 1}) {
		return errors.New("snmpsim: several addresses need Linux")
	}
	_, err := c.WriteToUDPAddrPort(b, to)
	return err
}
