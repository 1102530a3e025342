package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Kind is the DOCSIS device class a simulated client plays.
type Kind uint8

const (
	KindCM  Kind = iota // cable modem: chaddr = modem MAC, option 60 docsis3.0:
	KindMTA             // embedded voice adapter: modem MAC+1, option 60 pktc1.5:
	KindCPE             // customer device / eRouter behind the modem: modem MAC+2
	numKinds
)

func (k Kind) String() string {
	switch k {
	case KindCM:
		return "cm"
	case KindMTA:
		return "mta"
	case KindCPE:
		return "cpe"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// macOffset is how far a device's MAC is from its modem's.
func (k Kind) macOffset() uint64 { return uint64(k) }

// upstreams is how many upstream channels the simulated line card has; the
// circuit-id names the one a modem sits on, as a CMTS does ("cable1/0/0:U").
const upstreams = 8

// client is one simulated device: the MAC in chaddr and the modem whose MAC
// the CMTS puts in the remote-id.
type client struct {
	kind    Kind
	mac     MAC
	modem   MAC
	circuit string
}

func newClient(kind Kind, modem MAC, modemIndex int) client {
	return client{
		kind:    kind,
		mac:     modem.Add(kind.macOffset()),
		modem:   modem,
		circuit: fmt.Sprintf("cable1/0/0:%d", modemIndex%upstreams),
	}
}

// Vendor class identifiers (option 60). A DOCSIS 3.0 CM sends "docsis3.0:"
// and its modem capabilities (TLV 5) in hex; a PacketCable 1.5 MTA sends
// "pktc1.5:" and its MTA capabilities in hex.
var (
	cmVendorClass = "docsis3.0:" + hex.EncodeToString([]byte{
		0x05, 0x1b, // TLV 5 modem capabilities
		0x01, 0x01, 0x01, // concatenation
		0x02, 0x01, 0x03, // DOCSIS 3.0
		0x03, 0x01, 0x01, // fragmentation
		0x04, 0x01, 0x01, // PHS
		0x05, 0x01, 0x01, // IGMP
		0x06, 0x01, 0x01, // BPI+
		0x07, 0x01, 0x10, // 16 downstream SAIDs
		0x08, 0x01, 0x10, // 16 upstream service flows
		0x0c, 0x01, 0x01, // DCC
	})
	mtaVendorClass = "pktc1.5:" + hex.EncodeToString([]byte{
		0x05, 0x12, // TLV 5 MTA capabilities
		0x01, 0x01, 0x02, // PacketCable version 1.5
		0x02, 0x01, 0x02, // 2 endpoints
		0x03, 0x01, 0x00, // TGT support
		0x04, 0x01, 0x01, // HTTP download
		0x09, 0x01, 0x01, // NCS
		0x0b, 0x01, 0x01, // SNMPv3
	})
)

// Parameter request lists (option 55) as such devices send them.
var prl = [numKinds][]byte{
	KindCM:  {1, 2, 3, 4, 7, 51, 54, 66, 67, 125},
	KindMTA: {1, 3, 6, 7, 12, 15, 51, 54, 122},
	KindCPE: {1, 3, 6, 15, 28, 51, 54, 58, 59},
}

// clientID is option 61 as the seed's dhcpd classes see it: a DOCSIS 3.0 CM
// sends the RFC 4361 form (0xff, IAID = last 4 bytes of the MAC, DUID-LL), an
// MTA and a CPE type 1 + MAC.
func clientID(c client) []byte {
	if c.kind == KindCM {
		id := make([]byte, 0, 15)
		id = append(id, 0xff)
		id = append(id, c.mac[2:]...)
		id = append(id, 0x00, 0x03, 0x00, 0x01)
		return append(id, c.mac[:]...)
	}
	return append([]byte{0x01}, c.mac[:]...)
}

// relayAgentInfo is the option 82 a CMTS inserts: circuit-id, remote-id =
// the modem MAC (for the CM itself too), and with rfc8357 an empty relay
// source port sub-option asking the server to answer to the port the relay
// sent from instead of 67.
func relayAgentInfo(c client, rfc8357 bool) []byte {
	subs := []dhcpv4.Option{
		dhcpv4.OptGeneric(dhcpv4.AgentCircuitIDSubOption, []byte(c.circuit)),
		dhcpv4.OptGeneric(dhcpv4.AgentRemoteIDSubOption, c.modem[:]),
	}
	if rfc8357 {
		subs = append(subs, dhcpv4.OptGeneric(dhcpv4.RelaySourcePortSubOption, nil))
	}
	return dhcpv4.OptRelayAgentInfo(subs...).Value.ToBytes()
}

// packetBuilder builds the relayed requests of one run. It holds only
// read-only settings, so the sending goroutines share it.
type packetBuilder struct {
	giaddr  net.IP
	rfc8357 bool
}

// message is the part of a request that stays the same for a whole
// exchange: DISCOVER and REQUEST carry the same xid, chaddr and relay
// information, as a real relay and client would.
type message struct {
	xid    uint32
	client client
	opt82  []byte
}

func (b *packetBuilder) newMessage(xid uint32, c client) message {
	return message{xid: xid, client: c, opt82: relayAgentInfo(c, b.rfc8357)}
}

func (b *packetBuilder) base(m message, mt dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	mac := m.client.mac
	d := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootRequest,
		HWType:        iana.HWTypeEthernet,
		HopCount:      1,
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: b.giaddr,
		ClientHWAddr:  net.HardwareAddr(mac[:]),
		Options:       make(dhcpv4.Options, 8),
	}
	binary.BigEndian.PutUint32(d.TransactionID[:], m.xid)
	o := d.Options
	o[dhcpv4.OptionDHCPMessageType.Code()] = []byte{byte(mt)}
	o[dhcpv4.OptionParameterRequestList.Code()] = prl[m.client.kind]
	o[dhcpv4.OptionClientIdentifier.Code()] = clientID(m.client)
	switch m.client.kind {
	case KindCM:
		o[dhcpv4.OptionClassIdentifier.Code()] = []byte(cmVendorClass)
	case KindMTA:
		o[dhcpv4.OptionClassIdentifier.Code()] = []byte(mtaVendorClass)
	}
	o[dhcpv4.OptionRelayAgentInformation.Code()] = m.opt82
	return d
}

// discover returns the wire bytes of the relayed DISCOVER.
func (b *packetBuilder) discover(m message) []byte {
	return b.base(m, dhcpv4.MessageTypeDiscover).ToBytes()
}

// request returns the wire bytes of the relayed REQUEST in the SELECTING
// state (RFC 2131 4.3.2): requested IP = the offered yiaddr, server
// identifier = the offer's, ciaddr zero, same xid.
func (b *packetBuilder) request(m message, offered, serverID netip.Addr) []byte {
	d := b.base(m, dhcpv4.MessageTypeRequest)
	yi, sid := offered.As4(), serverID.As4()
	d.Options[dhcpv4.OptionRequestedIPAddress.Code()] = yi[:]
	d.Options[dhcpv4.OptionServerIdentifier.Code()] = sid[:]
	return d.ToBytes()
}
