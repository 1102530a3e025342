package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"ip6m/store"
)

// TestDHCPCrashKeepsLeases is the power-cut test: ip6m serves a storm of
// relayed DORA exchanges and is killed with SIGKILL in the middle; after
// the restart every lease that any client received an ACK for is in the
// database.
func TestDHCPCrashKeepsLeases(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: 3000, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	// A relay address on loopback inside CMTS-1, so replies reach the test.
	cmts, _ := st.ListCMTS(ctx)
	loop := store.Network{CMTSID: cmts[0].ID, Prefix: "127.10.0.0/16", Purpose: store.PurposeCM, Gateway: "127.10.0.1"}
	if err := st.CreateNetwork(ctx, "test", &loop); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(ctx, "test", "server.ipv4", "127.0.0.1"); err != nil {
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
	gi := net.IPv4(127, 10, 0, 1)
	relay, err := net.ListenUDP("udp4", &net.UDPAddr{IP: gi})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	srvAddr := freeUDP(t)
	cmd := exec.Command(bin, "serve", "--data", dir, "--poll=false", "--http", "", "--time", "", "--dns", "", "--tftp", "", "--dhcp6", "",
		"--dhcp4", srvAddr.String(), "--dhcp-relay-port", fmt.Sprint(relay.LocalAddr().(*net.UDPAddr).Port), "--log-level", "warn")
	cmd.Stderr = os.Stderr // stdout has the first-run password of a throwaway database
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// Replies by xid.
	var mu sync.Mutex
	waiting := map[dhcpv4.TransactionID]chan *dhcpv4.DHCPv4{}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := relay.Read(buf)
			if err != nil {
				return
			}
			m, err := dhcpv4.FromBytes(buf[:n])
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
	exchange := func(req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
		ch := make(chan *dhcpv4.DHCPv4, 1)
		mu.Lock()
		waiting[req.TransactionID] = ch
		mu.Unlock()
		defer func() { mu.Lock(); delete(waiting, req.TransactionID); mu.Unlock() }()
		if _, err := relay.WriteToUDP(req.ToBytes(), srvAddr); err != nil {
			return nil
		}
		select {
		case m := <-ch:
			return m
		case <-time.After(500 * time.Millisecond):
			return nil
		}
	}

	// Wait until the server answers a known modem.
	first, _ := store.MACBytes(modems[0].MAC)
	up := false
	for i := 0; i < 100 && !up; i++ {
		d, _ := dhcpv4.NewDiscovery(net.HardwareAddr(first[:]), dhcpv4.WithRelay(gi))
		if up = exchange(d) != nil; !up {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !up {
		t.Fatal("the server never answered")
	}

	type acked struct{ mac, ip string }
	var ackedMu sync.Mutex
	var acks []acked
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
				d, _ := dhcpv4.NewDiscovery(net.HardwareAddr(mac[:]), dhcpv4.WithRelay(gi))
				offer := exchange(d)
				if offer == nil || offer.MessageType() != dhcpv4.MessageTypeOffer {
					continue
				}
				req, _ := dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithRelay(gi))
				ack := exchange(req)
				if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
					continue
				}
				ackedMu.Lock()
				acks = append(acks, acked{modems[i].MAC, ack.YourIPAddr.String()})
				n := len(acks)
				ackedMu.Unlock()
				if n == 600 && killed.CompareAndSwap(0, 1) {
					cmd.Process.Signal(syscall.SIGKILL) // mid-storm: others are in flight
				}
			}
		}()
	}
	wg.Wait()
	cmd.Wait()
	if killed.Load() == 0 {
		t.Fatalf("only %d ACKs before the deadline; the kill never happened", len(acks))
	}

	st, err = store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer st.Close()
	leases, err := st.Leases4(ctx, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, l := range leases {
		if l.State == store.StateActive {
			have[l.IP] = l.MAC
		}
	}
	lost := 0
	for _, a := range acks {
		if have[a.ip] != a.mac {
			lost++
			if lost < 5 {
				t.Errorf("ACKed lease %s → %s is not in the database after the crash", a.ip, a.mac)
			}
		}
	}
	t.Logf("%d leases ACKed before SIGKILL, %d in the database, %d lost", len(acks), len(have), lost)
	if lost > 0 {
		t.Fatalf("%d ACKed leases lost", lost)
	}
}

func freeUDP(t *testing.T) *net.UDPAddr {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr)
}
