package docsiscfg

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func residentialVars() Vars {
	return Vars{
		MAC:      "00:11:22:33:44:55",
		Customer: `Jane "J" Doe`,
		MaxCPE:   4,
		CPEMACs:  []string{"00:1b:21:9a:4d:07", "3c:97:0e:aa:bb:cc"},
		FixedIPs: []string{"198.51.100.17", "198.51.100.18"},
		DownBps:  100000000,
		UpBps:    20000000,
		Plan:     map[string]string{"name": "resi-100", "firmware": "cm-fw-5.0.3.bin"},
	}
}

func loadResidential(t testing.TB) *Template {
	t.Helper()
	text, err := os.ReadFile("testdata/plans/residential.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := ParseTemplate("residential", string(text))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestTemplateCompile(t *testing.T) {
	tmpl := loadResidential(t)
	key := []byte("sharedsecret42")
	got, err := tmpl.Compile(residentialVars(), key)
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/plans/residential.cfg"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("compiled plan differs from %s", golden)
	}
	// the same result through the one-shot function, and a valid file
	text, _ := os.ReadFile("testdata/plans/residential.tmpl")
	again, err := Compile("residential", string(text), residentialVars(), key)
	if err != nil || !bytes.Equal(again, got) {
		t.Errorf("Compile: %v", err)
	}
	check, err := VerifyMICs(got, key)
	if err != nil || !check.OK() {
		t.Errorf("MICs: %v %s", err, check)
	}
	dec, err := Decode(got, DecodeOptions{})
	if err != nil || !bytes.Contains(dec, []byte(`sysContact.0 String "Jane \"J\" Doe"`)) {
		t.Errorf("decode: %v\n%s", err, dec)
	}
}

func TestTemplateErrors(t *testing.T) {
	tests := []struct {
		name, text string
		vars       Vars
		want       string
	}{
		{"parse error names plan and line", "Main {\n\tMaxCPE {{.MaxCPE};\n}", Vars{}, "plan gold: template: gold:2: bad character"},
		{"unknown field", "Main {\n\tMaxCPE {{.Nope}};\n}", Vars{}, "plan gold: template: gold:2:10: executing"},
		{"missing plan key", "Main {\n\n\tSwUpgradeFilename {{quote .Plan.fw}};\n}", Vars{Plan: map[string]string{}}, "plan gold: template: gold:3:"},
		{"rendered config error", "Main {\n\tNetworkAccess 1;\n\tMaxCPE {{.MaxCPE}};\n}", Vars{MaxCPE: 300}, `plan gold: rendered line 3 ("MaxCPE 300;"): line 3, column 9: MaxCPE: 300 is out of range 1..254`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile("gold", tc.text, tc.vars, []byte("k"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func BenchmarkCompileResidential(b *testing.B) {
	tmpl := loadResidential(b)
	vars := residentialVars()
	key := []byte("sharedsecret42")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tmpl.Compile(vars, key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeResidential(b *testing.B) {
	tmpl := loadResidential(b)
	text, err := tmpl.Render(residentialVars())
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Key: []byte("sharedsecret42")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(text, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeResidential(b *testing.B) {
	tmpl := loadResidential(b)
	bin, err := tmpl.Compile(residentialVars(), []byte("sharedsecret42"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(bin, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCompilerCaches(t *testing.T) {
	var c Compiler
	key := []byte("k")
	a, err := c.Compile("p", "Main { MaxCPE {{.MaxCPE}}; }", Vars{MaxCPE: 2}, key)
	if err != nil {
		t.Fatal(err)
	}
	first := c.plans["p"].tmpl
	b, err := c.Compile("p", "Main { MaxCPE {{.MaxCPE}}; }", Vars{MaxCPE: 2}, key)
	if err != nil || !bytes.Equal(a, b) || c.plans["p"].tmpl != first {
		t.Fatalf("second compile: %v, same template %v", err, c.plans["p"].tmpl == first)
	}
	// a changed plan text is parsed again
	d, err := c.Compile("p", "Main { MaxCPE {{.MaxCPE}}; NetworkAccess 1; }", Vars{MaxCPE: 2}, key)
	if err != nil || bytes.Equal(a, d) || c.plans["p"].tmpl == first {
		t.Fatalf("changed plan: %v", err)
	}
	if _, err := c.Compile("bad", "Main { {{.Nope", Vars{}, key); err == nil || !strings.Contains(err.Error(), "plan bad:") {
		t.Errorf("bad plan: %v", err)
	}
	c.Forget("p")
	if _, ok := c.plans["p"]; ok {
		t.Error("Forget kept the plan")
	}
}

func BenchmarkCompilerResidential(b *testing.B) {
	text, err := os.ReadFile("testdata/plans/residential.tmpl")
	if err != nil {
		b.Fatal(err)
	}
	var c Compiler
	vars := residentialVars()
	key := []byte("sharedsecret42")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Compile("residential", string(text), vars, key); err != nil {
			b.Fatal(err)
		}
	}
}
