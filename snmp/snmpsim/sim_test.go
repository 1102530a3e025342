package snmpsim

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

func start(t *testing.T, cfg Config) *Sim {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// client is gosnmp's own client: the simulator must satisfy a third
// party's encoder and decoder, not only ip6m's poller.
func client(t *testing.T, a netip.AddrPort, community string) *gosnmp.GoSNMP {
	t.Helper()
	g := &gosnmp.GoSNMP{Target: a.Addr().String(), Port: a.Port(), Community: community, Version: gosnmp.Version2c,
		Timeout: 300 * time.Millisecond, Retries: 0, MaxOids: 60}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Conn.Close() })
	return g
}

func TestModemObjects(t *testing.T) {
	s := start(t, Config{Modems: 3, Static: true, NoCMTS: true, Shapes: []Shape{{Down: 1, Up: 1}, {Down: 8, Up: 4, OFDM: true}, {Down: 1, Up: 1, No64BitCtr: true}}})
	tests := []struct {
		modem     int
		walkRoot  string
		wantRows  int
		wantTypes map[int]int
	}{
		{0, "1.3.6.1.2.1.2.2.1.3", 4, map[int]int{6: 1, 127: 1, 128: 1, 129: 1}},
		{1, "1.3.6.1.2.1.2.2.1.3", 2 + 8 + 4 + 2, map[int]int{6: 1, 127: 1, 128: 8, 129: 4, 277: 1, 278: 1}},
	}
	for _, tt := range tests {
		g := client(t, s.Addr(tt.modem), "public")
		for _, walk := range []func(string) ([]gosnmp.SnmpPDU, error){g.WalkAll, g.BulkWalkAll} {
			vbs, err := walk(tt.walkRoot)
			if err != nil {
				t.Fatal(err)
			}
			if len(vbs) != tt.wantRows {
				t.Errorf("modem %d: walk found %d interfaces, want %d", tt.modem, len(vbs), tt.wantRows)
			}
			types := map[int]int{}
			for _, v := range vbs {
				types[v.Value.(int)]++
			}
			for k, n := range tt.wantTypes {
				if types[k] != n {
					t.Errorf("modem %d: %d interfaces of type %d, want %d", tt.modem, types[k], k, n)
				}
			}
		}
	}
	g := client(t, s.Addr(0), "public")
	r, err := g.Get([]string{"1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.10.127.1.1.1.1.6.3", "1.3.6.1.2.1.31.1.1.1.6.2", "1.3.6.1.2.1.10.127.1.1.1.1.6.99"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Variables[0].Type != gosnmp.TimeTicks || r.Variables[1].Value != int(s.Profile(0).DsPower*10) ||
		r.Variables[2].Type != gosnmp.Counter64 || r.Variables[3].Type != gosnmp.NoSuchObject {
		t.Errorf("get: %+v", r.Variables)
	}
	g2 := client(t, s.Addr(2), "public")
	r, err = g2.Get([]string{"1.3.6.1.2.1.31.1.1.1.6.2", "1.3.6.1.2.1.2.2.1.10.2"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Variables[0].Type != gosnmp.NoSuchObject || r.Variables[1].Type != gosnmp.Counter32 {
		t.Errorf("legacy modem: %+v", r.Variables)
	}
}

func TestStatesAndSet(t *testing.T) {
	s := start(t, Config{Modems: 4, NoCMTS: true, SlowDelay: 100 * time.Millisecond})
	s.SetState(1, Slow)
	s.SetState(2, Dead)
	tests := []struct {
		modem     int
		community string
		wantErr   bool
		minTime   time.Duration
	}{
		{0, "public", false, 0},
		{1, "public", false, 100 * time.Millisecond},
		{2, "public", true, 0},
		{3, "wrong", true, 0},
	}
	for _, tt := range tests {
		g := client(t, s.Addr(tt.modem), tt.community)
		start := time.Now()
		_, err := g.Get([]string{"1.3.6.1.2.1.1.3.0"})
		if (err != nil) != tt.wantErr || time.Since(start) < tt.minTime {
			t.Errorf("modem %d: err %v after %s", tt.modem, err, time.Since(start))
		}
	}
	// SET docsDevResetNow.0 reboots the modem and is recorded.
	time.Sleep(1100 * time.Millisecond)
	g := client(t, s.Addr(0), "private")
	if _, err := g.Set([]gosnmp.SnmpPDU{{Name: "1.3.6.1.2.1.69.1.1.3.0", Type: gosnmp.Integer, Value: 1}}); err != nil {
		t.Fatal(err)
	}
	sets := s.Sets()
	if len(sets) != 1 || sets[0].Addr != s.Addr(0).Addr() || !strings.HasSuffix(sets[0].OID, "1.3.6.1.2.1.69.1.1.3.0") || sets[0].Value != 1 {
		t.Errorf("sets %+v", sets)
	}
	r, err := g.Get([]string{"1.3.6.1.2.1.1.3.0"})
	if err != nil {
		t.Fatal(err)
	}
	if up := r.Variables[0].Value.(uint32); up > 50 {
		t.Errorf("uptime %d hundredths after a reset", up)
	}
}

func TestCMTSTable(t *testing.T) {
	s := start(t, Config{Modems: 5, Shapes: []Shape{{Down: 1, Up: 1}, {Down: 4, Up: 2}}})
	s.SetState(4, Dead)
	g := client(t, s.CMTSAddr(), "public")
	vbs, err := g.BulkWalkAll("1.3.6.1.2.1.10.127.1.3.3.1.9") // docsIfCmtsCmStatusValue
	if err != nil {
		t.Fatal(err)
	}
	if len(vbs) != 5 || vbs[0].Value != 8 || vbs[4].Value != 1 {
		t.Errorf("status column %+v", vbs)
	}
	us, err := g.BulkWalkAll("1.3.6.1.4.1.4491.2.1.20.1.4.1.3") // docsIf3CmtsCmUsStatusRxPower
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 1+2+1+2+1 {
		t.Errorf("%d upstream rows, want 7", len(us))
	}
}
