package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{name: "no population", args: []string{}, code: 1, wantErr: "no modems"},
		{name: "remote server refused", args: []string{"--random", "2", "--server", "192.0.2.1:67"}, code: 1, wantErr: "not a loopback address"},
		{name: "remote relay refused", args: []string{"--random", "2", "--giaddr", "192.0.2.1"}, code: 1, wantErr: "not a loopback address"},
		{name: "bad relay port", args: []string{"--random", "2", "--relay-port", "70000"}, code: 1, wantErr: "out of range"},
		{name: "bad OUI", args: []string{"--random", "2", "--oui", "xyz"}, code: 1, wantErr: "OUI"},
		{name: "stray argument", args: []string{"extra"}, code: 2, wantErr: "unexpected argument"},
		{name: "unknown flag", args: []string{"--nope"}, code: 2, wantErr: "not defined"},
		{name: "help", args: []string{"-h"}, code: 0, wantErr: "usage: dhcpload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

// TestRunEndToEnd drives the command as a user would: a MAC file, the fake
// server, --json out. The relay binds an ephemeral port and asks for replies
// there with --rfc8357.
func TestRunEndToEnd(t *testing.T) {
	modems := testModems(t, 20)
	file := filepath.Join(t.TempDir(), "macs")
	var list strings.Builder
	for _, m := range modems {
		fmt.Fprintln(&list, m)
	}
	if err := os.WriteFile(file, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFakeServer(t, modems, 9)
	f.start()
	acks := filepath.Join(t.TempDir(), "acks.tsv")
	var stdout, stderr bytes.Buffer
	args := []string{
		"--macs", file, "--server", f.addr().String(), "--giaddr", "127.0.0.1", "--relay-port", "0", "--rfc8357",
		"-n", "100", "--window", "10", "--duration", "20s", "--mta", "20", "--cpe", "20",
		"--server-pid", fmt.Sprint(os.Getpid()), "--json", "--acks", acks,
	}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f.check(t)
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if res.Completed != 100 || res.Modems != 20 || res.ServerCPU == nil || res.LoadCPU == nil {
		t.Errorf("result %+v", res)
	}

	// Every ACK is listed with the address the server gave that client.
	b, err := os.ReadFile(acks)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != res.Completed {
		t.Fatalf("%d lines in --acks, %d completed", len(lines), res.Completed)
	}
	f.mu.Lock()
	for _, line := range lines {
		fields := strings.Split(line, "\t")
		if len(fields) != 4 {
			t.Fatalf("--acks line %q", line)
		}
		mac := mustMAC(t, fields[0])
		ip := f.offered[mac]
		if fields[1] != netip.AddrFrom4(ip).String() {
			t.Errorf("--acks says %s got %s, the server gave %v", fields[0], fields[1], ip)
		}
		if modem := mustMAC(t, fields[3]); f.modems[modem] == 0 && modem != modems[0] {
			t.Errorf("--acks modem %s is not in the population", fields[3])
		}
	}
	f.mu.Unlock()

	// The Kea config for the same MACs.
	kea := filepath.Join(t.TempDir(), "kea.json")
	stderr.Reset()
	if code := run([]string{"--macs", file, "--kea-config", kea, "--kea-reserve"}, &stdout, &stderr); code != 0 {
		t.Fatalf("kea config: exit %d: %s", code, stderr.String())
	}
	b, err = os.ReadFile(kea)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range modems {
		if !bytes.Contains(b, []byte(`"hw-address": "`+m.String()+`"`)) {
			t.Errorf("kea config lacks a reservation for %v", m)
		}
	}
	if !bytes.Contains(b, []byte(filepath.Join(filepath.Dir(kea), "kea-leases4.csv"))) {
		t.Error("default lease file is not beside the config")
	}
}

func TestOnLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.2", true},
		{"::1", true},
		{"192.0.2.1", false}, // TEST-NET-1: on no interface here
		{"0.0.0.0", false},
	}
	for _, tt := range tests {
		if got := onLoopback(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("onLoopback(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
