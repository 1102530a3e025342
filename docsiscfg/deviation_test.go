package docsiscfg

import (
	"bytes"
	"strings"
	"testing"
)

// TestDeviations covers the documented cases where the reference drops,
// corrupts or crashes and this package gives an error or the right bytes.
func TestDeviations(t *testing.T) {
	tests := []struct {
		name string
		body string
		mode Mode
		want string // hex of the TLVs, or "error: substring"
	}{
		{"aggregate over 255 bytes is an error", "VendorSpecific { " + strings.Repeat("GenericTLV TlvCode 200 TlvLength 8 TlvValue 0x0102030405060708; ", 26) + "}", ModeMTA, "error: over the 255-byte TLV limit"},
		{"scalar over 255 bytes is an error", `SwUpgradeFilename "` + strings.Repeat("f", 256) + `";`, ModeMTA, "error: over the 255-byte TLV limit"},
		{"varbind over 255 in a CM file is an error", `SnmpMibObject sysLocation.0 String "` + strings.Repeat("x", 250) + `";`, ModeCM, "error: not allowed in a CM file"},
		{"single-element u8 list", "UsPacketClass { IEEE802Classifier { UserPriority 5; } }", ModeMTA, "16 05 0b 03 01 01 05"},
		{"single-element drop group", "UpstreamDropClassifierGroupID 5;", ModeMTA, "3e 01 05"},
		{"setting in the wrong parent", "UsServiceFlow { MaxCPE 3; }", ModeMTA, "error: not allowed in UsServiceFlow"},
		{"parent's own limits", "DsPacketClass { IEEE802Classifier { VlanID 5000; } }", ModeMTA, "17 06 0b 04 02 02 13 88"},
		{"eRouter view mask uses its own row", "eRouter { SNMPv3AccessViewConfiguration { SNMPv3AccessViewMask 0x01; } }", ModeMTA, "error: 1 bytes, must be exactly 2"},
		{"DS EtherType uses its own looser row", "DsPacketClass { LLCPacketClassifier { EtherType 0x0800; } }", ModeMTA, "17 06 0a 04 03 02 08 00"},
		{"unchecked u8 is range-checked", "UsServiceFlow { QosParamSetType 256; }", ModeMTA, "error: 256 is out of range 0..255"},
		{"negative number", "MaxCPE -1;", ModeMTA, "error: -1 is out of range 1..254"},
		{"hex where a number is expected", "MaxCPE 0x04;", ModeMTA, "error: not hex"},
		{"symbolic OID in SnmpWriteControl", "SnmpWriteControl docsDevNmAccessTable 1;", ModeMTA, "0a 0b 06 08 2b 06 01 02 01 45 01 02 01"},
		{"symbolic OID in 38.6", "SnmpV3TrapReceiver { SnmpV3TrapRxFilterOID sysName; }", ModeMTA, "26 0b 06 09 06 07 2b 06 01 02 01 01 05"},
		{"bare four-component OID", "SnmpMibObject 1.3.6.1 Integer 1;", ModeMTA, "0b 0a 30 08 06 03 2b 06 01 02 01 01"},
		{"long non-string varbind gets a valid header", "SnmpMibObject .1.3" + strings.Repeat(".300", 70) + " Integer 1;", ModeMTA, "0b 97 30 82 00 93 06 81 8d"},
		{"hash needs the final delimiter", "MtaConfigDelimiter 1;", ModeMTA, "error: must end with MtaConfigDelimiter 255"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Mode: tc.mode, Key: []byte("k")}
			if strings.HasPrefix(tc.name, "hash") {
				opts.Hash = HashNA
			}
			got, err := Encode([]byte("Main {\n"+tc.body+"\n}"), opts)
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := mustHex(t, tc.want); !bytes.HasPrefix(got, want) {
				t.Errorf("got  %x\nwant %x", got, want)
			}
		})
	}
}

func TestDecodeOddPadding(t *testing.T) {
	for _, tc := range []struct {
		pad, lines int
	}{{0, 0}, {1, 0}, {2, 1}, {3, 1}} {
		in := append([]byte{3, 1, 1, 0xff}, make([]byte, tc.pad)...)
		text, err := Decode(in, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(string(text), "/* Pad */"); got != tc.lines {
			t.Errorf("%d pad bytes: %d Pad lines, want %d", tc.pad, got, tc.lines)
		}
	}
}
