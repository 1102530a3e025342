package docsiscfg

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

// rawTLVs encodes body inside Main in MTA mode, which adds nothing, so the
// result is exactly the TLVs of the text.
func rawTLVs(body string) ([]byte, error) {
	return Encode([]byte("Main {\n"+body+"\n}\n"), Options{Mode: ModeMTA})
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValueTypes(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"u8", "NetworkAccess 1;", "03 01 01"},
		{"u8 case-insensitive keyword", "networkaccess 0;", "03 01 00"},
		{"u16", "MaxClassifiers 300;", "1c 02 01 2c"},
		{"u32", "DownstreamFrequency 555000000;", "01 04 21 14 a0 c0"},
		{"u24", "VendorSpecific { L2VPNEncoding { L2VPNDSID 1048575; } }", "2b 07 05 05 1a 03 0f ff ff"},
		{"hex", "SubMgmtControl 0x030004;", "23 03 03 00 04"},
		{"hex upper", "SubMgmtControl 0X0A0B0C;", "23 03 0a 0b 0c"},
		{"str", `SwUpgradeFilename "a/b.bin";`, "09 07 61 2f 62 2e 62 69 6e"},
		{"str escaped quote", `SwUpgradeFilename "a\"b";`, "09 03 61 22 62"},
		{"str backslash is space", `SwUpgradeFilename "a\\b";`, "09 04 61 20 20 62"},
		{"str as hex", `SwUpgradeFilename 0x0001;`, "09 02 00 01"},
		{"strz", `DsServiceFlow { ServiceClassName "Gold"; }`, "19 07 04 05 47 6f 6c 64 00"},
		{"ip4", "ModemIPAddress 10.1.2.3;", "0c 04 0a 01 02 03"},
		{"ip6", "SwUpgradeServer6 2001:db8::1;", "3a 10 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"},
		{"ip4|ip6 as v4", "CMTSStaticMulticastSessionEncodings { CMTSStaticMulticastSessionGroup 239.1.2.3; }", "40 06 01 04 ef 01 02 03"},
		{"af+ip", "VendorSpecific { L2VPNEncoding { NSIEncapsulation { ServiceMultiplexingValueL2TPv3Peer 10.0.0.1; } } }", "2b 0b 05 09 02 07 05 05 01 0a 00 00 01"},
		{"ip/port v4", "SNMPv1v2cCoexistenceConfig { SNMPv1v2cTransportAddressAccess { SNMPv1v2cTransportAddress 10.0.0.0/161; } }", "35 0a 02 08 01 06 0a 00 00 00 00 a1"},
		{"mac", "CpeMacAddress 00:1B:21:9a:4d:07;", "0e 06 00 1b 21 9a 4d 07"},
		{"mac/mask", "UsPacketClass { LLCPacketClassifier { DstMacAddress 01:00:5e:00:00:00/ff:ff:ff:00:00:00; } }", "16 10 0a 0e 01 0c 01 00 5e 00 00 00 ff ff ff 00 00 00"},
		{"u8list", "UsPacketClass { IEEE802Classifier { UserPriority 1,5,7; } }", "16 07 0b 05 01 03 01 05 07"},
		{"u8list single element", "UsPacketClass { IEEE802Classifier { UserPriority 5; } }", "16 05 0b 03 01 01 05"},
		{"u8list top single", "UpstreamDropClassifierGroupID 5;", "3e 01 05"},
		{"u16list", "SubMgmtFilters 10,20,30,40;", "25 08 00 0a 00 14 00 1e 00 28"},
		{"ip4list", "SubscriberManagementCPEIPTable 1.2.3.4,5.6.7.8;", "24 08 01 02 03 04 05 06 07 08"},
		{"ip6list", "SubscriberManagementCPEIPv6Table 2001:db8::1;", "43 10 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"},
		{"ip6pfxlist", "SubMgmtCPEIPv6PrefixList 2001:db8::/32;", "3d 11 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 00 20"},
		{"dualqtag", "VendorSpecific { L2VPNEncoding { NSIEncapsulation { NSIEncapsulationDualQTag 10,20; } } }", "2b 0a 05 08 02 06 03 04 00 0a 00 14"},
		{"zero-len", "VendorSpecific { L2VPNEncoding { NSIEncapsulation { ServiceMultiplexingValueOther 1; } } }", "2b 06 05 04 02 02 01 00"},
		{"oid", "SNMPv3AccessViewConfiguration { SNMPv3AccessViewSubtree 1.3.6.1.2.1; }", "36 09 02 07 06 05 2b 06 01 02 01"},
		{"oid symbolic (deviation)", "SNMPv3AccessViewConfiguration { SNMPv3AccessViewSubtree sysContact; }", "36 0b 02 09 06 07 2b 06 01 02 01 01 04"},
		{"oid+u8", "SnmpWriteControl .1.3.6.1.2.1.69.1.2 1;", "0a 0b 06 08 2b 06 01 02 01 45 01 02 01"},
		{"oid 4 components (deviation)", "SnmpWriteControl 1.3.6.1 0;", "0a 06 06 03 2b 06 01 00"},
		{"varbind Integer negative", "SnmpMibObject 1.3.6.1.4.1.1.0 Integer -129;", "0b 0f 30 0d 06 07 2b 06 01 04 01 01 00 02 02 ff 7f"},
		{"varbind Unsigned32 as Gauge", "SnmpMibObject 1.3.6.1.4.1.1.0 Unsigned32 4000000000;", "0b 12 30 10 06 07 2b 06 01 04 01 01 00 42 05 00 ee 6b 28 00"},
		{"varbind Counter32", "SnmpMibObject 1.3.6.1.4.1.1.0 Counter32 1;", "0b 0e 30 0c 06 07 2b 06 01 04 01 01 00 41 01 01"},
		{"varbind TimeTicks", "SnmpMibObject 1.3.6.1.4.1.1.0 TimeTicks 128;", "0b 0f 30 0d 06 07 2b 06 01 04 01 01 00 43 02 00 80"},
		{"varbind IPAddress", "SnmpMibObject 1.3.6.1.4.1.1.0 IPAddress 1.2.3.4;", "0b 11 30 0f 06 07 2b 06 01 04 01 01 00 40 04 01 02 03 04"},
		{"varbind empty String", `SnmpMibObject 1.3.6.1.4.1.1.0 String "";`, "0b 0d 30 0b 06 07 2b 06 01 04 01 01 00 04 00"},
		{"varbind HexString", "SnmpMibObject 1.3.6.1.4.1.1.0 HexString 0xff00;", "0b 0f 30 0d 06 07 2b 06 01 04 01 01 00 04 02 ff 00"},
		{"varbind ObjectID", "SnmpMibObject 1.3.6.1.4.1.1.0 ObjectID .1.3.6.1.4.1;", "0b 12 30 10 06 07 2b 06 01 04 01 01 00 06 05 2b 06 01 04 01"},
		{"varbind symbolic", `SnmpMibObject sysName.0 String "x";`, "0b 0f 30 0d 06 08 2b 06 01 02 01 01 05 00 04 01 78"},
		{"varbind quoted index", `SnmpMibObject 1.3.6.1.4.1.1."ab" Integer 1;`, "0b 10 30 0e 06 09 2b 06 01 04 01 01 02 61 62 02 01 01"},
		{"varbind implied index", `SnmpMibObject 1.3.6.1.4.1.1.'ab' Integer 1;`, "0b 0f 30 0d 06 08 2b 06 01 04 01 01 61 62 02 01 01"},
		{"varbind multi-byte arcs", "SnmpMibObject 1.3.6.1.4.1.32473.0 Integer 0;", "0b 10 30 0e 06 09 2b 06 01 04 01 81 fd 59 00 02 01 00"},
		{"generic Char", "GenericTLV TlvCode 18 TlvType Char TlvValue 12;", "12 01 0c"},
		{"generic Short", "GenericTLV TlvCode 68 TlvType Short TlvValue 400;", "44 02 01 90"},
		{"generic Integer", "GenericTLV TlvCode 66 TlvType Integer TlvValue 1;", "42 04 00 00 00 01"},
		{"generic IPAddress", "GenericTLV TlvCode 12 TlvType IPAddress TlvValue 10.9.8.7;", "0c 04 0a 09 08 07"},
		{"generic TlvString", `GenericTLV TlvCode 9 TlvString "ab";`, "09 02 61 62"},
		{"generic TlvStringZero", `GenericTLV TlvCode 200 TlvStringZero "ab";`, "c8 03 61 62 00"},
		{"generic TlvLength", "GenericTLV TlvCode 201 TlvLength 2 TlvValue 0x0102;", "c9 02 01 02"},
		{"generic empty", "GenericTLV TlvCode 201 TlvLength 0 TlvValue 0x;", "c9 00"},
		{"generic nested", "GenericTLV TlvCode 24 { GenericTLV TlvCode 1 TlvType Short TlvValue 5; }", "18 04 01 02 00 05"},
		{"generic inside named", "DsServiceFlow { GenericTLV TlvCode 8 TlvType Integer TlvValue 7; }", "19 06 08 04 00 00 00 07"},
		{"comments and CRLF", "/* a */ NetworkAccess /* b\r\n c */ 1;\r\n", "03 01 01"},
		{"several per line", "NetworkAccess 1; MaxCPE 3;", "03 01 01 12 01 03"},
		{"74.4.2 by name", "EnergyManagementParameter { EnergyManagementDLSMode { UpstreamActivityDetectionParameters { UpstreamEntryTimeThreshold 5; } } }", "4a 08 04 06 02 04 02 02 00 05"},
		{"mta delimiter", "MtaConfigDelimiter 1;", "fe 01 01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rawTLVs(tc.text)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if want := mustHex(t, tc.want); !bytes.Equal(got, want) {
				t.Errorf("got  %x\nwant %x", got, want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"no Main", "Foo { }", `line 1, column 1: unexpected token, expected Main at "Foo"`},
		{"empty input", "", "line 1, column 1: unexpected end of input, expected Main"},
		{"missing brace", "Main NetworkAccess 1;", `line 1, column 6: unexpected token, expected '{' at "NetworkAccess"`},
		{"unclosed Main", "Main {\nNetworkAccess 1;\n", "line 3, column 1: unexpected end of input, expected a setting or '}'"},
		{"text after Main", "Main { NetworkAccess 1; } x", `line 1, column 27: unexpected token, expected end of input after the closing } of Main at "x"`},
		{"empty aggregate", "Main { UsServiceFlow { } }", `line 1, column 24: empty block, expected at least one setting at "}"`},
		{"unknown keyword", "Main {\n\tFooBar 1;\n}", `line 2, column 2: unknown setting in Main at "FooBar"`},
		{"wrong parent", "Main { UsServiceFlow { MaxCPE 3; } }", `line 1, column 24: setting MaxCPE is not allowed in UsServiceFlow (it belongs in Main) at "MaxCPE"`},
		{"missing semicolon", "Main { NetworkAccess 1 }", `line 1, column 24: unexpected '}', expected ';' at "}"`},
		{"out of range", "Main { NetworkAccess 2; }", `line 1, column 22: NetworkAccess: 2 is out of range 0..1 at "2"`},
		{"out of range limits", "Main { MaxCPE 0; }", `line 1, column 15: MaxCPE: 0 is out of range 1..254 at "0"`},
		{"u8 without limits truncation", "Main { UsServiceFlow { MultipliertoNumberofBytesRequested 300; } }", `MultipliertoNumberofBytesRequested: 300 is out of range 1..16`},
		{"u16 width", "Main { MaxClassifiers 70000; }", `MaxClassifiers: 70000 is out of range 0..65535`},
		{"negative", "Main { MaxClassifiers -1; }", `MaxClassifiers: -1 is out of range 0..65535`},
		{"hex for number", "Main { NetworkAccess 0x01; }", `NetworkAccess: expected a decimal number in 0..1, not hex`},
		{"word for number", "Main { NetworkAccess yes; }", `NetworkAccess: expected a number in 0..1`},
		{"odd hex", "Main { SubMgmtControl 0x030; }", `SubMgmtControl: hex value needs an even number of hex digits`},
		{"bad hex digit", "Main { SubMgmtControl 0x0300zz; }", `SubMgmtControl: "zz" is not a hex digit`},
		{"quoted hex", `Main { SubMgmtControl "0x030004"; }`, `SubMgmtControl: expected a hex value like 0x0a0b (not quoted)`},
		{"hex byte count", "Main { SubMgmtControl 0x0300; }", `SubMgmtControl: 2 bytes, must be exactly 3`},
		{"string length", `Main { DsServiceFlow { ServiceClassName "ThisNameIsMuchTooLong"; } }`, `ServiceClassName: 21 characters, must be 2..16`},
		{"string expected", "Main { SwUpgradeFilename foo; }", `SwUpgradeFilename: expected a quoted string`},
		{"bad ip4", "Main { ModemIPAddress 10.1.2; }", `ModemIPAddress: expected an IPv4 address`},
		{"ip6 for ip4", "Main { ModemIPAddress ::1; }", `ModemIPAddress: expected an IPv4 address`},
		{"bad ip6", "Main { SwUpgradeServer6 10.0.0.1; }", `SwUpgradeServer6: expected an IPv6 address`},
		{"bad mac", "Main { CpeMacAddress 00:11:22:33:44; }", `CpeMacAddress: expected a MAC address like 00:11:22:aa:bb:cc`},
		{"bad mac mask", "Main { UsPacketClass { LLCPacketClassifier { DstMacAddress 01:00:5e:00:00:00; } } }", `DstMacAddress: expected MAC/mask`},
		{"bad ip/port", "Main { SNMPv1v2cCoexistenceConfig { SNMPv1v2cTransportAddressAccess { SNMPv1v2cTransportAddress 10.0.0.1; } } }", `expected address/port`},
		{"bad port", "Main { SNMPv1v2cCoexistenceConfig { SNMPv1v2cTransportAddressAccess { SNMPv1v2cTransportAddress 10.0.0.1/70000; } } }", `port must be 0..65535`},
		{"list entry", "Main { SubMgmtFilters 1,x,3,4; }", `SubMgmtFilters: list entry "x": expected a number in 0..65535`},
		{"list count", "Main { SubMgmtFilters 1,2; }", `SubMgmtFilters: 2 entries, must be 4..10`},
		{"dual qtag", "Main { VendorSpecific { L2VPNEncoding { NSIEncapsulation { NSIEncapsulationDualQTag 10; } } } }", `expected two numbers a,b`},
		{"ip list entry", "Main { SubscriberManagementCPEIPTable 1.2.3.4,x; }", `entry "x": expected an IPv4 address`},
		{"prefix length", "Main { SubMgmtCPEIPv6PrefixList 2001:db8::/129; }", `prefix length must be 0..128`},
		{"prefix missing", "Main { SubMgmtCPEIPv6PrefixList 2001:db8::; }", `expected IPv6 prefix addr/len`},
		{"computed CmMic", "Main { CmMic 1; }", `CmMic is added by the compiler and cannot be set`},
		{"unknown oid name", "Main { SnmpMibObject noSuchObject.0 Integer 1; }", `SnmpMibObject: unknown MIB object "noSuchObject"`},
		{"oid too short", "Main { SnmpMibObject .1 Integer 1; }", `needs at least two sub-identifiers`},
		{"oid bad first arc", "Main { SnmpMibObject 5.1.2 Integer 1; }", `does not start with 0, 1 or 2`},
		{"oid module prefix", "Main { SnmpMibObject SNMPv2-MIB::sysName.0 Integer 1; }", `MODULE::name is not supported`},
		{"oid trailing dot", "Main { SnmpMibObject 1.3.6. Integer 1; }", `ends with '.'`},
		{"oid unclosed quote", "Main { SnmpMibObject 1.3.6.1.'ab Integer 1; }", `quoted OID index is not closed`},
		{"oid name after number", "Main { SnmpMibObject 1.3.6.1.x Integer 1; }", `"x" is not a child`},
		{"oid empty component", "Main { SnmpMibObject 1..3.6 Integer 1; }", `has an empty component`},
		{"oid too many arcs", "Main { SnmpMibObject .1.3" + strings.Repeat(".1", 127) + " Integer 1; }", `has more than 128 sub-identifiers`},
		{"oid name after unknown arc", "Main { SnmpMibObject 1.3.6.1.99999.foo Integer 1; }", `name "foo" after a numeric index`},
		{"oid arc too big", "Main { SnmpMibObject 1.3.6.4294967296 Integer 1; }", `sub-identifier 4294967296 is not a number in 0..4294967295`},
		{"oid after quote", `Main { SnmpMibObject 1.3.6.1."a"b Integer 1; }`, `expected '.' after a quoted index`},
		{"oid empty", "Main { SnmpMibObject . Integer 1; }", `empty OID`},
		{"oid string value", `Main { SnmpMibObject 1.3.6.1.4.1.1.0 ObjectID "x"; }`, `ObjectID: expected an OID`},
		{"mac mask bad mask", "Main { UsPacketClass { LLCPacketClassifier { DstMacAddress 01:00:5e:00:00:00/ff; } } }", `DstMacAddress: mask: expected a MAC address`},
		{"file name not quoted", "Main { ManufacturerCVC cvc.der; }", `ManufacturerCVC: expected a quoted file name`},
		{"snmp type", "Main { SnmpMibObject 1.3.6.1.4.1.1.0 Float 1; }", `SnmpMibObject: unknown SNMP type`},
		{"snmp integer range", "Main { SnmpMibObject 1.3.6.1.4.1.1.0 Integer 2147483648; }", `Integer: expected a number in -2147483648..2147483647`},
		{"snmp unsigned range", "Main { SnmpMibObject 1.3.6.1.4.1.1.0 Gauge32 -1; }", `Gauge32: expected a number in 0..4294967295`},
		{"snmp ip", "Main { SnmpMibObject 1.3.6.1.4.1.1.0 IPAddress ::1; }", `IPAddress: expected an IPv4 address`},
		{"snmp string", "Main { SnmpMibObject 1.3.6.1.4.1.1.0 String abc; }", `String: expected a quoted string`},
		{"snmp hexstring", `Main { SnmpMibObject 1.3.6.1.4.1.1.0 HexString "ab"; }`, `HexString: expected a hex value`},
		{"snmp objectid", "Main { SnmpMibObject 1.3.6.1.4.1.1.0 ObjectID nope.1; }", `ObjectID: unknown MIB object "nope"`},
		{"mib size", `Main { SnmpMibObject sysContact.0 String "` + strings.Repeat("c", 256) + `"; }`, `SnmpMibObject: String is 256 bytes, outside the MIB's SIZE (0..255) for sysContact`},
		{"mib size fixed", `Main { SnmpMibObject docsDevNmAccessInterfaces.1 HexString 0x` + strings.Repeat("00", 33) + `; }`, `outside the MIB's SIZE (1..32) for docsDevNmAccessInterfaces`},
		{"write control value", "Main { SnmpWriteControl 1.3.6.1.2.1.69 2; }", `SnmpWriteControl: 2 is out of range 0..1`},
		{"generic no TlvCode", "Main { GenericTLV 5; }", `unexpected token, expected TlvCode at "5"`},
		{"generic code range", "Main { GenericTLV TlvCode 255 TlvLength 1 TlvValue 0x01; }", `GenericTLV TlvCode: 255 is out of range 1..254`},
		{"generic length mismatch", "Main { GenericTLV TlvCode 200 TlvLength 3 TlvValue 0x01; }", `GenericTLV: TlvLength 3 but TlvValue has 1 bytes`},
		{"generic missing TlvValue", "Main { GenericTLV TlvCode 200 TlvLength 1 0x01; }", `unexpected token, expected TlvValue at "0x01"`},
		{"generic bad form", "Main { GenericTLV TlvCode 200 Foo 1; }", `expected TlvLength, TlvString, TlvStringZero, TlvType or '{'`},
		{"generic bad type", "Main { GenericTLV TlvCode 200 TlvType Float TlvValue 1; }", `unknown TlvType, expected Integer, Short, Char or IPAddress`},
		{"generic type range", "Main { GenericTLV TlvCode 200 TlvType Char TlvValue 256; }", `GenericTLV Char: 256 is out of range 0..255`},
		{"generic string", "Main { GenericTLV TlvCode 200 TlvString abc; }", `GenericTLV: expected a quoted string`},
		{"generic block named", "Main { GenericTLV TlvCode 24 { NetworkAccess 1; } }", `only GenericTLV is allowed inside a GenericTLV block`},
		{"unclosed comment", "Main { /* x ", `line 1, column 8: comment is not closed with */ at "/*"`},
		{"unclosed string", `Main { SwUpgradeFilename "abc; }`, `quoted string is not closed`},
		{"string with tab", "Main { SwUpgradeFilename \"a\tb\"; }", `quoted string contains a raw tab or line break`},
		{"lone CR", "Main {\r NetworkAccess 1; }", `carriage return without line feed`},
		{"long string", `Main { SwUpgradeFilename "` + strings.Repeat("a", 2049) + `"; }`, `quoted string is longer than 2048 characters`},
		{"file keyword disabled", `Main { ManufacturerCVC "cvc.der"; }`, `ManufacturerCVC: reading files is not enabled here`},
		{"aggregate too long", "Main { VendorSpecific { " + strings.Repeat("GenericTLV TlvCode 200 TlvLength 8 TlvValue 0x0102030405060708; ", 26) + "} }", `VendorSpecific is 260 bytes long, over the 255-byte TLV limit`},
		{"scalar too long", "Main { GenericTLV TlvCode 200 TlvString \"" + strings.Repeat("a", 256) + "\"; }", `GenericTLV is 256 bytes long, over the 255-byte TLV limit`},
		{"varbind too long in CM", "Main { SnmpMibObject 1.3.6.1.4.1.1.0 String \"" + strings.Repeat("a", 250) + "\"; }", `varbind is 266 bytes, over 255, not allowed in a CM file`},
		{"varbind too long nested", "Main { eRouter { SnmpMibObject 1.3.6.1.4.1.1.0 String \"" + strings.Repeat("a", 250) + "\"; } }", `not allowed inside an aggregate`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode([]byte(tc.src), Options{Key: []byte("k")})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a *SyntaxError", err)
			} else if se.Line < 1 || se.Column < 1 {
				t.Errorf("bad position %d:%d", se.Line, se.Column)
			}
		})
	}
}

func TestTooLongWrapsSentinel(t *testing.T) {
	_, err := rawTLVs("GenericTLV TlvCode 200 TlvString \"" + strings.Repeat("a", 256) + "\";")
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("error %v does not wrap ErrTooLong", err)
	}
}

func TestKeyFromFile(t *testing.T) {
	long := strings.Repeat("k", 74)
	tests := []struct{ name, in, want string }{
		{"newline", "sharedsecret42\n", "sharedsecret42"},
		{"crlf", "secret\r\n", "secret"},
		{"several", "secret\n\r\n\n", "secret"},
		{"no newline", "Other-Key_2026", "Other-Key_2026"},
		{"spaces kept", " secret \n", " secret "},
		{"first 64 bytes", long, long[:64]},
		{"empty", "", ""},
		{"cr inside kept", "a\rb\n", "a\rb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(KeyFromFile([]byte(tc.in))); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCMFileAssembly recomputes the MICs with crypto/md5 and crypto/hmac
// directly, independently of the package's walk.
func TestCMFileAssembly(t *testing.T) {
	key := []byte("sharedsecret42")
	src := "Main { MaxCPE 4; SnmpMibObject sysName.0 String \"x\"; NetworkAccess 1; CpeMacAddress 00:11:22:33:44:55; DownstreamFrequency 555000000; }"
	got, err := Encode([]byte(src), Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	maxcpe := mustHex(t, "12 01 04")
	snmp := mustHex(t, "0b 0f 30 0d 06 08 2b 06 01 02 01 01 05 00 04 01 78")
	access := mustHex(t, "03 01 01")
	cpe := mustHex(t, "0e 06 00 11 22 33 44 55")
	freq := mustHex(t, "01 04 21 14 a0 c0")
	body := bytes.Join([][]byte{maxcpe, snmp, access, cpe, freq}, nil)
	cm := md5.Sum(body)
	cmTLV := append([]byte{6, 16}, cm[:]...)
	h := hmac.New(md5.New, key)
	// order 1, 2, 3, 4, 17, 43, 6, 18, ...: 11 and 14 are not covered
	for _, part := range [][]byte{freq, access, cmTLV, maxcpe} {
		h.Write(part)
	}
	want := append(append(body, cmTLV...), 7, 16)
	want = h.Sum(want)
	want = append(want, 0xff)
	for len(want)%4 != 0 {
		want = append(want, 0)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("got  %x\nwant %x", got, want)
	}
	check, err := VerifyMICs(got, key)
	if err != nil {
		t.Fatal(err)
	}
	if !check.OK() || check.String() != "CM MIC ok\nCMTS MIC ok\n" {
		t.Errorf("verify: %s", check)
	}
	bad, err := VerifyMICs(got, []byte("wrong"))
	if err != nil {
		t.Fatal(err)
	}
	if bad.OK() || !bad.CMMICOK || bad.CMTSMICOK || !strings.Contains(bad.String(), "CMTS MIC mismatch") {
		t.Errorf("verify with wrong key: %s", bad)
	}
}

// TestStaticMulticastCMTSMIC: a CM file with TLV 64 gets the CMTS MIC over
// the real TLV boundaries (the reference's scanner skips past them).
func TestStaticMulticastCMTSMIC(t *testing.T) {
	key := []byte("k")
	src := "Main { CMTSStaticMulticastSessionEncodings { CMTSStaticMulticastSessionGroup 239.1.1.1; } NetworkAccess 1; }"
	got, err := Encode([]byte(src), Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	mc := mustHex(t, "40 06 01 04 ef 01 01 01")
	access := mustHex(t, "03 01 01")
	cm := md5.Sum(append(append([]byte{}, mc...), access...))
	h := hmac.New(md5.New, key)
	h.Write(access)
	h.Write(append([]byte{6, 16}, cm[:]...))
	if want := h.Sum(nil); !bytes.Equal(got[len(mc)+len(access)+20:len(mc)+len(access)+36], want) {
		t.Errorf("CMTS MIC %x, want %x", got[len(mc)+len(access)+20:len(mc)+len(access)+36], want)
	}
}

func TestMTA(t *testing.T) {
	src := []byte("Main { MtaConfigDelimiter 1; SnmpMibObject 1.3.6.1.4.1.4491.2.2.1.1.1.7.0 Integer 1; MtaConfigDelimiter 255; }")
	plain, err := Encode(src, Options{Mode: ModeMTA})
	if err != nil {
		t.Fatal(err)
	}
	wantPlain := mustHex(t, "fe 01 01 0b 15 30 13 06 0e 2b 06 01 04 01 a3 0b 02 02 01 01 01 07 00 02 01 01 fe 01 ff")
	if !bytes.Equal(plain, wantPlain) {
		t.Fatalf("plain %x", plain)
	}
	// a CM-mode encode of a text starting with the delimiter switches to MTA
	auto, err := Encode(src, Options{Key: []byte("k")})
	if err != nil || !bytes.Equal(auto, wantPlain) {
		t.Fatalf("auto MTA: %x, %v", auto, err)
	}
	for _, tc := range []struct {
		name string
		hash MTAHash
		hdr  string
	}{
		{"na", HashNA, "0b 28 30 26 06 0e 2b 06 01 04 01 a3 0b 02 02 01 01 02 07 00 04 14"},
		{"eu", HashEU, "0b 26 30 24 06 0c 2b 06 01 04 01 ba 08 01 01 02 09 00 04 14"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(src, Options{Mode: ModeMTA, Hash: tc.hash})
			if err != nil {
				t.Fatal(err)
			}
			sum := sha1.Sum(wantPlain)
			want := append(append([]byte{}, wantPlain[:len(wantPlain)-3]...), mustHex(t, tc.hdr)...)
			want = append(append(want, sum[:]...), 0xfe, 1, 0xff)
			if !bytes.Equal(got, want) {
				t.Errorf("got  %x\nwant %x", got, want)
			}
		})
	}
	if _, err := Encode([]byte("Main { MtaConfigDelimiter 1; }"), Options{Mode: ModeMTA, Hash: HashNA}); err == nil || !strings.Contains(err.Error(), "must end with MtaConfigDelimiter 255") {
		t.Errorf("hash without final delimiter: %v", err)
	}
	if _, err := Encode([]byte("Main { NetworkAccess 1; }"), Options{Hash: HashNA}); err == nil {
		t.Error("hash on a CM file: no error")
	}
	// a long varbind in an MTA file becomes TLV 64 with a two-byte length
	long := "Main { MtaConfigDelimiter 1; SnmpMibObject 1.3.6.1.4.1.1.0 String \"" + strings.Repeat("a", 300) + "\"; MtaConfigDelimiter 255; }"
	got, err := Encode([]byte(long), Options{Mode: ModeMTA})
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex(t, "fe 01 01 40 01 3d 30 82 01 39 06 07 2b 06 01 04 01 01 00 04 82 01 2c"); !bytes.HasPrefix(got, want) {
		t.Errorf("long varbind: %x", got[:30])
	}
	text, err := Decode(got, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := Encode(text, Options{Mode: ModeMTA})
	if err != nil || !bytes.Equal(again, got) {
		t.Errorf("TLV 64 round trip: %v\n%s", err, text)
	}
}

func TestFileKeywords(t *testing.T) {
	files := map[string][]byte{
		"cvc.der":  bytes.Repeat([]byte{0xab}, 300),
		"dial.txt": []byte("(x.T|911)"),
	}
	read := func(name string) ([]byte, error) {
		if b, ok := files[name]; ok {
			return b, nil
		}
		return nil, os.ErrNotExist
	}
	got, err := Encode([]byte(`Main { ManufacturerCVC "cvc.der"; }`), Options{Mode: ModeMTA, ReadFile: read})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{32, 254}, files["cvc.der"][:254]...)
	want = append(append(want, 32, 46), files["cvc.der"][254:]...)
	if !bytes.Equal(got, want) {
		t.Errorf("extfile split: %x", got)
	}
	got, err = Encode([]byte(`Main { DigitMap "dial.txt"; }`), Options{Mode: ModeMTA, ReadFile: read})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte("(x.T|911)")) || got[0] != 11 {
		t.Errorf("digit map: %x", got)
	}
	if _, err := Encode([]byte(`Main { DigitMap "missing.txt"; }`), Options{Mode: ModeMTA, ReadFile: read}); err == nil || !strings.Contains(err.Error(), "DigitMap:") {
		t.Errorf("missing file: %v", err)
	}
}

func TestAllTreeSettingsEncode(t *testing.T) {
	// every named setting of the tree takes a sample value of its type and
	// decodes back to the same bytes
	var walk func(parent int, path []int)
	n := 0
	walk = func(parent int, path []int) {
		for i := int(tlvTree[parent].first); i < int(tlvTree[parent].first)+int(tlvTree[parent].count); i++ {
			node := &tlvTree[i]
			if node.typ == tAgg {
				if len(path) < 5 {
					walk(i, append(path, i))
				}
				continue
			}
			sample := sampleValue(node)
			if sample == "" {
				continue
			}
			text := node.name + " " + sample + ";"
			for j := len(path) - 1; j >= 0; j-- {
				text = tlvTree[path[j]].name + " { " + text + " }"
			}
			bin, err := rawTLVs(text)
			if err != nil {
				t.Errorf("%s: %v", text, err)
				continue
			}
			n++
			dec, err := Decode(bin, DecodeOptions{})
			if err != nil {
				t.Errorf("%s: decode: %v", text, err)
				continue
			}
			again, err := Encode(dec, Options{Mode: ModeMTA})
			if err != nil || !bytes.Equal(again, bin) {
				t.Errorf("%s: round trip %v\n%s", text, err, dec)
			}
		}
	}
	walk(0, nil)
	if n < 900 {
		t.Errorf("only %d settings encoded", n)
	}
}

func sampleValue(n *tlvNode) string {
	lo, _ := n.bounds()
	count := func(d int) int {
		if n.min == 0 && n.max == 0 {
			return d
		}
		return max(int(n.min), 1)
	}
	switch n.typ {
	case tU8, tU16, tU24, tU32:
		return strconvU(lo)
	case tHex:
		return "0x" + strings.Repeat("ab", count(2))
	case tStr, tStrz:
		return `"` + strings.Repeat("s", count(4)) + `"`
	case tIP4, tIP4List:
		return "10.0.0.1"
	case tIP6, tIP6List:
		return "2001:db8::1"
	case tIP46, tAFIP:
		return "2001:db8::2"
	case tIPPort:
		return "10.0.0.0/161"
	case tMAC:
		return "00:11:22:33:44:55"
	case tMACMask:
		return "00:11:22:33:44:55/ff:ff:ff:00:00:00"
	case tU8List, tU16List:
		c := count(2)
		parts := make([]string, c)
		for i := range parts {
			parts[i] = strconvU(uint64(i + 1))
		}
		return strings.Join(parts, ",")
	case tIP6PfxList:
		return "2001:db8::/32"
	case tDualQTag:
		return "1,2"
	case tZeroLen:
		return "0"
	case tOID:
		return ".1.3.6.1.2.1.69"
	case tOIDU8:
		return ".1.3.6.1.2.1.69 1"
	case tVarbind:
		return ".1.3.6.1.2.1.1.5.0 String \"x\""
	}
	return ""
}

func strconvU(v uint64) string {
	return string(appendUint(nil, v))
}

func appendUint(dst []byte, v uint64) []byte {
	if v >= 10 {
		dst = appendUint(dst, v/10)
	}
	return append(dst, byte('0'+v%10))
}

func TestFileKeywordErrors(t *testing.T) {
	read := func(name string) ([]byte, error) {
		switch name {
		case "empty.der":
			return nil, nil
		case "big.txt":
			return bytes.Repeat([]byte("x"), 8193), nil
		}
		return nil, os.ErrNotExist
	}
	tests := []struct{ name, src, want string }{
		{"empty file", `Main { ManufacturerCVC "empty.der"; }`, `ManufacturerCVC: file "empty.der" is empty`},
		{"digit map too big", `Main { DigitMap "big.txt"; }`, `DigitMap: file "big.txt" is 8193 bytes, over 8192`},
		{"missing", `Main { CoSignerCVC "none.der"; }`, `CoSignerCVC: file does not exist`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode([]byte(tc.src), Options{Mode: ModeMTA, ReadFile: read})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := AppendMTAHash([]byte{254, 1, 255}, MTAHash(9)); err == nil || !strings.Contains(err.Error(), "unknown kind 9") {
		t.Errorf("unknown hash kind: %v", err)
	}
}
