package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"ip6m/docsiscfg"
)

// Exit statuses of the docsis command, as the reference tool returns them.
const (
	docsisOK         = 0
	docsisMismatch   = 1   // decode --verify-key: a MIC does not match
	docsisSyntax     = 2   // grammar error in a config text
	docsisRange      = 241 // numeric value out of range
	docsisBadBinary  = 211 // malformed binary
	docsisFailure    = 255 // anything else: bad value, unknown keyword, I/O
	docsisUsageError = 255
)

const docsisUsage = `Usage: ip6m docsis [modifiers] ACTION
A drop-in for the docsis config compiler.

Actions (modifiers must come first):
  -e IN KEYFILE OUT         encode a cable modem config (CM MIC, CMTS MIC, end marker, pad)
  -p IN OUT                 encode a PacketCable MTA config (-na / -eu add the config hash)
  -m IN... KEYFILE .EXT     encode many CM configs; each output is IN with its extension replaced
  -m -p IN... .EXT          encode many MTA configs
  -d IN                     decode a binary to text on stdout
Modifiers:
  -o                        print OIDs numerically when decoding
  -na | -eu                 add the PacketCable NA / Excentis EU config hash (with -p)
  -nohash                   when decoding, comment out the config hash varbind
  -M DIRS                   accepted and ignored (MIB names are built in)
"-" stands for stdin (IN) or stdout (OUT). Files named in a config (ManufacturerCVC "f",
DigitMap "f") are read relative to that config's folder. Encoding prints nothing on
success (the reference prints its MIC input and a decode of the result), so "-" as OUT
gives only the binary. Exit status: 0 ok, 2 syntax error, 241 value out of range,
211 malformed binary, 255 any other failure, 1 MIC mismatch (decode --verify-key).

Long forms:
  ip6m docsis encode --key KEYFILE [--extended-mic T1,T2,...] IN OUT
                                               encode a CM config; --extended-mic adds the
                                               DOCSIS 3.0 Extended CMTS MIC (TLV 43.6, MD5 HMAC,
                                               explicit digest) over the listed TLV types
  ip6m docsis encode --mta [--hash na|eu] IN OUT
  ip6m docsis decode [--verify-key KEYFILE] [--numeric] IN
`

// runDocsis is the docsis command: the reference tool's command line plus
// the encode/decode long forms. It returns the process exit status.
func runDocsis(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "--help", "help":
			io.WriteString(stdout, docsisUsage)
			return docsisOK
		case "encode":
			return docsisLongEncode(args[1:], stdin, stdout, stderr)
		case "decode":
			return docsisLongDecode(args[1:], stdin, stdout, stderr)
		}
	}
	var (
		numeric, noHash, mta bool
		hash                 docsiscfg.MTAHash
	)
	for len(args) > 0 {
		switch args[0] {
		case "-o":
			numeric = true
		case "-na":
			hash = docsiscfg.HashNA
		case "-eu":
			hash = docsiscfg.HashEU
		case "-nohash":
			noHash = true
		case "-M":
			if len(args) < 2 {
				return docsisUsageFail(stderr, "-M needs a folder list")
			}
			args = args[1:]
		case "-dialplan":
			return docsisUsageFail(stderr, "-dialplan is not supported: write DigitMap \"file\"; in the config instead")
		default:
			goto action
		}
		args = args[1:]
	}
action:
	if len(args) == 0 {
		return docsisUsageFail(stderr, "no action given")
	}
	act, rest := args[0], args[1:]
	if act == "-m" && len(rest) > 0 && rest[0] == "-p" {
		mta, rest = true, rest[1:]
	}
	switch act {
	case "-e":
		if len(rest) != 3 {
			return docsisUsageFail(stderr, "-e needs IN KEYFILE OUT")
		}
		if hash != docsiscfg.HashNone {
			return docsisUsageFail(stderr, "-na and -eu apply to MTA files (-p)")
		}
		key, err := docsisKey(rest[1])
		if err != nil {
			fmt.Fprintf(stderr, "ip6m docsis: %v\n", err)
			return docsisFailure
		}
		return docsisEncodeFile(rest[0], rest[2], docsiscfg.Options{Key: key}, stdin, stdout, stderr)
	case "-p":
		if len(rest) != 2 {
			return docsisUsageFail(stderr, "-p needs IN OUT")
		}
		return docsisEncodeFile(rest[0], rest[1], docsiscfg.Options{Mode: docsiscfg.ModeMTA, Hash: hash}, stdin, stdout, stderr)
	case "-m":
		return docsisMany(rest, mta, hash, stdin, stdout, stderr)
	case "-d":
		if len(rest) != 1 {
			return docsisUsageFail(stderr, "-d needs IN")
		}
		return docsisDecodeFile(rest[0], "", numeric, noHash, stdin, stdout, stderr)
	}
	return docsisUsageFail(stderr, fmt.Sprintf("unknown action %q", act))
}

func docsisUsageFail(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "ip6m docsis: %s\n\n%s", msg, docsisUsage)
	return docsisUsageError
}

// docsisKey reads a shared-secret key file the way the reference does.
func docsisKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	return docsiscfg.KeyFromFile(data), nil
}

func docsisRead(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(path)
}

// docsisStatus maps an encode error to the reference's exit status.
func docsisStatus(err error) int {
	var se *docsiscfg.SyntaxError
	var de *docsiscfg.DecodeError
	switch {
	case errors.As(err, &se):
		switch {
		case strings.Contains(se.Msg, "out of range"):
			return docsisRange
		case strings.HasPrefix(se.Msg, "unexpected") || strings.HasPrefix(se.Msg, "empty block"):
			return docsisSyntax
		}
	case errors.As(err, &de):
		return docsisBadBinary
	}
	return docsisFailure
}

func docsisEncodeFile(in, out string, opts docsiscfg.Options, stdin io.Reader, stdout, stderr io.Writer) int {
	if in == out && in != "-" {
		fmt.Fprintf(stderr, "ip6m docsis: input and output are the same file %s\n", in)
		return docsisFailure
	}
	src, err := docsisRead(in, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "ip6m docsis: %v\n", err)
		return docsisFailure
	}
	dir := "."
	if in != "-" {
		dir = filepath.Dir(in)
	}
	opts.ReadFile = func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return os.ReadFile(name)
	}
	bin, err := docsiscfg.Encode(src, opts)
	if err != nil {
		fmt.Fprintf(stderr, "ip6m docsis: %s: %v\n", in, err)
		return docsisStatus(err)
	}
	if out == "-" {
		if _, err := stdout.Write(bin); err != nil {
			fmt.Fprintf(stderr, "ip6m docsis: write: %v\n", err)
			return docsisFailure
		}
		return docsisOK
	}
	if err := docsisWrite(out, bin); err != nil {
		fmt.Fprintf(stderr, "ip6m docsis: %v\n", err)
		return docsisFailure
	}
	return docsisOK
}

// docsisWrite writes a file through a temporary file and a rename.
func docsisWrite(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// docsisMany encodes every IN into IN with its extension replaced by ext.
func docsisMany(rest []string, mta bool, hash docsiscfg.MTAHash, stdin io.Reader, stdout, stderr io.Writer) int {
	need := 3
	if mta {
		need = 2
	}
	if len(rest) < need {
		return docsisUsageFail(stderr, "-m needs IN... KEYFILE .EXT (or -m -p IN... .EXT)")
	}
	ext := rest[len(rest)-1]
	if !strings.HasPrefix(ext, ".") {
		return docsisUsageFail(stderr, fmt.Sprintf("-m: the last argument %q must be an extension like .cfg", ext))
	}
	opts := docsiscfg.Options{Mode: docsiscfg.ModeMTA, Hash: hash}
	ins := rest[:len(rest)-1]
	if !mta {
		if hash != docsiscfg.HashNone {
			return docsisUsageFail(stderr, "-na and -eu apply to MTA files (-m -p)")
		}
		key, err := docsisKey(rest[len(rest)-2])
		if err != nil {
			fmt.Fprintf(stderr, "ip6m docsis: %v\n", err)
			return docsisFailure
		}
		opts = docsiscfg.Options{Key: key}
		ins = rest[:len(rest)-2]
	}
	status := docsisOK
	for _, in := range ins {
		out := strings.TrimSuffix(in, filepath.Ext(in)) + ext
		if code := docsisEncodeFile(in, out, opts, stdin, stdout, stderr); code != docsisOK {
			status = code
		}
	}
	return status
}

func docsisDecodeFile(in, keyFile string, numeric, noHash bool, stdin io.Reader, stdout, stderr io.Writer) int {
	bin, err := docsisRead(in, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "ip6m docsis: %v\n", err)
		return docsisFailure
	}
	text, err := docsiscfg.Decode(bin, docsiscfg.DecodeOptions{NumericOIDs: numeric})
	if err != nil {
		fmt.Fprintf(stderr, "ip6m docsis: %s: %v\n", in, err)
		return docsisStatus(err)
	}
	if noHash {
		text = docsisCommentHash(text)
	}
	if _, err := stdout.Write(text); err != nil {
		fmt.Fprintf(stderr, "ip6m docsis: write: %v\n", err)
		return docsisFailure
	}
	if keyFile == "" {
		return docsisOK
	}
	key, err := docsisKey(keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "ip6m docsis: %v\n", err)
		return docsisFailure
	}
	check, err := docsiscfg.VerifyMICs(bin, key)
	if err != nil {
		fmt.Fprintf(stderr, "ip6m docsis: %s: %v\n", in, err)
		return docsisStatus(err)
	}
	io.WriteString(stderr, check.String())
	if !check.OK() {
		return docsisMismatch
	}
	return docsisOK
}

// docsisCommentHash comments out the MTA config hash varbind (-nohash).
func docsisCommentHash(text []byte) []byte {
	lines := bytes.SplitAfter(text, []byte("\n"))
	for i, l := range lines {
		if bytes.Contains(l, []byte("pktcMtaDevProvConfigHash")) || bytes.Contains(l, []byte(".1.3.6.1.4.1.7432.1.1.2.9.0 ")) || bytes.Contains(l, []byte("enterprises.7432.1.1.2.9.0 ")) {
			t := bytes.TrimRight(l, "\n")
			indent := len(t) - len(bytes.TrimLeft(t, "\t"))
			lines[i] = append(append(append([]byte{}, t[:indent]...), "/* "...), append(append([]byte{}, t[indent:]...), " */\n"...)...)
		}
	}
	return bytes.Join(lines, nil)
}

func docsisLongEncode(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var keyFile, hashName, extTypes string
	mta := false
	var pos []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--key" || a == "-key":
			if i+1 >= len(args) {
				return docsisUsageFail(stderr, "--key needs a key file")
			}
			keyFile = args[i+1]
			i++
		case a == "--extended-mic" || a == "-extended-mic":
			if i+1 >= len(args) {
				return docsisUsageFail(stderr, "--extended-mic needs a list of TLV types, e.g. 1,2,3,4,17,43,18,24,25")
			}
			extTypes = args[i+1]
			i++
		case a == "--mta" || a == "-mta":
			mta = true
		case a == "--hash" || a == "-hash":
			if i+1 >= len(args) {
				return docsisUsageFail(stderr, "--hash needs na or eu")
			}
			hashName = args[i+1]
			i++
		case a == "-h" || a == "--help":
			io.WriteString(stdout, docsisUsage)
			return docsisOK
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		return docsisUsageFail(stderr, "encode needs IN OUT")
	}
	opts := docsiscfg.Options{}
	switch hashName {
	case "":
	case "na":
		opts.Hash = docsiscfg.HashNA
	case "eu":
		opts.Hash = docsiscfg.HashEU
	default:
		return docsisUsageFail(stderr, fmt.Sprintf("--hash %q: use na or eu", hashName))
	}
	if extTypes != "" {
		x := &docsiscfg.ExtendedMIC{HMAC: docsiscfg.HMACMD5, Explicit: true}
		for f := range strings.SplitSeq(extTypes, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 8)
			if err != nil {
				return docsisUsageFail(stderr, fmt.Sprintf("--extended-mic: %q is not a TLV type 0..255", f))
			}
			x.Types = append(x.Types, uint8(n))
		}
		opts.ExtendedMIC = x
	}
	if mta {
		opts.Mode = docsiscfg.ModeMTA
	} else {
		if keyFile == "" {
			return docsisUsageFail(stderr, "encode needs --key KEYFILE (or --mta)")
		}
		key, err := docsisKey(keyFile)
		if err != nil {
			fmt.Fprintf(stderr, "ip6m docsis: %v\n", err)
			return docsisFailure
		}
		opts.Key = key
	}
	return docsisEncodeFile(pos[0], pos[1], opts, stdin, stdout, stderr)
}

func docsisLongDecode(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var keyFile string
	numeric := false
	var pos []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--verify-key" || a == "-verify-key":
			if i+1 >= len(args) {
				return docsisUsageFail(stderr, "--verify-key needs a key file")
			}
			keyFile = args[i+1]
			i++
		case a == "--numeric" || a == "-numeric" || a == "-o":
			numeric = true
		case a == "-h" || a == "--help":
			io.WriteString(stdout, docsisUsage)
			return docsisOK
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 1 {
		return docsisUsageFail(stderr, "decode needs IN")
	}
	return docsisDecodeFile(pos[0], keyFile, numeric, false, stdin, stdout, stderr)
}
