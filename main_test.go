package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ip6m/docsiscfg"
	"ip6m/store"
	"ip6m/timesrv"
)

// cli runs ip6m with args in-process.
func cli(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	code, out, _ := cli(t, "", "-h")
	if code != 0 || !strings.Contains(out, "ip6m serve --demo") {
		t.Fatalf("ip6m -h: %d %q", code, out)
	}
	if code, _, errs := cli(t, "", "frobnicate"); code != 2 || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %d %q", code, errs)
	}
	for _, c := range []string{"serve", "demo", "user", "backup"} {
		code, _, errs := cli(t, "", c, "-h")
		if code != 0 || !strings.Contains(errs, "Usage:") || !strings.Contains(errs, "ip6m "+c) {
			t.Errorf("ip6m %s -h: %d %q", c, code, errs)
		}
	}
	if code, out, _ := cli(t, "", "version"); code != 0 || !strings.Contains(out, "database schema") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := cli(t, "", "user", "add", "alice", "--role", "admin", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "user alice: password ") {
		t.Fatalf("user add: %d %q %q", code, out, errs)
	}
	generated := strings.TrimSpace(strings.TrimPrefix(out, "user alice: password "))
	if code, _, errs := cli(t, "short\n", "user", "add", "bob", "--password-stdin", "--data", dir); code != 1 || !strings.Contains(errs, "at least 10 characters") {
		t.Fatalf("short password: %d %q", code, errs)
	}
	if code, _, errs := cli(t, "bob-password-123\n", "user", "add", "--data", dir, "--role", "viewer", "--password-stdin", "bob"); code != 0 {
		t.Fatalf("user add bob: %d %q", code, errs)
	}
	if code, _, errs := cli(t, "", "user", "add", "alice", "--data", dir); code != 1 || !strings.Contains(errs, "already used") {
		t.Fatalf("duplicate user: %d %q", code, errs)
	}
	if code, _, errs := cli(t, "new-password-456\n", "user", "passwd", "alice", "--password-stdin", "--data", dir); code != 0 {
		t.Fatalf("passwd: %d %q", code, errs)
	}
	code, out, _ = cli(t, "", "user", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "viewer") {
		t.Fatalf("user list: %d %q", code, out)
	}
	st, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Authenticate(context.Background(), "alice", generated); err == nil {
		t.Fatal("the old password still works after passwd")
	}
	if _, err := st.Authenticate(context.Background(), "alice", "new-password-456"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func TestDemoAndBackup(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := cli(t, "", "demo", "--modems", "40", "--data", dir)
	if code != 0 || !strings.Contains(out, "40 modems") {
		t.Fatalf("demo: %d %q %q", code, out, errs)
	}
	if code, _, errs := cli(t, "", "demo", "--data", dir); code != 1 || !strings.Contains(errs, "already holds") {
		t.Fatalf("second demo: %d %q", code, errs)
	}
	bak := filepath.Join(t.TempDir(), "copy.db")
	if code, _, errs := cli(t, "", "backup", bak, "--data", dir); code != 0 {
		t.Fatalf("backup: %d %q", code, errs)
	}
	if code, _, errs := cli(t, "", "backup", "--data", dir, bak); code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("backup over a file: %d %q", code, errs)
	}
	st, err := store.OpenFile(context.Background(), bak, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.Count(context.Background())
	if err != nil || c.Modems != 40 || c.CMTS != 3 {
		t.Fatalf("backup holds %+v (%v), want 40 modems and 3 CMTS", c, err)
	}
}

func TestBindAdvice(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "listen", Err: os.NewSyscallError("bind", syscall.EACCES)}, "run as root, grant CAP_NET_BIND_SERVICE"},
		{&net.OpError{Op: "listen", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}, "in use by another program"},
		{fmt.Errorf("odd"), "odd"},
	}
	for _, tc := range tests {
		got := bindAdvice("DHCPv4", ":67", tc.err)
		if !strings.Contains(got, tc.want) || !strings.Contains(got, "the other services keep running") || strings.Contains(got, "\n") {
			t.Errorf("bindAdvice(%v) = %q, want one line with %q", tc.err, got, tc.want)
		}
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServe starts the whole server on high loopback ports with --demo,
// checks the UI answers with the login page and the time service answers,
// then stops it with its context, as SIGINT would.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	httpAddr := freePort(t)
	timeAddr := freePort(t)
	var logs bytes.Buffer
	out := &syncWriter{w: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	cfg := &serveConfig{data: dir, httpAddr: httpAddr, time: timeAddr, dhcp4: "", dhcp6: "", tftp: "", dns: "", demo: true, demoModems: 25}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, log, out) }()

	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ {
		resp, err = http.Get("http://" + httpAddr + "/")
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("UI never answered: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `action="/login"`) {
		t.Fatalf("GET / → %d, want the login page", resp.StatusCode)
	}
	qctx, qcancel := context.WithTimeout(ctx, 3*time.Second)
	if _, err := timesrv.Query(qctx, "udp", timeAddr); err != nil {
		t.Errorf("time service: %v", err)
	}
	qcancel()
	if !strings.Contains(out.String(), "log in as  admin  with password") {
		t.Errorf("first run printed no admin password: %q", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15 s")
	}
	// Restart on the same folder: the demo is kept, no new admin password.
	out.mu.Lock()
	out.w.Reset()
	out.mu.Unlock()
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- serve(ctx2, cfg, log, out) }()
	time.Sleep(300 * time.Millisecond)
	cancel2()
	if err := <-done; err != nil {
		t.Fatalf("second serve: %v", err)
	}
	if strings.Contains(out.String(), "password") {
		t.Errorf("second start printed a password again: %q", out.String())
	}
}

// TestServeBusyPort: a service whose port is taken is reported in one line
// and the others run.
func TestServeBusyPort(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var logs bytes.Buffer
	sw := &syncWriter{w: &logs}
	cfg := &serveConfig{data: t.TempDir(), httpAddr: freePort(t), time: busy.LocalAddr().String()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(sw, nil)), io.Discard) }()
	for i := 0; i < 100; i++ {
		if _, err := http.Get("http://" + cfg.httpAddr + "/login"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if got := sw.String(); !strings.Contains(got, "cannot listen on "+cfg.time) || !strings.Contains(got, "the other services keep running") {
		t.Fatalf("log lacks the one-line bind error:\n%s", got)
	}
}

// TestStaticBuild: CGO_ENABLED=0 go build gives a binary that runs.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ip6m")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ip6m ") {
		t.Fatalf("ip6m version: %v %q", err, out)
	}
}

// TestPackageDirections keeps the dependency rules of DESIGN.md true: leaf
// libraries import nothing of ours, service packages never import each
// other or ui, and store imports no other package of ours.
func TestPackageDirections(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	services := map[string]bool{"dhcp": true, "tftp": true, "dns": true, "snmp": true, "timesrv": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], "ip6m/")
		top, _, _ := strings.Cut(pkg, "/")
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, "ip6m/") {
				continue
			}
			dep, _, _ := strings.Cut(strings.TrimPrefix(imp, "ip6m/"), "/")
			if dep == top {
				continue
			}
			switch {
			case top == "docsiscfg" || top == "tsdb" || top == "store":
				t.Errorf("%s is a leaf but imports %s", pkg, imp)
			case services[top] && (services[dep] || dep == "ui"):
				t.Errorf("service %s imports %s", pkg, imp)
			}
		}
	}
}

// syncWriter lets several goroutines log into one buffer.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

// TestDemoPlansCompile: every demo plan's CM and MTA template compiles
// for every demo modem's variables, byte-checked by the MIC verifier.
func TestDemoPlansCompile(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: 30}); err != nil {
		t.Fatal(err)
	}
	plans, err := st.ListPlans(ctx)
	if err != nil || len(plans) != 3 {
		t.Fatalf("plans: %d, %v", len(plans), err)
	}
	modems, _, err := st.ListModems(ctx, store.ModemFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]store.Plan{}
	for _, p := range plans {
		byID[p.ID] = p
	}
	key := []byte("demo-secret-1")
	for _, m := range modems {
		p := byID[m.PlanID]
		vars := docsiscfg.Vars{MAC: m.MAC, Customer: m.CustomerAccount, MaxCPE: int(p.MaxCPE)}
		bin, err := docsiscfg.Compile(p.Name, p.Config, vars, key)
		if err != nil {
			t.Fatalf("plan %s for %s: %v", p.Name, m.MAC, err)
		}
		if check, err := docsiscfg.VerifyMICs(bin, key); err != nil || !check.OK() {
			t.Fatalf("plan %s for %s: MICs %+v, %v", p.Name, m.MAC, check, err)
		}
		if _, err := docsiscfg.Compile(p.Name+" MTA", p.MTAConfig, vars, nil); err != nil {
			t.Fatalf("plan %s MTA config: %v", p.Name, err)
		}
	}
}
