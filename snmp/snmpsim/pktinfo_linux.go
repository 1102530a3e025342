package snmpsim

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// listen binds the wildcard address with IP_PKTINFO, so one socket
// serves every simulated address of 127.0.0.0/8.
func listen(port uint16) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero, Port: int(port)})
	if err != nil {
		return nil, err
	}
	rc, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_PKTINFO, 1)
	}); err != nil {
		c.Close()
		return nil, err
	}
	if serr != nil {
		c.Close()
		return nil, serr
	}
	_ = c.SetReadBuffer(8 << 20)
	_ = c.SetWriteBuffer(8 << 20)
	return c, nil
}

// readFrom reads one datagram and the address it was sent to.
func readFrom(c *net.UDPConn, buf []byte) (int, netip.AddrPort, netip.Addr, error) {
	var oob [64]byte
	n, oobn, _, from, err := c.ReadMsgUDPAddrPort(buf, oob[:])
	if err != nil {
		return 0, from, netip.Addr{}, err
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return 0, from, netip.Addr{}, err
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.IPPROTO_IP && m.Header.Type == syscall.IP_PKTINFO && len(m.Data) >= syscall.SizeofInet4Pktinfo {
			pi := (*syscall.Inet4Pktinfo)(unsafe.Pointer(&m.Data[0]))
			return n, from, netip.AddrFrom4(pi.Addr), nil
		}
	}
	return 0, from, netip.Addr{}, syscall.EINVAL
}

// writeFrom sends b to to from the local address src.
func writeFrom(c *net.UDPConn, b []byte, to netip.AddrPort, src netip.Addr) error {
	oob := make([]byte, syscall.CmsgSpace(syscall.SizeofInet4Pktinfo))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level = syscall.IPPROTO_IP
	h.Type = syscall.IP_PKTINFO
	h.SetLen(syscall.CmsgLen(syscall.SizeofInet4Pktinfo))
	pi := (*syscall.Inet4Pktinfo)(unsafe.Pointer(&oob[syscall.CmsgLen(0)]))
	pi.Spec_dst = src.As4()
	_, _, err := c.WriteMsgUDPAddrPort(b, oob, to)
	return err
}
