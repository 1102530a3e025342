package tftp

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want, reason string
	}{
		{"fw/a.bin", "fw/a.bin", ""},
		{"fw//a.bin", "fw/a.bin", ""},
		{"./fw/./a.bin", "fw/a.bin", ""},
		{"fw/", "fw", ""},
		{"a..b", "a..b", ""},
		{"..a", "..a", ""},
		{"", "", ReasonBadName},
		{"a\x00b", "", ReasonBadName},
		{"a\nb", "", ReasonBadName},
		{"a\x7fb", "", ReasonBadName},
		{strings.Repeat("x", 256), "", ReasonBadName},
		{"..", "", ReasonTraversal},
		{"../a", "", ReasonTraversal},
		{"fw/../a", "", ReasonTraversal},
		{"fw/..", "", ReasonTraversal},
		{"/a", "", ReasonTraversal},
		{"//a", "", ReasonTraversal},
		{`a\b`, "", ReasonTraversal},
		{`..\..\a`, "", ReasonTraversal},
		{"C:/a", "", ReasonTraversal},
		{"c:a", "", ReasonTraversal},
		{".", "", ReasonTraversal},
		{"./", "", ReasonTraversal},
	}
	for _, tt := range tests {
		got, r := cleanName(tt.in)
		reason := ""
		if r != nil {
			reason = r.reason
		}
		if got != tt.want || reason != tt.reason {
			t.Errorf("cleanName(%q) = %q, %q; want %q, %q", tt.in, got, reason, tt.want, tt.reason)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, name, mac string
		ok                 bool
	}{
		{DefaultCMFile, "cm/4432c82109e7.cfg", "44:32:c8:21:09:e7", true},
		{DefaultCMFile, "cm/4432C82109E7.cfg", "44:32:c8:21:09:e7", true},
		{DefaultCMFile, "cm/4432c82109e.cfg", "", false},
		{DefaultCMFile, "cm/4432c82109e77.cfg", "", false},
		{DefaultCMFile, "cm/4432c82109eg.cfg", "", false},
		{DefaultCMFile, "cm/4432c82109e7.bin", "", false},
		{DefaultCMFile, "mta/4432c82109e7.cfg", "", false},
		{DefaultMTAFile, "mta/4432c82109e8.bin", "44:32:c8:21:09:e8", true},
		{"{mac}", "4432c82109e7", "44:32:c8:21:09:e7", true},
		{"cm/cm-2.cfg", "cm/cm-2.cfg", "", true},
		{"cm/cm-2.cfg", "cm/cm-3.cfg", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		mac, ok := matchPattern(tt.pattern, tt.name)
		if mac != tt.mac || ok != tt.ok {
			t.Errorf("matchPattern(%q, %q) = %q, %v; want %q, %v", tt.pattern, tt.name, mac, ok, tt.mac, tt.ok)
		}
	}
}

// FuzzName feeds request names to the name checks, the config name
// patterns and a real static folder holding symlinks out of it: no panic,
// a name accepted as a path is local and clean, and whatever opens is
// inside the root.
func FuzzName(f *testing.F) {
	for _, s := range []string{"fw/a.bin", "../secret", "out/secret", "in", "cm/4432c82109e7.cfg", "a\\b", "/etc/passwd",
		"fw/../../x", "C:x", ".", "mta/4432C82109E8.bin", "x/./../y", "out", "loop/loop/x", "\x00", strings.Repeat("a/", 130)} {
		f.Add(s)
	}
	dir := f.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "fw"), 0o755)
	os.WriteFile(filepath.Join(root, "fw", "a.bin"), []byte("ok"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("secret"), 0o644)
	os.Symlink(dir, filepath.Join(root, "out"))
	os.Symlink("fw", filepath.Join(root, "in"))
	os.Symlink("../loop", filepath.Join(root, "loop"))
	var once sync.Once
	var s *Server
	realRoot, _ := filepath.EvalSymlinks(root)
	f.Fuzz(func(t *testing.T, name string) {
		once.Do(func() {
			var err error
			s, err = New(Config{Addr: "127.0.0.1:0", Root: root, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
		})
		if clean, r := cleanName(name); r == nil {
			if !filepath.IsLocal(clean) || path.Clean(clean) != clean || strings.ContainsAny(clean, "\\\x00") || len(clean) > maxNameLen {
				t.Fatalf("cleanName(%q) accepted %q", name, clean)
			}
			for _, el := range strings.Split(clean, "/") {
				if el == ".." {
					t.Fatalf("cleanName(%q) = %q with ..", name, clean)
				}
			}
		}
		if mac, ok := matchPattern(DefaultCMFile, name); ok {
			if want := "cm/" + strings.ReplaceAll(mac, ":", "") + ".cfg"; strings.ToLower(name) != want {
				t.Fatalf("matchPattern(%q) = %q", name, mac)
			}
		}
		fl, err := s.open(context.Background(), name, netip.MustParseAddr("127.0.0.1"))
		if err != nil {
			if _, ok := err.(*refusal); !ok {
				t.Fatalf("open(%q): %v is not a refusal", name, err)
			}
			return
		}
		defer fl.Close()
		osf, ok := fl.r.(*os.File)
		if !ok {
			t.Fatalf("open(%q) gave a %T", name, fl.r)
		}
		real, err := os.Readlink("/proc/self/fd/" + itoa(int(osf.Fd())))
		if err != nil {
			t.Skip("no /proc to check where the file is")
		}
		if rel, err := filepath.Rel(realRoot, real); err != nil || !filepath.IsLocal(rel) {
			t.Fatalf("open(%q) opened %s, outside the root %s", name, real, realRoot)
		}
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// logCapture counts the Warn records a logger writes.
type logCapture struct {
	mu      sync.Mutex
	records []slog.Record
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	c.records = append(c.records, r.Clone())
	c.mu.Unlock()
	return nil
}
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

func TestRefusalLogRateLimit(t *testing.T) {
	capt := &logCapture{}
	l := newRefusalLog(4, slog.New(capt))
	var heard []Refusal
	fn := func(r Refusal) { heard = append(heard, r) }
	l.notify.Store(&fn)
	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	a := netip.MustParseAddrPort("10.10.1.5:1024")
	b := netip.MustParseAddrPort("10.10.1.6:1024")
	for i := range 1000 { // a scan from one address
		l.add(t0.Add(time.Duration(i)*time.Millisecond), a, "cm/x.cfg", ReasonNotLeaseHolder, "")
	}
	l.add(t0.Add(time.Second), b, "cm/y.cfg", ReasonNoLease, "")
	l.add(t0.Add(logEvery), a, "cm/z.cfg", ReasonNotLeaseHolder, "")
	if n := len(capt.records); n != 3 {
		t.Fatalf("%d log lines for 1002 refusals from two addresses over %v; want 3", n, logEvery)
	}
	// The callback hears what is logged, no more.
	if len(heard) != 3 || heard[1].From != b || heard[2].Name != "cm/z.cfg" {
		t.Errorf("callback heard %+v", heard)
	}
	var suppressed int64
	capt.records[2].Attrs(func(at slog.Attr) bool {
		if at.Key == "not_logged_before" {
			suppressed = at.Value.Int64()
		}
		return true
	})
	if capt.records[2].Level != slog.LevelWarn || suppressed != 999 {
		t.Errorf("third line: level %v, not_logged_before %d; want Warn, 999", capt.records[2].Level, suppressed)
	}
	total, by := l.counts()
	if total != 1002 || by[ReasonNotLeaseHolder] != 1001 || by[ReasonNoLease] != 1 {
		t.Errorf("counts %d %v", total, by)
	}
	list := l.list()
	if len(list) != 4 || list[3].Name != "cm/z.cfg" || list[2].From != b {
		t.Errorf("last refusals %+v", list)
	}
	// Many sources: the limiter's memory stays bounded.
	for i := range 3 * maxLogSources {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.add(t0.Add(time.Minute), netip.AddrPortFrom(ip, 69), "x", ReasonNotFound, "")
	}
	if n := len(l.sources); n > maxLogSources {
		t.Errorf("%d sources remembered, bound %d", n, maxLogSources)
	}
}

func TestErrorLimiter(t *testing.T) {
	var l errorLimiter
	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	got := []bool{l.allow("plan A: bad", t0), l.allow("plan A: bad", t0.Add(time.Second)), l.allow("plan B: bad", t0.Add(time.Second)),
		l.allow("plan A: bad", t0.Add(time.Minute))}
	if want := []bool{true, false, true, true}; !slices.Equal(got, want) {
		t.Errorf("allow = %v, want %v", got, want)
	}
}
