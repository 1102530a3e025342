package main

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func TestPacketsOnTheWire(t *testing.T) {
	modem := MAC{0x44, 0x32, 0xc8, 0x21, 0x09, 0xe7}
	b := packetBuilder{giaddr: net.IPv4(127, 0, 0, 2).To4()}
	tests := []struct {
		kind     Kind
		chaddr   MAC
		vendor   string
		clientID []byte
	}{
		{KindCM, modem, "docsis3.0:", []byte{0xff, 0xc8, 0x21, 0x09, 0xe7, 0, 3, 0, 1, 0x44, 0x32, 0xc8, 0x21, 0x09, 0xe7}},
		{KindMTA, MAC{0x44, 0x32, 0xc8, 0x21, 0x09, 0xe8}, "pktc1.5:", []byte{1, 0x44, 0x32, 0xc8, 0x21, 0x09, 0xe8}},
		{KindCPE, MAC{0x44, 0x32, 0xc8, 0x21, 0x09, 0xe9}, "", []byte{1, 0x44, 0x32, 0xc8, 0x21, 0x09, 0xe9}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			msg := b.newMessage(0x01020304, newClient(tt.kind, modem, 11))
			for _, wire := range [][]byte{
				b.discover(msg),
				b.request(msg, netip.MustParseAddr("10.1.0.10"), netip.MustParseAddr("127.0.0.1")),
			} {
				opts, order, err := rawOptions(wire[240:])
				if err != nil {
					t.Fatal(err)
				}
				if wire[3] != 1 || !bytes.Equal(wire[24:28], []byte{127, 0, 0, 2}) || !bytes.Equal(wire[28:34], tt.chaddr[:]) {
					t.Errorf("hops %d giaddr %v chaddr %x", wire[3], wire[24:28], wire[28:34])
				}
				if order[len(order)-1] != 82 {
					t.Errorf("option order %v: 82 must come last", order)
				}
				want82 := append([]byte{1, 12}, "cable1/0/0:3"...)
				want82 = append(append(want82, 2, 6), modem[:]...)
				if !bytes.Equal(opts[82], want82) {
					t.Errorf("option 82 %x, want %x", opts[82], want82)
				}
				if !bytes.HasPrefix(opts[60], []byte(tt.vendor)) || (tt.vendor == "") != (opts[60] == nil) {
					t.Errorf("option 60 %q, want prefix %q", opts[60], tt.vendor)
				}
				if !bytes.Equal(opts[61], tt.clientID) {
					t.Errorf("option 61 %x, want %x", opts[61], tt.clientID)
				}
				switch opts[53][0] {
				case 1:
					if opts[50] != nil || opts[54] != nil {
						t.Errorf("DISCOVER with option 50/54")
					}
				case 3:
					if !bytes.Equal(opts[50], []byte{10, 1, 0, 10}) || !bytes.Equal(opts[54], []byte{127, 0, 0, 1}) {
						t.Errorf("REQUEST option 50 %v, 54 %v", opts[50], opts[54])
					}
				}
			}
		})
	}
	// The vendor classes carry well-formed TLV 5 in hex.
	for _, vc := range []string{cmVendorClass, mtaVendorClass} {
		hexPart := vc[bytes.IndexByte([]byte(vc), ':')+1:]
		if len(hexPart)%2 != 0 || hexPart[:2] != "05" {
			t.Errorf("vendor class %q", vc)
		}
	}
}

func TestRelaySourcePortSubOption(t *testing.T) {
	c := newClient(KindCM, MAC{0, 0, 0xca, 0, 0, 4}, 0)
	plain := relayAgentInfo(c, false)
	with := relayAgentInfo(c, true)
	if !bytes.Equal(with[:len(plain)], plain) || !bytes.Equal(with[len(plain):], []byte{19, 0}) {
		t.Errorf("with 82.19: %x, without: %x", with, plain)
	}
}

func BenchmarkDiscover(b *testing.B) {
	pb := packetBuilder{giaddr: net.IPv4(127, 0, 0, 2).To4()}
	c := newClient(KindCM, MAC{0, 0, 0xca, 0, 0, 4}, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = pb.discover(pb.newMessage(uint32(i), c))
	}
}

func BenchmarkRequest(b *testing.B) {
	pb := packetBuilder{giaddr: net.IPv4(127, 0, 0, 2).To4()}
	msg := pb.newMessage(1, newClient(KindMTA, MAC{0, 0, 0xca, 0, 0, 4}, 0))
	yi, sid := netip.MustParseAddr("10.1.0.10"), netip.MustParseAddr("127.0.0.1")
	b.ReportAllocs()
	for b.Loop() {
		_ = pb.request(msg, yi, sid)
	}
}

// BenchmarkParseReply is the tool's cost per reply received.
func BenchmarkParseReply(b *testing.B) {
	pb := packetBuilder{giaddr: net.IPv4(127, 0, 0, 2).To4()}
	msg := pb.newMessage(1, newClient(KindCM, MAC{0, 0, 0xca, 0, 0, 4}, 0))
	req := pb.request(msg, netip.MustParseAddr("10.1.0.10"), netip.MustParseAddr("127.0.0.1"))
	f := &fakeServer{serverID: [4]byte{127, 0, 0, 1}}
	ack := f.reply(req, 5, [4]byte{10, 1, 0, 10}, msg.opt82)
	b.ReportAllocs()
	b.SetBytes(int64(len(ack)))
	for b.Loop() {
		if _, err := dhcpv4.FromBytes(ack); err != nil {
			b.Fatal(err)
		}
	}
}
