package main

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"ip6m/store"
)

// TestDHCPv6CrashKeepsBindings: the v6 half of the power-cut test. Modems
// bind with Rapid Commit through a relay on ::1; ip6m is killed with
// SIGKILL mid-storm; every binding a Reply was sent for is in the database.
func TestDHCPv6CrashKeepsBindings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: 3000, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	modems, _, err := st.ListModems(ctx, store.ModemFilter{Enabled: new(true)}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	bin := filepath.Join(t.TempDir(), "ip6m")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	probe, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	srvAddr := probe.LocalAddr().(*net.UDPAddr)
	probe.Close()
	cmd := exec.Command(bin, "serve", "--data", dir, "--poll=false", "--http", "", "--time", "", "--dns", "", "--tftp", "", "--dhcp4", "",
		"--dhcp6", srvAddr.String(), "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	relay, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	var mu sync.Mutex
	waiting := map[dhcpv6.TransactionID]chan *dhcpv6.Message{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := relay.Read(buf)
			if err != nil {
				return
			}
			d, err := dhcpv6.FromBytes(buf[:n])
			if err != nil || !d.IsRelay() {
				continue
			}
			m, err := d.(*dhcpv6.RelayMessage).GetInnerMessage()
			if err != nil {
				continue
			}
			mu.Lock()
			ch := waiting[m.TransactionID]
			mu.Unlock()
			if ch != nil {
				select {
				case ch <- m:
				default:
				}
			}
		}
	}()
	solicit := func(mac [6]byte, link netip.Addr) *dhcpv6.Message {
		m, _ := dhcpv6.NewSolicit(net.HardwareAddr(mac[:]), dhcpv6.WithRapidCommit,
			dhcpv6.WithClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr(mac[:])}))
		r, _ := dhcpv6.EncapsulateRelay(m, dhcpv6.MessageTypeRelayForward, link.AsSlice(), net.ParseIP("fe80::1"))
		r.AddOption(&dhcpv6.OptRemoteID{EnterpriseNumber: 4491, RemoteID: mac[:]})
		ch := make(chan *dhcpv6.Message, 1)
		mu.Lock()
		waiting[m.TransactionID] = ch
		mu.Unlock()
		defer func() { mu.Lock(); delete(waiting, m.TransactionID); mu.Unlock() }()
		if _, err := relay.WriteToUDP(r.ToBytes(), srvAddr); err != nil {
			return nil
		}
		select {
		case rep := <-ch:
			return rep
		case <-time.After(500 * time.Millisecond):
			return nil
		}
	}
	// The demo's CMTS-1 CM prefix is 2001:db8:4:11::/64, CMTS-2's :5:11::,
	// CMTS-3's :6:11::; the relay's link-address says which.
	link := func(m store.ModemRow) netip.Addr {
		return netip.MustParseAddr([]string{"2001:db8:4:11::1", "2001:db8:5:11::1", "2001:db8:6:11::1"}[m.CMTSID-1])
	}
	first, _ := store.MACBytes(modems[0].MAC)
	up := false
	for i := 0; i < 100 && !up; i++ {
		if up = solicit(first, link(modems[0])) != nil; !up {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !up {
		t.Fatal("the server never answered")
	}
	type bound struct{ mac, addr string }
	var bmu sync.Mutex
	var replies []bound
	var next, killed atomic.Int64
	deadline := time.Now().Add(20 * time.Second)
	var wg sync.WaitGroup
	for w := 0; w < 48; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && killed.Load() == 0 {
				i := int(next.Add(1))
				if i >= len(modems) {
					return
				}
				mac, _ := store.MACBytes(modems[i].MAC)
				rep := solicit(mac, link(modems[i]))
				if rep == nil || rep.MessageType != dhcpv6.MessageTypeReply || rep.Options.OneIANA() == nil || rep.Options.OneIANA().Options.OneAddress() == nil {
					continue
				}
				a, _ := netip.AddrFromSlice(rep.Options.OneIANA().Options.OneAddress().IPv6Addr)
				bmu.Lock()
				replies = append(replies, bound{modems[i].MAC, a.String()})
				n := len(replies)
				bmu.Unlock()
				if n == 500 && killed.CompareAndSwap(0, 1) {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		}()
	}
	wg.Wait()
	cmd.Wait()
	if killed.Load() == 0 {
		t.Fatalf("only %d Replies before the deadline; the kill never happened", len(replies))
	}
	st, err = store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer st.Close()
	l6, err := st.Leases6(ctx, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, l := range l6 {
		have[l.Address] = l.MAC
	}
	lost := 0
	for _, b := range replies {
		if have[b.addr] != b.mac {
			lost++
		}
	}
	t.Logf("%d bindings replied before SIGKILL, %d in the database, %d lost", len(replies), len(have), lost)
	if lost > 0 {
		t.Fatalf("%d replied bindings lost", lost)
	}
}
