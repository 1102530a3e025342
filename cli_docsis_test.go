package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const docsisVectors = "docsiscfg/testdata/vectors"

func docsisRun(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runDocsis(args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func docsisVector(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(docsisVectors, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDocsisCLI(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(docsisVectors, "keys/shared.key")
	conf := filepath.Join(docsisVectors, "plan_residential_100_20.conf")
	want := docsisVector(t, "plan_residential_100_20.cfg")
	wantMTA := docsisVector(t, "mta_pktc_na_hash.cfg")
	mtaConf := filepath.Join(docsisVectors, "mta_pktc_na_hash.conf")
	stdinConf := docsisVector(t, "plan_residential_100_20.conf")

	tests := []struct {
		name     string
		args     []string
		stdin    []byte
		code     int
		out      string // file to compare with wantFile, "-" for stdout
		wantFile []byte
		stdout   string // substring of stdout
		stderr   string // substring of stderr
	}{
		{name: "encode -e", args: []string{"-e", conf, key, filepath.Join(dir, "a.cfg")}, out: filepath.Join(dir, "a.cfg"), wantFile: want},
		{name: "modifiers -M ignored", args: []string{"-M", "mibs:mibs/ietf", "-e", conf, key, filepath.Join(dir, "b.cfg")}, out: filepath.Join(dir, "b.cfg"), wantFile: want},
		{name: "stdin to stdout", args: []string{"-e", "-", key, "-"}, stdin: stdinConf, out: "-", wantFile: want},
		{name: "mta -na -p", args: []string{"-na", "-p", mtaConf, filepath.Join(dir, "m.bin")}, out: filepath.Join(dir, "m.bin"), wantFile: wantMTA},
		{name: "long encode", args: []string{"encode", "--key", key, conf, filepath.Join(dir, "c.cfg")}, out: filepath.Join(dir, "c.cfg"), wantFile: want},
		{name: "long encode mta", args: []string{"encode", "--mta", "--hash", "na", mtaConf, "-"}, out: "-", wantFile: wantMTA},
		{name: "extended mic", args: []string{"encode", "--key", key, "--extended-mic", "3,18", "-", filepath.Join(dir, "e.cfg")}, stdin: []byte("Main { NetworkAccess 1; MaxCPE 2; }")},
		{name: "extended mic bad type", args: []string{"encode", "--key", key, "--extended-mic", "3,300", conf, filepath.Join(dir, "e2.cfg")}, code: 255, stderr: `"300" is not a TLV type`},
		{name: "decode", args: []string{"-d", filepath.Join(docsisVectors, "snmp_symbolic_names.cfg")}, stdout: "SnmpMibObject sysContact.0 String \"noc@example.net\";"},
		{name: "decode numeric", args: []string{"-o", "-d", filepath.Join(docsisVectors, "snmp_symbolic_names.cfg")}, stdout: "SnmpMibObject .1.3.6.1.2.1.1.4.0 String"},
		{name: "decode stdin", args: []string{"-d", "-"}, stdin: want, stdout: "MaxCPE 4;"},
		{name: "decode nohash", args: []string{"-nohash", "-d", filepath.Join(docsisVectors, "mta_pktc_na_hash.cfg")}, stdout: "\t/* SnmpMibObject pktcMtaDevProvConfigHash.0 HexString"},
		{name: "verify ok", args: []string{"decode", "--verify-key", key, filepath.Join(docsisVectors, "plan_residential_100_20.cfg")}, stderr: "CM MIC ok\nCMTS MIC ok\n"},
		{name: "verify mismatch", args: []string{"decode", "--verify-key", filepath.Join(docsisVectors, "keys/other.key"), filepath.Join(docsisVectors, "plan_residential_100_20.cfg")}, code: 1, stderr: "CMTS MIC mismatch"},
		{name: "help", args: []string{"-h"}, stdout: "Usage: ip6m docsis"},
		{name: "no action", args: []string{"-o"}, code: 255, stderr: "no action given"},
		{name: "bad action", args: []string{"-x"}, code: 255, stderr: `unknown action "-x"`},
		{name: "missing args", args: []string{"-e", conf}, code: 255, stderr: "-e needs IN KEYFILE OUT"},
		{name: "same file", args: []string{"-e", conf, key, conf}, code: 255, stderr: "input and output are the same file"},
		{name: "syntax error", args: []string{"-e", "-", key, filepath.Join(dir, "x.cfg")}, stdin: []byte("Main { NetworkAccess 1 }"), code: 2, stderr: "line 1, column 24"},
		{name: "range error", args: []string{"-e", "-", key, filepath.Join(dir, "x.cfg")}, stdin: []byte("Main { MaxCPE 0; }"), code: 241, stderr: "out of range 1..254"},
		{name: "unknown keyword", args: []string{"-e", "-", key, filepath.Join(dir, "x.cfg")}, stdin: []byte("Main { Foo 1; }"), code: 255, stderr: "unknown setting"},
		{name: "truncated binary", args: []string{"-d", "-"}, stdin: []byte{3, 5, 1}, code: 211, stderr: "offset 0"},
		{name: "missing key", args: []string{"-e", conf, filepath.Join(dir, "nokey"), filepath.Join(dir, "y.cfg")}, code: 255, stderr: "read key"},
		{name: "hash on CM", args: []string{"-na", "-e", conf, key, filepath.Join(dir, "z.cfg")}, code: 255, stderr: "-na and -eu apply to MTA files"},
		{name: "dialplan refused", args: []string{"-dialplan", "-p", mtaConf, filepath.Join(dir, "d.bin")}, code: 255, stderr: "-dialplan is not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := docsisRun(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			if tc.out == "-" && !bytes.Equal([]byte(stdout), tc.wantFile) {
				t.Errorf("stdout differs from the vector")
			}
			if tc.out != "" && tc.out != "-" {
				got, err := os.ReadFile(tc.out)
				if err != nil || !bytes.Equal(got, tc.wantFile) {
					t.Errorf("%s differs from the vector (%v)", tc.out, err)
				}
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
		})
	}
}

func TestDocsisMany(t *testing.T) {
	dir := t.TempDir()
	var ins []string
	for _, n := range []string{"cm_minimal_denied", "bpi_privacy", "generic_tlv"} {
		p := filepath.Join(dir, n+".conf")
		if err := os.WriteFile(p, docsisVector(t, n+".conf"), 0o644); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, p)
	}
	args := append(append([]string{"-m"}, ins...), filepath.Join(docsisVectors, "keys/shared.key"), ".cfg")
	if code, _, stderr := docsisRun(t, nil, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, n := range []string{"cm_minimal_denied", "bpi_privacy", "generic_tlv"} {
		got, err := os.ReadFile(filepath.Join(dir, n+".cfg"))
		if err != nil || !bytes.Equal(got, docsisVector(t, n+".cfg")) {
			t.Errorf("%s: %v", n, err)
		}
	}
	mta := filepath.Join(dir, "mta.txt")
	if err := os.WriteFile(mta, docsisVector(t, "mta_pktc_plain.conf"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := docsisRun(t, nil, "-m", "-p", mta, ".bin"); code != 0 {
		t.Fatalf("-m -p: exit %d: %s", code, stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "mta.bin")); !bytes.Equal(got, docsisVector(t, "mta_pktc_plain.cfg")) {
		t.Error("-m -p output differs")
	}
	// a failing file gives a non-zero status but the others are still built
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("Main { MaxCPE 0; }"), 0o644)
	if code, _, _ := docsisRun(t, nil, "-m", bad, ins[0], filepath.Join(docsisVectors, "keys/shared.key"), ".out"); code != 241 {
		t.Errorf("exit %d, want 241", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "cm_minimal_denied.out")); err != nil {
		t.Error(err)
	}
}

func TestDocsisFileKeywordRelativeToConfig(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "plans")
	os.MkdirAll(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "dial.txt"), []byte("(x.T)"), 0o644)
	conf := filepath.Join(sub, "mta.conf")
	os.WriteFile(conf, []byte(`Main { MtaConfigDelimiter 1; DigitMap "dial.txt"; MtaConfigDelimiter 255; }`), 0o644)
	code, out, stderr := docsisRun(t, nil, "-p", conf, "-")
	if code != 0 || !strings.Contains(out, "(x.T)") {
		t.Errorf("exit %d %s", code, stderr)
	}
}
