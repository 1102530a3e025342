package tftp

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ip6m/docsiscfg"
	"ip6m/store"
)

// The demo network's first modems (the seed's), all on CMTS-1.
const (
	mac1 = "44:32:c8:21:09:e7" // has an MTA, 44:32:c8:21:09:e8
	mac2 = "44:32:c8:41:8c:67"
	mac3 = "00:1e:6b:e6:b4:a5"
	mac4 = "0c:ee:e6:e5:35:2c"
)

func cmName(mac string) string { return "cm/" + strings.ReplaceAll(mac, ":", "") + ".cfg" }

// modemInfo returns a modem with its plan and its CMTS's secret.
func modemInfo(t testing.TB, st *store.Store, mac string) (store.Modem, store.Plan, []byte) {
	t.Helper()
	ctx := context.Background()
	m, err := st.ModemByMAC(ctx, mac)
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.GetPlan(ctx, m.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.GetCMTS(ctx, m.CMTSID)
	if err != nil {
		t.Fatal(err)
	}
	return m, p, []byte(c.SharedSecret)
}

// checkCM decodes a CM config, checks both MICs with key and returns the text.
func checkCM(t testing.TB, data, key []byte) string {
	t.Helper()
	c, err := docsiscfg.VerifyMICs(data, key)
	if err != nil || !c.OK() {
		t.Fatalf("MICs: %v\n%s", err, c)
	}
	text, err := docsiscfg.Decode(data, docsiscfg.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

// v6Leases adds the IPv6 lease lookup the store does not have yet.
type v6Leases struct {
	*store.Store
	leases map[string]store.Lease6
}

func (v v6Leases) Lease6ByAddress(_ context.Context, addr string) (store.Lease6, error) {
	l, ok := v.leases[addr]
	if !ok {
		return store.Lease6{}, fmt.Errorf("lease %s: %w", addr, store.ErrNotFound)
	}
	return l, nil
}

func TestCMConfig(t *testing.T) {
	st := openStore(t, 10)
	ctx := context.Background()
	m1, plan1, key1 := modemInfo(t, st, mac1)
	grant(t, st, "127.0.0.1", mac1, time.Time{})
	grant(t, st, "127.0.0.2", mac2, time.Time{})
	grant(t, st, "127.0.0.3", mac3, time.Now().Add(-time.Minute)) // expired
	grant(t, st, "127.0.0.4", mac4, time.Time{})
	grant(t, st, "127.0.0.8", "00:11:22:33:44:55", time.Time{}) // not in the inventory
	m4, _ := st.ModemByMAC(ctx, mac4)
	m4.Enabled = false
	if err := st.UpdateModem(ctx, "test", &m4); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Config{Source: st})

	t.Run("lease holder", func(t *testing.T) {
		data, err := fetch(t, s.Addr(), cmName(mac1), 0, true)
		if err != nil {
			t.Fatal(err)
		}
		text := checkCM(t, data, key1)
		for _, want := range []string{"NetworkAccess 1;", fmt.Sprintf("MaxCPE %d;", plan1.MaxCPE), "TftpTimestamp ", "TftpModemAddress 127.0.0.1;"} {
			if !strings.Contains(text, want) {
				t.Errorf("config lacks %q:\n%s", want, text)
			}
		}
		// The timestamp is now, to the bucket (a minute).
		i := strings.Index(text, "TftpTimestamp ")
		var ts int64
		fmt.Sscanf(text[i:], "TftpTimestamp %d;", &ts)
		if d := time.Since(time.Unix(ts, 0)); d < 0 || d > DefaultStampBucket+time.Second {
			t.Errorf("TLV 19 is %v old", d)
		}
		_ = m1
	})
	t.Run("upper-case name", func(t *testing.T) {
		data, err := fetch(t, s.Addr(), strings.ToUpper(cmName(mac1)[3:15])+".cfg", 0, false)
		if !tftpError(err, "file not found") {
			t.Fatalf("name without the cm/ prefix: %d bytes, %v", len(data), err)
		}
		data, err = fetch(t, s.Addr(), "cm/"+strings.ToUpper(cmName(mac1)[3:15])+".cfg", 0, false)
		if err != nil {
			t.Fatal(err)
		}
		checkCM(t, data, key1)
	})
	refusals := []struct {
		name, src, file, reason, msg string
	}{
		{"address without a lease", "127.0.0.9", cmName(mac1), ReasonNoLease, "access violation"},
		{"another modem's address", "127.0.0.2", cmName(mac1), ReasonNotLeaseHolder, "access violation"},
		{"expired lease", "127.0.0.3", cmName(mac3), ReasonNoLease, "access violation"},
		{"disabled modem", "127.0.0.4", cmName(mac4), ReasonDisabled, "access violation"},
		{"unknown modem, asked by its lease holder", "127.0.0.8", "cm/001122334455.cfg", ReasonUnknownDevice, "file not found"},
		{"unknown modem, asked by another", "127.0.0.1", "cm/001122334455.cfg", ReasonNotLeaseHolder, "access violation"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Stats().RefusedBy[tt.reason]
			res := rawGet(t, s.Addr(), tt.src, tt.file)
			if res.errCode == 0 || res.errMsg != tt.msg {
				t.Fatalf("got %d bytes, ERROR %d %q; want ERROR %q", len(res.data), res.errCode, res.errMsg, tt.msg)
			}
			if got := s.Stats().RefusedBy[tt.reason]; got != before+1 {
				t.Errorf("refusals %q = %d, want %d", tt.reason, got, before+1)
			}
			r := s.Refusals()
			last := r[len(r)-1]
			if last.From.Addr().String() != tt.src || last.Name != tt.file || last.Reason != tt.reason || last.Detail == "" {
				t.Errorf("last refusal %+v", last)
			}
		})
	}
	t.Run("another address is served once it holds the lease", func(t *testing.T) {
		grant(t, st, "127.0.0.9", mac1, time.Time{})
		res := rawGet(t, s.Addr(), "127.0.0.9", cmName(mac1))
		if res.errCode != 0 {
			t.Fatalf("ERROR %s", res.errMsg)
		}
		if text := checkCM(t, res.data, key1); !strings.Contains(text, "TftpModemAddress 127.0.0.9;") {
			t.Errorf("TLV 20 is not the requester:\n%s", text)
		}
	})
	t.Run("last fetch", func(t *testing.T) {
		// The last completed download of mac1 is the one just above; the
		// refused requests left none for the modems they named.
		// The server records a transfer once the last ACK is in, which may
		// be just after the client has its data.
		var f Fetch
		var ok bool
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if f, ok = s.LastFetch(strings.ToUpper(strings.ReplaceAll(mac1, ":", ""))); ok && f.From.Addr().String() == "127.0.0.9" {
				break
			}
		}
		if !ok || f.From.Addr().String() != "127.0.0.9" || f.Name != cmName(mac1) || f.Kind != "cm" || f.Bytes == 0 ||
			time.Since(f.Time) > time.Minute {
			t.Errorf("LastFetch(%s) = %+v, %v", mac1, f, ok)
		}
		for _, mac := range []string{mac3, mac4, "00:11:22:33:44:55", "not a mac"} {
			if f, ok := s.LastFetch(mac); ok {
				t.Errorf("LastFetch(%s) = %+v for a device never served", mac, f)
			}
		}
	})
}

func TestCMConfigIPv6(t *testing.T) {
	st := openStore(t, 10)
	_, _, key1 := modemInfo(t, st, mac1)
	t.Run("refused without a v6 binding in the store", func(t *testing.T) {
		s := startServer(t, Config{Addr: "[::1]:0", Source: st})
		_, err := fetch(t, s.Addr(), cmName(mac1), 0, false)
		if !tftpError(err, "access violation") {
			t.Fatalf("err = %v", err)
		}
		if s.Stats().RefusedBy[ReasonNoLease] != 1 {
			t.Errorf("stats %+v", s.Stats())
		}
	})
	t.Run("refused by a source that cannot look up v6 bindings", func(t *testing.T) {
		s := startServer(t, Config{Addr: "[::1]:0", Source: v4Only{st}})
		_, err := fetch(t, s.Addr(), cmName(mac1), 0, false)
		if !tftpError(err, "access violation") || s.Stats().RefusedBy[ReasonV6Unverified] != 1 {
			t.Fatalf("err = %v, stats %+v", err, s.Stats())
		}
	})
	t.Run("anti-theft off", func(t *testing.T) {
		s := startServer(t, Config{Addr: "[::1]:0", Source: st, DisableAntiTheft: true})
		data, err := fetch(t, s.Addr(), cmName(mac1), 0, false)
		if err != nil {
			t.Fatal(err)
		}
		if text := checkCM(t, data, key1); !strings.Contains(text, "TFTPProvisionedModemIPv6Address ::1;") {
			t.Errorf("no TLV 59 with the requester's address:\n%s", text)
		}
	})
	src := v6Leases{Store: st, leases: map[string]store.Lease6{
		"::1": {Type: "na", Address: "::1", MAC: mac1, State: store.StateActive, Ends: time.Now().Add(time.Hour)},
	}}
	t.Run("with a v6 lease lookup: holder", func(t *testing.T) {
		s := startServer(t, Config{Addr: "[::1]:0", Source: src})
		data, err := fetch(t, s.Addr(), cmName(mac1), 0, false)
		if err != nil {
			t.Fatal(err)
		}
		checkCM(t, data, key1)
	})
	t.Run("with a v6 lease lookup: not the holder", func(t *testing.T) {
		s := startServer(t, Config{Addr: "[::1]:0", Source: src})
		_, err := fetch(t, s.Addr(), cmName(mac2), 0, false)
		if !tftpError(err, "access violation") || s.Stats().RefusedBy[ReasonNotLeaseHolder] != 1 {
			t.Fatalf("err = %v, stats %+v", err, s.Stats())
		}
	})
}

// TestConfigMatchesCompiler checks that without TLV 19/20 the served bytes
// are exactly docsiscfg.Compile's for the modem's plan, variables and key.
func TestConfigMatchesCompiler(t *testing.T) {
	st := openStore(t, 10)
	ctx := context.Background()
	m, plan, key := modemInfo(t, st, mac1)
	// Two registered CPEs, so CPEMACs has something to carry.
	for i, mac := range []string{"02:00:00:00:00:01", "02:00:00:00:00:02"} {
		if err := st.CreateCPE(ctx, "test", &store.CPE{MAC: mac, ModemID: m.ID, FixedIPv4: fmt.Sprintf("100.64.0.%d", 50+i)}); err != nil {
			t.Fatal(err)
		}
	}
	plan.Config = strings.Replace(plan.Config, "MaxCPE {{.MaxCPE}};", "MaxCPE {{.MaxCPE}};\n{{range .CPEMACs}}\tCpeMacAddress {{.}};\n{{end}}", 1)
	if err := st.UpdatePlan(ctx, "test", &plan); err != nil {
		t.Fatal(err)
	}
	grant(t, st, "127.0.0.1", mac1, time.Time{})
	s := startServer(t, Config{Source: st, NoStamp: true})
	got, err := fetch(t, s.Addr(), cmName(mac1), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	cust, err := st.GetCustomer(ctx, m.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	cpes, _, _ := st.ListCPEs(ctx, m.ID, store.Page{})
	vars := docsiscfg.Vars{MAC: m.MAC, Customer: cust.Name, MaxCPE: int(plan.MaxCPE)}
	for _, c := range cpes {
		vars.CPEMACs = append(vars.CPEMACs, c.MAC)
		vars.FixedIPs = append(vars.FixedIPs, c.FixedIPv4)
	}
	want, err := docsiscfg.Compile(plan.Name, plan.Config, vars, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("served config differs from docsiscfg.Compile")
	}
	text := checkCM(t, got, key)
	if !strings.Contains(text, "CpeMacAddress 02:00:00:00:00:02;") || strings.Contains(text, "TftpTimestamp") {
		t.Errorf("config:\n%s", text)
	}
}

func TestMTAConfig(t *testing.T) {
	st := openStore(t, 10)
	ctx := context.Background()
	const mta = "44:32:c8:21:09:e8"
	m, plan, _ := modemInfo(t, st, mac1)
	grant(t, st, "127.0.0.1", mta, time.Time{})
	grant(t, st, "127.0.0.2", mac1, time.Time{}) // the modem itself is not the MTA
	s := startServer(t, Config{Source: st})
	got, err := fetch(t, s.Addr(), "mta/4432c82109e8.bin", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := docsiscfg.ParseTemplate("mta", plan.MTAConfig)
	if err != nil {
		t.Fatal(err)
	}
	cust, _ := st.GetCustomer(ctx, m.CustomerID)
	dev, _ := st.MTAByMAC(ctx, mta)
	want, err := tmpl.Encode(docsiscfg.Vars{MAC: mta, Customer: cust.Name, MaxCPE: int(plan.MaxCPE),
		Plan: map[string]string{"ModemMAC": mac1, "PhoneLines": dev.PhoneLines}},
		docsiscfg.Options{Mode: docsiscfg.ModeMTA, Hash: docsiscfg.HashNA})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("MTA config differs from docsiscfg's PacketCable encoding with the NA hash")
	}
	text, err := docsiscfg.Decode(got, docsiscfg.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "pktcMtaDevProvConfigHash.0") || strings.Contains(string(text), "CmMic") || strings.Contains(string(text), "TftpTimestamp") {
		t.Errorf("MTA config:\n%s", text)
	}
	res := rawGet(t, s.Addr(), "127.0.0.2", "mta/4432c82109e8.bin")
	if res.errMsg != "access violation" {
		t.Errorf("the modem's address fetched its MTA's config: %+v", res)
	}
	// An MTA whose plan has no MTA config: not found.
	plan.MTAConfig = ""
	if err := st.UpdatePlan(ctx, "test", &plan); err != nil {
		t.Fatal(err)
	}
	if _, err := fetch(t, s.Addr(), "mta/4432c82109e8.bin", 0, false); !tftpError(err, "file not found") {
		t.Errorf("plan without MTA config: %v", err)
	}
}

func TestWalledGarden(t *testing.T) {
	st := openStore(t, 10)
	ctx := context.Background()
	_, _, key1 := modemInfo(t, st, mac1)
	m4, _ := st.ModemByMAC(ctx, mac4)
	m4.Enabled = false
	if err := st.UpdateModem(ctx, "test", &m4); err != nil {
		t.Fatal(err)
	}
	grant(t, st, "127.0.0.4", mac4, time.Time{})
	// An unknown modem relayed by CMTS-2 (its CM network is 10.20.0.0/16).
	err := st.CommitLeases(ctx, store.LeaseOp{Event: store.EventGrant, V4: &store.Lease4{
		IP: "127.0.0.5", MAC: "02:99:00:00:00:01", Kind: store.KindUnknown, State: store.StateActive, GiAddr: "10.20.0.1",
		Starts: time.Now(), Ends: time.Now().Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	cmts, _ := st.ListCMTS(ctx)
	key2 := []byte(cmts[1].SharedSecret)
	if cmts[1].Name != "CMTS-2" {
		t.Fatalf("CMTS list %v", cmts)
	}
	s := startServer(t, Config{Source: st})
	tests := []struct {
		name, src string
		key       []byte
	}{
		{"disabled modem: its CMTS's key", "127.0.0.4", key1},
		{"unknown modem: the key of the CMTS its relay address is in", "127.0.0.5", key2},
		{"no lease and three CMTSes: empty key", "127.0.0.6", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rawGet(t, s.Addr(), tt.src, DefaultWalledFile)
			if res.errCode != 0 {
				t.Fatalf("ERROR %s", res.errMsg)
			}
			text := checkCM(t, res.data, tt.key)
			if !strings.Contains(text, "NetworkAccess 0;") || !strings.Contains(text, "TftpModemAddress "+tt.src+";") {
				t.Errorf("walled config:\n%s", text)
			}
		})
	}
	// The walled config's text can be replaced through a setting.
	if err := st.SetSetting(ctx, "test", SettingWalledConfig, "Main { NetworkAccess 0; MaxCPE 2; }"); err != nil {
		t.Fatal(err)
	}
	res := rawGet(t, s.Addr(), "127.0.0.4", DefaultWalledFile)
	if text := checkCM(t, res.data, key1); !strings.Contains(text, "MaxCPE 2;") {
		t.Errorf("setting %s not used:\n%s", SettingWalledConfig, text)
	}
	// A walled text that does not parse fails the walled name only.
	if err := st.SetSetting(ctx, "test", SettingWalledConfig, "Main { {{ }"); err != nil {
		t.Fatal(err)
	}
	if res := rawGet(t, s.Addr(), "127.0.0.4", DefaultWalledFile); res.errMsg != "cannot build this file now" {
		t.Errorf("broken walled text: %+v", res)
	}
	grant(t, st, "127.0.0.1", mac1, time.Time{})
	if res := rawGet(t, s.Addr(), "127.0.0.1", cmName(mac1)); res.errCode != 0 {
		t.Errorf("a broken walled text stopped modem configs: %s", res.errMsg)
	}
}

// TestNamePatterns checks that the names come from the DHCP settings, and
// that a name without {mac} (the seed's cm/cm-2.cfg style) is answered with
// the config of the modem holding the requester's lease.
func TestNamePatterns(t *testing.T) {
	st := openStore(t, 10)
	ctx := context.Background()
	_, _, key1 := modemInfo(t, st, mac1)
	grant(t, st, "127.0.0.1", mac1, time.Time{})
	s := startServer(t, Config{Source: st})
	if err := st.SetSetting(ctx, "test", SettingCMFile, "docsis/{mac}-v3.bin"); err != nil {
		t.Fatal(err)
	}
	data, err := fetch(t, s.Addr(), "docsis/4432c82109e7-v3.bin", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	checkCM(t, data, key1)
	if _, err := fetch(t, s.Addr(), cmName(mac1), 0, false); !tftpError(err, "file not found") {
		t.Errorf("old name still served: %v", err)
	}
	if err := st.SetSetting(ctx, "test", SettingCMFile, "cm/cm-2.cfg"); err != nil {
		t.Fatal(err)
	}
	data, err = fetch(t, s.Addr(), "cm/cm-2.cfg", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	checkCM(t, data, key1)
	if res := rawGet(t, s.Addr(), "127.0.0.7", "cm/cm-2.cfg"); res.errMsg != "access violation" {
		t.Errorf("fixed name without a lease: %+v", res)
	}
}

// TestCacheInvalidation checks that repeated requests are served from the
// cache and that a plan edit, a plan's CPE limit and a CMTS secret change
// take effect at the next request.
func TestCacheInvalidation(t *testing.T) {
	st := openStore(t, 10)
	ctx := context.Background()
	m, plan, key := modemInfo(t, st, mac1)
	grant(t, st, "127.0.0.1", mac1, time.Time{})
	var clock atomic.Int64 // the test moves it while handlers read it
	clock.Store(time.Now().UnixNano())
	s := startServer(t, Config{Source: st, Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	get := func() string {
		t.Helper()
		data, err := fetch(t, s.Addr(), cmName(mac1), 0, false)
		if err != nil {
			t.Fatal(err)
		}
		return checkCM(t, data, key)
	}
	first := get()
	if second := get(); second != first {
		t.Fatal("same request, different config")
	}
	if st := s.Stats(); st.Compiles != 1 || st.CacheHits != 1 {
		t.Fatalf("after two requests: %d compiles, %d hits; want 1 and 1", st.Compiles, st.CacheHits)
	}
	steps := []struct {
		name   string
		change func()
		want   string
	}{
		{"plan text", func() {
			plan.Config = strings.Replace(plan.Config, "MaxCPE {{.MaxCPE}};", "MaxCPE 7;", 1)
			if err := st.UpdatePlan(ctx, "test", &plan); err != nil {
				t.Fatal(err)
			}
		}, "MaxCPE 7;"},
		{"plan variables", func() {
			plan.Config = strings.Replace(plan.Config, "MaxCPE 7;", "MaxCPE {{.MaxCPE}};", 1)
			plan.MaxCPE = 9
			if err := st.UpdatePlan(ctx, "test", &plan); err != nil {
				t.Fatal(err)
			}
		}, "MaxCPE 9;"},
		{"CMTS secret", func() {
			c, _ := st.GetCMTS(ctx, m.CMTSID)
			c.SharedSecret = "new-secret"
			if err := st.UpdateCMTS(ctx, "test", &c); err != nil {
				t.Fatal(err)
			}
			key = []byte("new-secret")
		}, "MaxCPE 9;"},
	}
	compiles := uint64(1)
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.change()
			if text := get(); !strings.Contains(text, step.want) {
				t.Fatalf("after the change the config lacks %q:\n%s", step.want, text)
			}
			compiles++
			if got := s.Stats().Compiles; got != compiles {
				t.Errorf("compiles %d, want %d", got, compiles)
			}
			get()
			if got := s.Stats().Compiles; got != compiles {
				t.Errorf("a repeated request compiled again (%d)", got)
			}
		})
	}
	// A new time bucket is a new TLV 19, so a new compile.
	clock.Add(int64(DefaultStampBucket))
	get()
	if got := s.Stats().Compiles; got != compiles+1 {
		t.Errorf("new bucket: compiles %d, want %d", got, compiles+1)
	}
}

// TestStormCompilesOnce sends many concurrent requests for one config: one
// compile, the rest wait for it or hit the cache.
func TestStormCompilesOnce(t *testing.T) {
	st := openStore(t, 10)
	grant(t, st, "127.0.0.1", mac1, time.Time{})
	b := newBuilder(st, builderOptions{now: time.Now, antiTheft: true, stamp: true, bucket: time.Hour, cacheBytes: 1 << 20})
	from := netip.MustParseAddr("127.0.0.1")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.build(context.Background(), cmName(mac1), from); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if b.compiles.Load() != 1 || b.hits.Load() != 63 {
		t.Errorf("compiles %d, hits %d; want 1 and 63", b.compiles.Load(), b.hits.Load())
	}
}

func TestByteCacheBounded(t *testing.T) {
	c := newByteCache(10_000)
	for i := range 1000 {
		c.put(fmt.Sprint("key", i), make([]byte, 100))
	}
	if n := c.len(); n == 0 || n > 10_000/164 {
		t.Errorf("%d entries in a 10,000-byte cache of 164-byte entries", n)
	}
	if _, ok := c.get("key999"); !ok {
		t.Error("newest entry evicted")
	}
	if _, ok := c.get("key0"); ok {
		t.Error("oldest entry kept")
	}
	c.put("huge", make([]byte, 20_000))
	if _, ok := c.get("huge"); ok {
		t.Error("an entry bigger than the cache was kept")
	}
}

// TestBrokenPlan checks that a plan that does not compile is an error the
// operator sees (counted, in Refusals with the reason), not a crash.
func TestBrokenPlan(t *testing.T) {
	st := openStore(t, 10)
	ctx := context.Background()
	_, plan, _ := modemInfo(t, st, mac1)
	plan.Config = "Main { NoSuchSetting 1; }"
	if err := st.UpdatePlan(ctx, "test", &plan); err != nil {
		t.Fatal(err)
	}
	grant(t, st, "127.0.0.1", mac1, time.Time{})
	s := startServer(t, Config{Source: st})
	_, err := fetch(t, s.Addr(), cmName(mac1), 0, false)
	if !tftpError(err, "cannot build") {
		t.Fatalf("err = %v", err)
	}
	st2 := s.Stats()
	if st2.Errors != 1 || st2.RefusedBy[ReasonBuildFailed] != 1 {
		t.Errorf("stats %+v", st2)
	}
	r := s.Refusals()
	if last := r[len(r)-1]; !strings.Contains(last.Detail, "NoSuchSetting") {
		t.Errorf("refusal detail %q does not say what is wrong", last.Detail)
	}
}

// v4Only hides the store's v6 binding lookup: a ConfigSource that cannot
// tell who holds an IPv6 address.
type v4Only struct{ ConfigSource }

// TestPreview: the operator's preview is the plan compiled for the modem
// with its CMTS's key, through the same builder, without stamps.
func TestPreview(t *testing.T) {
	st := openStore(t, 10)
	_, _, key := modemInfo(t, st, mac1)
	s := startServer(t, Config{Addr: "127.0.0.1:0", Source: st})
	b, err := s.Preview(context.Background(), mac1)
	if err != nil {
		t.Fatal(err)
	}
	text := checkCM(t, b, key)
	if strings.Contains(text, "TftpTimestamp") || strings.Contains(text, "TftpModemAddress") {
		t.Errorf("the preview carries per-request stamps:\n%s", text)
	}
	if _, err := s.Preview(context.Background(), "00:00:00:00:00:01"); err == nil {
		t.Error("a preview for an unknown modem succeeded")
	}
}

// TestPreviewPlan: a plan's text compiled for a chosen modem, with that
// modem's variables and key, before the plan is saved.
func TestPreviewPlan(t *testing.T) {
	st := openStore(t, 10)
	_, _, key := modemInfo(t, st, mac1)
	s := startServer(t, Config{Addr: "127.0.0.1:0", Source: st})
	ctx := context.Background()
	plan := store.Plan{Name: "draft", Config: "Main\n{\n\tNetworkAccess 1;\n\tMaxCPE {{.MaxCPE}};\n\tGlobalPrivacyEnable 0;\n}\n", MaxCPE: 7}
	b, err := s.PreviewPlan(ctx, mac1, plan)
	if err != nil {
		t.Fatal(err)
	}
	text := checkCM(t, b, key)
	if !strings.Contains(text, "MaxCPE 7;") || !strings.Contains(text, "GlobalPrivacyEnable 0;") {
		t.Errorf("the preview is not the draft plan for the modem:\n%s", text)
	}
	plan.Config = "Main\n{\n\tNetworkAccess 1;\n\tNoSuchThing 3;\n}\n"
	if _, err := s.PreviewPlan(ctx, mac1, plan); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("a draft with an error on line 4: %v", err)
	}
	if _, err := s.PreviewPlan(ctx, "00:00:00:00:00:01", plan); err == nil {
		t.Error("a preview for an unknown modem succeeded")
	}
}

// TestRegistrationConfig: an unknown modem that may register gets one CPE
// whose traffic its filters confine to DHCP and the server; without the
// server's address the config cannot be built, and says why.
func TestRegistrationConfig(t *testing.T) {
	st := openStore(t, 10)
	ctx := context.Background()
	err := st.CommitLeases(ctx, store.LeaseOp{Event: store.EventGrant, V4: &store.Lease4{
		IP: "127.0.0.5", MAC: "02:99:00:00:00:01", Kind: store.KindUnknown, State: store.StateActive, GiAddr: "10.20.0.1",
		Starts: time.Now(), Ends: time.Now().Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	cmts, _ := st.ListCMTS(ctx)
	key2 := []byte(cmts[1].SharedSecret)
	if err := st.SetSetting(ctx, "test", SettingServerIPv4, ""); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Config{Source: st})
	if res := rawGet(t, s.Addr(), "127.0.0.5", DefaultRegisterFile); res.errMsg != "cannot build this file now" {
		t.Errorf("registration config without server.ipv4: %+v", res)
	}
	if err := st.SetSetting(ctx, "test", SettingServerIPv4, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	res := rawGet(t, s.Addr(), "127.0.0.5", DefaultRegisterFile)
	if res.errCode != 0 {
		t.Fatalf("ERROR %s", res.errMsg)
	}
	text := checkCM(t, res.data, key2)
	for _, want := range []string{"NetworkAccess 1;", "MaxCPE 1;", "docsDevFilterIpDefault.0 Integer 1;",
		"docsDevFilterIpDaddr.2 IPAddress 10.0.0.1;", "docsDevFilterIpSaddr.4 IPAddress 10.0.0.1;", "docsDevFilterIpDestPortLow.1 Integer 67;"} {
		if !strings.Contains(text, want) {
			t.Errorf("registration config lacks %q:\n%s", want, text)
		}
	}
}
