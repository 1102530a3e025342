package docsiscfg

import "testing"

// TestFuzzRegressions replays every input the fuzzers found, by name.
func TestFuzzRegressions(t *testing.T) {
	decodeCases := []struct {
		name string
		in   []byte
	}{
		// An empty file decodes to an empty Main, which must encode (to a
		// file holding only the MICs).
		{"empty file", []byte{}},
	}
	parseCases := []struct {
		name, src string
	}{
		// TLV 94 shares the name UpstreamEHQoSASF with TLV 93: the decoder
		// printed the name, which encodes as 93.
		{"tlv 94 decodes as generic", "MAin{GeneriCTLV TlvCode 94{GeneriCTLV TlvCode 0 TlvTYpe Integer TlvVAlue 0;}}"},
	}
	for _, tc := range parseCases {
		t.Run("parse/"+tc.name, func(t *testing.T) {
			bin, err := Encode([]byte(tc.src), Options{Key: fuzzKey})
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, bin, true)
		})
	}
	for _, tc := range decodeCases {
		t.Run("decode/"+tc.name, func(t *testing.T) {
			checkRoundTrip(t, tc.in, false)
		})
	}
}
