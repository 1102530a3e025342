package docsiscfg

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"strings"
	"testing"
)

func TestDecodeMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
		off  int
	}{
		{"no length byte", []byte{3, 1, 1, 18}, "TLV 18 has no length byte", 3},
		{"runs past end", []byte{3, 1, 1, 11, 20, 0x30}, "TLV 11 length 20 runs past the end (1 bytes left)", 3},
		{"mta tlv 64 short", []byte{254, 1, 1, 64, 1}, "TLV 64 has no two-byte length", 3},
		{"mta tlv 64 past end", []byte{254, 1, 1, 64, 1, 0, 0x30}, "TLV 64 length 256 runs past the end (1 bytes left)", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in, DecodeOptions{})
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			if de.Offset != tc.off || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v (offset %d), want %q at %d", err, de.Offset, tc.want, tc.off)
			}
		})
	}
}

// TestDecodeFallbacks: values that no keyword reproduces exactly are
// printed as GenericTLV and still round-trip.
func TestDecodeFallbacks(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"u8 with two bytes", []byte{3, 2, 0, 1}, "GenericTLV TlvCode 3 TlvLength 2 TlvValue 0x0001;"},
		{"out of range", []byte{3, 1, 7}, "GenericTLV TlvCode 3 TlvLength 1 TlvValue 0x07;"},
		{"empty aggregate", []byte{24, 0}, "GenericTLV TlvCode 24 TlvLength 0 TlvValue 0x;"},
		{"broken aggregate", []byte{24, 3, 1, 5, 0}, "GenericTLV TlvCode 24 TlvLength 3 TlvValue 0x010500;"},
		{"unknown printable", []byte{200, 3, 'a', 'b', 'c'}, `GenericTLV TlvCode 200 TlvString "abc"; /* tlv length = 3 */`},
		{"unknown string zero", []byte{200, 3, 'a', 'b', 0}, `GenericTLV TlvCode 200 TlvStringZero "ab"; /* tlv length = 3 */`},
		{"string with quote", []byte{9, 3, 'a', '"', 'b'}, `SwUpgradeFilename "a\"b";`},
		{"string not printable", []byte{9, 2, 0, 1}, `SwUpgradeFilename 0x0001;`},
		{"counter64 varbind", append([]byte{11, 14}, 0x30, 12, 6, 7, 0x2b, 6, 1, 4, 1, 1, 0, 0x46, 1, 1), "GenericTLV TlvCode 11 TlvLength 14"},
		{"non-minimal integer", append([]byte{11, 15}, 0x30, 13, 6, 7, 0x2b, 6, 1, 4, 1, 1, 0, 2, 2, 0, 1), "GenericTLV TlvCode 11 TlvLength 15"},
		{"vendor subtypes", []byte{43, 8, 8, 3, 0, 0, 12, 1, 1, 9}, "GenericTLV TlvCode 1 TlvLength 1 TlvValue 0x09;"},
		{"cablelabs subtypes", []byte{43, 11, 8, 3, 0xff, 0xff, 0xff, 1, 4, 0, 0, 0, 7}, "CMLoadBalancingPolicyID 7;"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, err := Decode(tc.in, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(text), tc.want) {
				t.Errorf("decode:\n%s\nwant a line %q", text, tc.want)
			}
			again, err := Encode(text, Options{Mode: ModeMTA})
			if err != nil || !bytes.Equal(again, tc.in) {
				t.Errorf("round trip: %v, %x", err, again)
			}
		})
	}
}

func TestDecodeNumericOIDs(t *testing.T) {
	bin := readVector(t, "snmp_symbolic_names.cfg")
	text, err := Decode(bin, DecodeOptions{NumericOIDs: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(text, []byte("SnmpMibObject .1.3.6.1.2.1.1.4.0 String \"noc@example.net\";")) {
		t.Errorf("numeric decode:\n%s", text)
	}
	again, err := Encode(text, Options{Key: KeyFromFile(readVector(t, "keys/shared.key"))})
	if err != nil || !bytes.Equal(again, bin) {
		t.Errorf("numeric round trip: %v", err)
	}
}

func TestVerifyMICsVectors(t *testing.T) {
	shared := KeyFromFile(readVector(t, "keys/shared.key"))
	other := KeyFromFile(readVector(t, "keys/other.key"))
	for _, v := range loadVectors(t) {
		if v.mode != "cm" {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			bin := readVector(t, v.name+".cfg")
			key, wrong := shared, other
			if v.key == "keys/other.key" {
				key, wrong = other, shared
			}
			c, err := VerifyMICs(bin, key)
			if err != nil || !c.OK() {
				t.Errorf("right key: %v %s", err, c)
			}
			c, err = VerifyMICs(bin, wrong)
			if err != nil || c.OK() || !c.CMMICOK {
				t.Errorf("wrong key: %v %s", err, c)
			}
		})
	}
	c, err := VerifyMICs([]byte{3, 1, 1, 0xff}, nil)
	if err != nil || c.OK() || c.String() != "CM MIC missing\nCMTS MIC missing\n" {
		t.Errorf("no MICs: %v %q", err, c)
	}
}

// TestExtendedMIC checks TLV 43.6 against an HMAC computed by hand.
func TestExtendedMIC(t *testing.T) {
	key := []byte("sharedsecret42")
	src := []byte("Main { NetworkAccess 1; MaxCPE 3; SnmpMibObject sysName.0 String \"x\"; UsServiceFlow { UsServiceFlowRef 1; QosParamSetType 7; } }")
	x := &ExtendedMIC{HMAC: HMACMD5, Types: []uint8{3, 18, 24}, Explicit: true}
	got, err := Encode(src, Options{Key: key, ExtendedMIC: x})
	if err != nil {
		t.Fatal(err)
	}
	access := []byte{3, 1, 1}
	maxcpe := []byte{18, 1, 3}
	snmp := mustHex(t, "0b 0f 30 0d 06 08 2b 06 01 02 01 01 05 00 04 01 78")
	flow := []byte{24, 7, 1, 2, 0, 1, 6, 1, 7}
	h := hmac.New(md5.New, key)
	h.Write(access)
	h.Write(maxcpe)
	h.Write(flow)
	digest := h.Sum(nil)
	// bitmap: bits 3, 18, 24 with bit 0 the MSB of byte 0
	bitmap := []byte{0x10, 0x00, 0x20, 0x80}
	ext := []byte{43, 2 + 3 + 2 + 4 + 2 + 16, 6, 3 + 2 + 4 + 2 + 16, 1, 1, 1, 2, 4}
	ext = append(append(ext, bitmap...), 3, 16)
	ext = append(ext, digest...)
	body := bytes.Join([][]byte{access, maxcpe, snmp, flow, ext}, nil)
	if !bytes.HasPrefix(got, body) {
		t.Fatalf("got  %x\nwant %x...", got, body)
	}
	c, err := VerifyMICs(got, key)
	if err != nil || !c.OK() {
		t.Errorf("MICs after extended MIC: %v %s", err, c)
	}
	text, err := Decode(got, DecodeOptions{})
	if err != nil || !bytes.Contains(text, []byte("ExtendedCMTSMICHMACDigestType 1;")) {
		t.Errorf("decode: %v\n%s", err, text)
	}
	// implicit form: no digest sub-TLV
	got, err = Encode(src, Options{Key: key, ExtendedMIC: &ExtendedMIC{HMAC: HMACMD5, Types: []uint8{3}}})
	if err != nil || !bytes.Contains(got, []byte{43, 8, 6, 6, 1, 1, 1, 2, 1, 0x10}) {
		t.Errorf("implicit: %v %x", err, got)
	}
	for _, bad := range []*ExtendedMIC{{HMAC: HMACMMH16, Types: []uint8{3}, Explicit: true}, {HMAC: 9, Types: []uint8{3}}, {HMAC: HMACMD5}} {
		if _, err := Encode(src, Options{Key: key, ExtendedMIC: bad}); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, err := Encode([]byte("Main { MtaConfigDelimiter 1; }"), Options{ExtendedMIC: x}); err == nil {
		t.Error("extended MIC on an MTA file: no error")
	}
}
