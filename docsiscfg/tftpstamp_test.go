package docsiscfg

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestTFTPStamp checks TLV 19 and 20 (and 59 for IPv6): inserted after the
// text's TLVs and before the MICs, covered by both MICs, decoded by name, and
// refused where they do not belong.
func TestTFTPStamp(t *testing.T) {
	key := []byte("stamp-secret")
	src := []byte("Main { NetworkAccess 1; MaxCPE 3; }")
	ts := time.Date(2026, 12, 4, 22, 30, 0, 0, time.UTC)
	plain, err := Encode(src, Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ts     time.Time
		addr   netip.Addr
		insert string // bytes expected right after the text's TLVs
		decode []string
	}{
		{"timestamp and v4 address", ts, netip.MustParseAddr("10.10.1.7"),
			"\x13\x04" + be32(uint32(ts.Unix())) + "\x14\x04\x0a\x0a\x01\x07",
			[]string{"TftpTimestamp 1796423400;", "TftpModemAddress 10.10.1.7;"}},
		{"timestamp only", ts, netip.Addr{}, "\x13\x04" + be32(uint32(ts.Unix())), []string{"TftpTimestamp 1796423400;"}},
		{"v4-mapped address is v4", time.Time{}, netip.MustParseAddr("::ffff:10.10.1.7"), "\x14\x04\x0a\x0a\x01\x07", []string{"TftpModemAddress 10.10.1.7;"}},
		{"v6 address is TLV 59", time.Time{}, netip.MustParseAddr("2001:db8:4:11::4432:c821:9e7"),
			"\x3b\x10" + string(netip.MustParseAddr("2001:db8:4:11::4432:c821:9e7").AsSlice()),
			[]string{"TFTPProvisionedModemIPv6Address 2001:db8:4:11:0:4432:c821:9e7;"}},
	}
	body := plain[:6] // NetworkAccess and MaxCPE: 03 01 01 12 01 03
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(src, Options{Key: key, TFTPTimestamp: tt.ts, TFTPModemAddress: tt.addr})
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]byte{}, body...), tt.insert...)
			if !bytes.HasPrefix(got, want) {
				t.Fatalf("file starts % x, want % x", got[:min(len(got), len(want))], want)
			}
			if got[len(want)] != 6 {
				t.Fatalf("TLV after the stamp is %d, want the CM MIC (6)", got[len(want)])
			}
			c, err := VerifyMICs(got, key)
			if err != nil || !c.OK() {
				t.Fatalf("VerifyMICs: %v\n%s", err, c)
			}
			// The CMTS MIC covers TLV 19 and 20: another stamp gives another MIC.
			if !tt.ts.IsZero() {
				other, err := Encode(src, Options{Key: key, TFTPTimestamp: tt.ts.Add(time.Second), TFTPModemAddress: tt.addr})
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(cmtsMICOf(t, got), cmtsMICOf(t, other)) {
					t.Error("CMTS MIC does not change with the timestamp")
				}
			}
			text, err := Decode(got, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range tt.decode {
				if !strings.Contains(string(text), d) {
					t.Errorf("decoded text lacks %q:\n%s", d, text)
				}
			}
		})
	}
	t.Run("tampered timestamp fails both MICs", func(t *testing.T) {
		got, err := Encode(src, Options{Key: key, TFTPTimestamp: ts, TFTPModemAddress: netip.MustParseAddr("10.10.1.7")})
		if err != nil {
			t.Fatal(err)
		}
		got[len(body)+5]++ // last byte of the TLV 19 value
		c, err := VerifyMICs(got, key)
		if err != nil {
			t.Fatal(err)
		}
		if c.CMMICOK || c.CMTSMICOK {
			t.Errorf("a changed TLV 19 still verifies:\n%s", c)
		}
	})
	t.Run("with extended MIC", func(t *testing.T) {
		x := &ExtendedMIC{HMAC: HMACMD5, Types: []uint8{3, 19, 20}, Explicit: true}
		got, err := Encode(src, Options{Key: key, TFTPTimestamp: ts, TFTPModemAddress: netip.MustParseAddr("10.10.1.7"), ExtendedMIC: x})
		if err != nil {
			t.Fatal(err)
		}
		if c, err := VerifyMICs(got, key); err != nil || !c.OK() {
			t.Fatalf("VerifyMICs: %v\n%s", err, c)
		}
		// Stamp first, then TLV 43 whose digest covers it.
		at := len(body) + 6 + 6
		if got[at] != 43 {
			t.Fatalf("TLV after the stamp is %d, want 43", got[at])
		}
		digest, err := x.Digest(got[:at], key)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(got[at:], digest) {
			t.Error("extended MIC digest does not cover the stamp")
		}
	})
	errs := []struct {
		name string
		src  string
		opts Options
		want string
	}{
		{"TLV 19 in the text", "Main { TftpTimestamp 5; }", Options{TFTPTimestamp: ts}, "TLV 19 is set in the text"},
		{"TLV 20 in the text", "Main { TftpModemAddress 1.2.3.4; }", Options{TFTPModemAddress: netip.MustParseAddr("10.0.0.1")}, "TLV 20 is set in the text"},
		{"before 1970", "Main { NetworkAccess 1; }", Options{TFTPTimestamp: time.Unix(-1, 0)}, "does not fit TLV 19"},
		{"after 2106", "Main { NetworkAccess 1; }", Options{TFTPTimestamp: time.Unix(1<<32, 0)}, "does not fit TLV 19"},
		{"MTA file", "Main { MtaConfigDelimiter 1; MtaConfigDelimiter 255; }", Options{Mode: ModeMTA, TFTPTimestamp: ts}, "not applicable to an MTA file"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Encode([]byte(tt.src), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	// A text that sets TLV 19 is fine when the option is not used (the
	// reference's behaviour is unchanged).
	if _, err := Encode([]byte("Main { TftpTimestamp 5; }"), Options{Key: key}); err != nil {
		t.Error(err)
	}
}

func be32(v uint32) string {
	return string([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func cmtsMICOf(t *testing.T, file []byte) []byte {
	t.Helper()
	c, err := VerifyMICs(file, []byte("stamp-secret"))
	if err != nil || !c.CMTSMIC {
		t.Fatalf("no CMTS MIC: %v", err)
	}
	return c.CMTSMICFile[:]
}
