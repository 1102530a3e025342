package docsiscfg

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var fuzzKey = []byte("sharedsecret42")

func addVectorSeeds(f *testing.F, ext string, asString bool) {
	names, err := filepath.Glob(filepath.Join("testdata/vectors", "*"+ext))
	if err != nil {
		f.Fatal(err)
	}
	names = append(names, "testdata/plans/residential.cfg")
	for _, n := range names {
		if !strings.HasSuffix(n, ext) {
			continue
		}
		data, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		if asString {
			f.Add(string(data))
		} else {
			f.Add(data)
		}
	}
}

// stripComments drops comment-only lines (MICs, end marker, padding) that a
// re-encode recomputes.
func stripComments(text []byte) string {
	var b strings.Builder
	for line := range strings.SplitSeq(string(text), "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "/*") && strings.HasSuffix(t, "*/") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// checkRoundTrip decodes bin, encodes the text and decodes again: the
// second decode must equal the first (MIC and padding comments aside).
func checkRoundTrip(t *testing.T, bin []byte, mustDecode bool) {
	text, err := Decode(bin, DecodeOptions{})
	if err != nil {
		if mustDecode {
			t.Fatalf("decode of our own output: %v\n%x", err, bin)
		}
		return
	}
	bin2, err := Encode(text, Options{Key: fuzzKey})
	if err != nil {
		t.Fatalf("decoded text does not encode: %v\n%s", err, text)
	}
	text2, err := Decode(bin2, DecodeOptions{})
	if err != nil {
		t.Fatalf("decode after re-encode: %v", err)
	}
	if a, b := stripComments(text), stripComments(text2); a != b {
		t.Fatalf("decode→encode→decode unstable:\n%s\n----\n%s", a, b)
	}
	if mustDecode && !bytes.Equal(bin, bin2) {
		t.Fatalf("decode→encode of our own output differs:\n%x\n%x\n%s", bin, bin2, text)
	}
}

func FuzzParse(f *testing.F) {
	addVectorSeeds(f, ".conf", true)
	f.Add("Main { UsPacketClass { IEEE802Classifier { UserPriority 5; } } }")
	f.Add("Main { GenericTLV TlvCode 24 { GenericTLV TlvCode 1 TlvType Short TlvValue 5; } }")
	f.Fuzz(func(t *testing.T, src string) {
		bin, err := Encode([]byte(src), Options{Key: fuzzKey})
		if err != nil {
			return
		}
		checkRoundTrip(t, bin, true)
	})
}

func FuzzDecode(f *testing.F) {
	addVectorSeeds(f, ".cfg", false)
	f.Add([]byte{254, 1, 1, 64, 0, 3, 0x30, 1, 0})
	f.Fuzz(func(t *testing.T, bin []byte) {
		checkRoundTrip(t, bin, false)
	})
}
