package dhcpdconf

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// tokens renders a statement's tokens as kind:text for comparison.
func tokens(s *Stmt) string {
	kinds := map[TokenKind]string{Word: "w", Number: "n", Hex: "h", String: "s", Punct: "p"}
	var parts []string
	for _, t := range s.Args {
		parts = append(parts, kinds[t.Kind]+":"+t.Text)
	}
	return strings.Join(parts, " ")
}

func TestLex(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`option routers 10.0.0.1, 10.0.0.2;`, "w:option w:routers w:10.0.0.1 p:, w:10.0.0.2"},
		{`option time-offset -3600;`, "w:option w:time-offset n:-3600"},
		{`hardware ethernet 44:32:C8:21:9:E7;`, "w:hardware w:ethernet h:44:32:C8:21:9:E7"},
		{`x 1:0:1e:6b:e6:b4:a6 ff 12:345;`, "w:x h:1:0:1e:6b:e6:b4:a6 w:ff w:12:345"},
		{`option packetcable.kerberos-realm-name "\005BASIC\0011\000";`, "w:option w:packetcable.kerberos-realm-name s:\x05BASIC\x011\x00"},
		{`x "a\"b\\c\t\x41\x4" "";`, "w:x s:a\"b\\c\tA\x04 s:"},
		{"x # comment ; {\n y;", "w:x w:y"},
		{`match if (option agent.remote-id = 0:1E:6B:E6:B4:A5) and (option dhcp-client-identifier != 1:00:1E:6B:E6:B4:A6);`,
			"w:match w:if p:( w:option w:agent.remote-id p:= h:0:1E:6B:E6:B4:A5 p:) w:and p:( w:option w:dhcp-client-identifier p:!= h:1:00:1E:6B:E6:B4:A6 p:)"},
		{`option packetcable.provisioning-server code 3 = { boolean, ip-address };`,
			"w:option w:packetcable.provisioning-server w:code n:3 p:= p:{ w:boolean p:, w:ip-address p:}"},
		{`if !known { x; }`, "w:if p:! w:known"},
		{`x a!b c~~d;`, "w:x w:a!b w:c~~d"},
	} {
		stmts, err := Parse("t.conf", []byte(tc.in), ParseOptions{})
		if err != nil || len(stmts) == 0 {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := tokens(stmts[0]); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestParseBlocksAndLines(t *testing.T) {
	src := `# header
authoritative;
shared-network "CMTS-1" {
	subnet 10.1.0.0 netmask 255.255.0.0 {
		pool {
			range 10.1.1.1
			      10.1.1.9;
		}
	}
};
host a { hardware ethernet 00:00:ca:00:00:01; } host b { }
if option vendor-class-identifier = "docsis" { filename "x"; } else { filename "y"; }
`
	stmts, err := Parse("t.conf", []byte(src), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := Format(stmts)
	want := `authoritative;
shared-network "CMTS-1" {
	subnet 10.1.0.0 netmask 255.255.0.0 {
		pool {
			range 10.1.1.1 10.1.1.9;
		}
	}
}
host a {
	hardware ethernet 00:00:ca:00:00:01;
}
host b {
}
if option vendor-class-identifier = "docsis" {
	filename "x";
}
else {
	filename "y";
}
`
	if got != want {
		t.Errorf("Format:\n%s\nwant:\n%s", got, want)
	}
	rng := stmts[1].Block[0].Block[0].Block[0]
	if rng.Pos != (Pos{"t.conf", 6}) || stmts[2].Pos.Line != 11 || stmts[3].Pos.Line != 11 || stmts[5].Pos.Line != 12 {
		t.Errorf("positions: range %v, hosts %v %v, else %v", rng.Pos, stmts[2].Pos, stmts[3].Pos, stmts[5].Pos)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"x \"abc", `t.conf:1: unterminated string "\"abc"`},
		{"\n\nsubnet 1 netmask 2 {\n x;\n", "t.conf:3: block opened here is not closed (missing '}')"},
		{"x;\n}\n", "t.conf:2: unexpected '}' (no block is open)"},
		{"a {\n b\n}\n", "t.conf:3: missing ';' after 'b' (statement at line 2)"},
		{"a b", "t.conf:1: statement 'a'… is not finished (missing ';' at the end of the file)"},
		{"x \x01;", "t.conf:1: unexpected control character 0x01"},
		{"option x code 1 = { a, b ;", "t.conf:1: '{' at line 1 is not closed before ';'"},
		{`x "\x";`, `t.conf:1: \x without hex digits in "\"\\x\";"`},
		{`x "\777";`, `t.conf:1: octal escape \777 is more than one byte in "\"\\777\";"`},
		{strings.Repeat("a {", 70) + strings.Repeat("}", 70), "t.conf:1: blocks nest deeper than 64 levels"},
		{`include "a" "b";`, `t.conf:1: include needs one quoted file name: include "file";`},
	} {
		_, err := Parse("t.conf", []byte(tc.in), ParseOptions{ReadFile: func(string) ([]byte, error) { return nil, errors.New("no files") }})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.want)
		}
	}
}

func TestParseIncludes(t *testing.T) {
	files := map[string]string{
		"/etc/dhcp/dhcpd.conf":        "a;\ninclude \"ip6m/main.conf\";\nz;\n",
		"/etc/dhcp/ip6m/main.conf":    "subnet 10.0.0.0 netmask 255.0.0.0 {\n include \"sub/in.conf\";\n}\n",
		"/etc/dhcp/ip6m/sub/in.conf":  "b;\n",
		"/etc/dhcp/abs.conf":          "include \"/etc/dhcp/ip6m/sub/in.conf\";\n",
		"/etc/dhcp/self.conf":         "include \"self.conf\";\n",
		"/etc/dhcp/deep/d.conf":       "include \"d.conf.1\";\n",
		"/etc/dhcp/loop/a.conf":       "include \"b.conf\";\n",
		"/etc/dhcp/loop/b.conf":       "\ninclude \"../loop/a.conf\";\n",
		"/etc/dhcp/missing.conf":      "\n\ninclude \"gone.conf\";\n",
		"/etc/dhcp/bad/include.conf":  "include \"broken.conf\";\n",
		"/etc/dhcp/bad/broken.conf":   "ok;\nbroken\n",
		"/etc/dhcp/ip6m/main.conf.in": "",
	}
	for i := 1; i < 20; i++ {
		files[fmt.Sprintf("/etc/dhcp/deep/d.conf.%d", i)] = fmt.Sprintf("include \"d.conf.%d\";\n", i+1)
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	opts := ParseOptions{ReadFile: read}
	stmts, err := ParseFile("/etc/dhcp/dhcpd.conf", opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := Format(stmts); got != "a;\nsubnet 10.0.0.0 netmask 255.0.0.0 {\n\tb;\n}\nz;\n" {
		t.Errorf("includes spliced as:\n%s", got)
	}
	if p := stmts[1].Block[0].Pos; p != (Pos{"/etc/dhcp/ip6m/sub/in.conf", 1}) {
		t.Errorf("included statement at %v", p)
	}
	if _, err := ParseFile("/etc/dhcp/abs.conf", opts); err != nil {
		t.Errorf("absolute include: %v", err)
	}
	for _, tc := range []struct{ file, want string }{
		{"/etc/dhcp/self.conf", `/etc/dhcp/self.conf:1: include "self.conf": /etc/dhcp/self.conf includes itself`},
		{"/etc/dhcp/loop/a.conf", `/etc/dhcp/loop/b.conf:2: include "../loop/a.conf": /etc/dhcp/loop/a.conf includes itself`},
		{"/etc/dhcp/deep/d.conf", `/etc/dhcp/deep/d.conf.8:1: include "d.conf.9": includes nest deeper than 8 files`},
		{"/etc/dhcp/missing.conf", `/etc/dhcp/missing.conf:3: include "gone.conf": file does not exist`},
		{"/etc/dhcp/bad/include.conf", `/etc/dhcp/bad/broken.conf:2: statement 'broken'… is not finished`},
	} {
		_, err := ParseFile(tc.file, opts)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s…", tc.file, err, tc.want)
		}
	}
}

func TestWireName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"\x05BASIC\x011\x00", "BASIC.1", true},
		{"\x07example\x03net\x00", "example.net", true},
		{"\x05BASIC\x011", "", false},
		{"\x00", "", false},
		{"\x09BASIC", "", false},
		{"BASIC.1", "", false},
	} {
		got, ok := wireName([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("wireName(%q) = %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestClientIDMAC(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1:44:32:C8:21:09:E8", "44:32:c8:21:09:e8"},
		{"ff:c8:21:09:e8:0:3:0:1:44:32:c8:21:9:e8", "44:32:c8:21:09:e8"},
		{"ff:0:0:0:1:0:1:0:1:1:2:3:4:44:32:c8:21:9:e8", "44:32:c8:21:09:e8"},
		{"44:32:c8:21:09:e8", "44:32:c8:21:09:e8"},
		{"ff:c8:21:09:e8:0:2:0:1:44:32:c8:21:9:e8", ""},
		{"2:44:32:C8:21:09:E8", ""},
	} {
		got, _ := macFromClientID(Token{Kind: classify(tc.in), Text: tc.in})
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParse: no input makes the parser panic, hang or recurse without
// bound, and whatever parses formats to text that parses to the same
// statements. Includes read the fuzz input itself, so include cycles and
// depth are fuzzed too. Both mappings (dhcpd.conf and dhcpd6.conf) run on
// what parses (onto an empty inventory) and must not panic either.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/seed_dhcpd.conf", "testdata/cable_dhcpd.conf", "testdata/cable-hosts.conf", "../testdata/dhcpd.conf.golden",
		"testdata/seed_ip6m-dhcpd6.conf", "../testdata/dhcpd6.conf.golden"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "x;", "a { b; } c;", `include "x";`, `option x code 1 = { a, { b } };`, `x "\0011\x41\777";`,
		"host a {\n hardware ethernet 1:2:3:4:5:6; fixed-address 10.0.0.1;\n}\n", "subnet 10.0.0.0 netmask 255.0.0.0 { pool { range 10.0.0.1 10.0.0.9; allow members of \"c\"; } }",
		`class "c" { match if (option agent.remote-id = 1:2:3:4:5:6) and (option dhcp-client-identifier != ff:1:2:3:4:0:3:0:1:1:2:3:4:5:7) or; }`,
		"class \"p\" { match option agent.remote-id; lease limit 3; } subclass \"p\" 1:2:3:4:5:6;",
		"subnet6 2001:db8::/64 { range6 2001:db8::/120; prefix6 2001:db8:0:100:: 2001:db8:0:1ff:: /64; option docsis.tftp-servers ::1; }",
		"host h { host-identifier option dhcp6.client-id 0:3:0:1:1:2:3:4:5:6; fixed-address6 2001:db8::4; fixed-prefix6 2001:db8:1::/48; }",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		// MaxFiles is lowered so that inputs including themselves under
		// many names stay fast to run (TestIncludeFanOut checks the limit).
		opts := ParseOptions{ReadFile: func(string) ([]byte, error) { return src, nil }, MaxFiles: 200}
		stmts, err := Parse("fuzz.conf", src, opts)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		text := Format(stmts)
		again, err := Parse("fuzz.conf", []byte(text), ParseOptions{ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist }})
		if err != nil {
			t.Fatalf("formatted text does not parse: %v\n%s", err, text)
		}
		if text2 := Format(again); text2 != text {
			t.Fatalf("format is not stable:\n%s\n---\n%s", text, text2)
		}
		// Map it onto an empty inventory: any statement tree is taken.
		rep := &Report{File: "fuzz.conf"}
		mapStmts(rep, stmts, newInventory(), Options{CMTS: "CMTS-1"})
		_ = rep.done().String()
		// And as a dhcpd6.conf.
		rep6 := &Report{File: "fuzz.conf"}
		mapStmts6(rep6, stmts, newInventory(), Options{CMTS: "CMTS-1"})
		_ = rep6.done().String()
	})
}

// TestIncludeFanOut: a tree of include files that each include nine more
// (no cycle, within the depth limit) would read 9^7 files; the parser stops
// at MaxFiles, and at MaxBytes for large ones.
func TestIncludeFanOut(t *testing.T) {
	read := func(path string) ([]byte, error) {
		if strings.Count(path, "d/") >= 7 {
			return []byte("leaf;\n"), nil
		}
		var b strings.Builder
		for i := range 9 {
			fmt.Fprintf(&b, "include \"d/%c\";\n", 'a'+i)
		}
		return []byte(b.String()), nil
	}
	start := time.Now()
	_, err := ParseFile("fan.conf", ParseOptions{ReadFile: read})
	if err == nil || !strings.Contains(err.Error(), "more than 100000 files included in all") {
		t.Fatalf("fan-out: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("fan-out took %s", d)
	}
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = ' '
	}
	copy(big, "include \"d/x\";")
	_, err = Parse("big.conf", big, ParseOptions{ReadFile: func(string) ([]byte, error) { return big, nil }, MaxBytes: 4 << 20})
	if err == nil || !strings.Contains(err.Error(), "more than 4194304 bytes read in all") {
		t.Fatalf("bytes limit: %v", err)
	}
}
