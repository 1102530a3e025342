package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"ip6m/docsiscfg"
	"ip6m/store"
	"ip6m/timesrv"
)

// tftpGet fetches name with a plain RFC 1350 read (512-byte blocks) from a
// socket bound to local, as a cable modem does right after its lease.
func tftpGet(local, server *net.UDPAddr, name string) ([]byte, error) {
	c, err := net.ListenUDP("udp", local)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	rrq := append([]byte{0, 1}, name...)
	rrq = append(rrq, 0)
	rrq = append(rrq, "octet"...)
	rrq = append(rrq, 0)
	if _, err := c.WriteToUDP(rrq, server); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	buf := make([]byte, 1024)
	want := uint16(1)
	for {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return nil, fmt.Errorf("read block %d: %w", want, err)
		}
		if n < 4 {
			return nil, errors.New("short packet")
		}
		switch binary.BigEndian.Uint16(buf) {
		case 5:
			return nil, fmt.Errorf("TFTP error %d: %s", binary.BigEndian.Uint16(buf[2:]), strings.TrimRight(string(buf[4:n]), "\x00"))
		case 3:
			block := binary.BigEndian.Uint16(buf[2:])
			if block == want {
				out.Write(buf[4:n])
				want++
			}
			ack := []byte{0, 4, buf[2], buf[3]}
			if _, err := c.WriteToUDP(ack, from); err != nil {
				return nil, err
			}
			if block == want-1 && n-4 < 512 {
				return out.Bytes(), nil
			}
		default:
			return nil, fmt.Errorf("unexpected TFTP opcode %d", binary.BigEndian.Uint16(buf))
		}
	}
}

// TestModemBoot is the whole DOCSIS 3.0 provisioning sequence against a
// running ip6m, over real sockets on loopback with high ports: DHCPv4 DORA
// through a CMTS relay, TFTP of the config named in the ACK from siaddr,
// RFC 868 time from the option 4 server; the same over IPv6 (Relay-Forward
// Solicit with the CableLabs options, TFTP from sub-option 32, time from
// sub-option 37); the config decoded with both MICs verified; another host
// refused the same file; then the MTA and a CPE behind the modem.
func TestModemBoot(t *testing.T) {
	if testing.Verbose() {
		bootLog = os.Stderr
	}
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: 20}); err != nil {
		t.Fatal(err)
	}
	modem, err := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	if err != nil {
		t.Fatal(err)
	}
	cmts, _ := st.GetCMTS(ctx, modem.CMTSID)
	plan, _ := st.GetPlan(ctx, modem.PlanID)
	// Loopback stand-ins for the CMTS's cable interface addresses, and
	// the server's own addresses, so every packet stays on this machine.
	for _, n := range []store.Network{
		{CMTSID: cmts.ID, Prefix: "127.10.0.0/16", Purpose: store.PurposeCM, Gateway: "127.10.0.1", TimeServers: "127.0.0.1", LogServers: "127.0.0.1",
			TimeOffset: 3600, Ranges: []store.Range{{First: "127.10.1.1", Last: "127.10.1.100"}}},
		{CMTSID: cmts.ID, Prefix: "127.11.0.0/16", Purpose: store.PurposeMTA, Gateway: "127.11.0.1", Ranges: []store.Range{{First: "127.11.1.1", Last: "127.11.1.100"}}},
		{CMTSID: cmts.ID, Prefix: "127.64.0.0/16", Purpose: store.PurposeCPE, Gateway: "127.64.0.1", Ranges: []store.Range{{First: "127.64.1.1", Last: "127.64.1.100"}}},
	} {
		if err := st.CreateNetwork(ctx, "test", &n); err != nil {
			t.Fatal(err)
		}
	}
	nets, _ := st.ListNetworks(ctx, cmts.ID)
	for _, n := range nets {
		if n.Family == 6 && n.Purpose == store.PurposeCM {
			n.TimeServers, n.LogServers = "::1", "::1"
			if err := st.UpdateNetwork(ctx, "test", &n); err != nil {
				t.Fatal(err)
			}
		}
	}
	modem.IPv6 = "::1"   // the modem's v6 address must be local for its TFTP fetch to come from it
	modem.FixedIPv4 = "" // and its v4 one comes from the loopback CM pool
	if err := st.UpdateModem(ctx, "test", &modem); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSettings(ctx, "test", map[string]string{"server.ipv4": "127.0.0.1", "server.ipv6": "::1"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	udp4 := func() *net.UDPAddr { return freeUDP(t) }
	relay4, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 10, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer relay4.Close()
	relayPort := relay4.LocalAddr().(*net.UDPAddr).Port
	dhcp4Addr, tftpPort, timePort := udp4(), udp4().Port, freePort(t)
	_, timePortS, _ := net.SplitHostPort(timePort)
	probe6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	dhcp6Addr := probe6.LocalAddr().(*net.UDPAddr)
	probe6.Close()
	metricsAddr := freePort(t)
	cfg := &serveConfig{data: dir, httpAddr: "", relayPort: relayPort, metrics: metricsAddr,
		dhcp4: dhcp4Addr.String(), dhcp6: dhcp6Addr.String(), tftp: fmt.Sprintf(":%d", tftpPort), time: ":" + timePortS}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- serve(sctx, cfg, slog.New(slog.NewTextHandler(bootLog, &slog.HandlerOptions{Level: slog.LevelDebug})), io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	// --- IPv4: DORA through the relay. ---
	mac, _ := store.MACBytes(modem.MAC)
	relayed4 := func(hw [6]byte, gi net.IP, vendor string, mt dhcpv4.MessageType, offer *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
		t.Helper()
		opt82 := dhcpv4.OptRelayAgentInfo(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(1), []byte("cable1/0/0:1")),
			dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(2), mac[:]))
		var req *dhcpv4.DHCPv4
		if offer == nil {
			req, _ = dhcpv4.NewDiscovery(net.HardwareAddr(hw[:]), dhcpv4.WithRelay(gi), dhcpv4.WithOption(opt82), dhcpv4.WithOption(dhcpv4.OptClassIdentifier(vendor)))
		} else {
			req, _ = dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithRelay(gi), dhcpv4.WithOption(opt82), dhcpv4.WithOption(dhcpv4.OptClassIdentifier(vendor)))
		}
		if gi.Equal(net.IPv4(127, 10, 0, 1)) {
			for i := 0; i < 50; i++ { // the first packets may beat the server's start
				relay4.WriteToUDP(req.ToBytes(), dhcp4Addr)
				relay4.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				buf := make([]byte, 1500)
				n, err := relay4.Read(buf)
				if err != nil {
					continue
				}
				resp, err := dhcpv4.FromBytes(buf[:n])
				if err == nil && resp.TransactionID == req.TransactionID && resp.MessageType() == mt {
					return resp
				}
			}
			t.Fatalf("no %v for %s", mt, macText6(hw))
		}
		// Other relay addresses (MTA, CPE links) get their own socket.
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: gi, Port: relayPort})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.WriteToUDP(req.ToBytes(), dhcp4Addr)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no reply for %s via %s: %v", macText6(hw), gi, err)
		}
		resp, err := dhcpv4.FromBytes(buf[:n])
		if err != nil || resp.MessageType() != mt {
			t.Fatalf("%s via %s: %v %v, want %v", macText6(hw), gi, resp, err, mt)
		}
		return resp
	}
	offer := relayed4(mac, net.IPv4(127, 10, 0, 1), "docsis3.0", dhcpv4.MessageTypeOffer, nil)
	ack := relayed4(mac, net.IPv4(127, 10, 0, 1), "docsis3.0", dhcpv4.MessageTypeAck, offer)
	cmIP := ack.YourIPAddr
	if !ack.ServerIPAddr.Equal(net.IPv4(127, 0, 0, 1)) || ack.BootFileName != "cm/4432c82109e7.cfg" {
		t.Fatalf("ACK siaddr %s file %q", ack.ServerIPAddr, ack.BootFileName)
	}
	// TFTP from siaddr, from the leased address.
	key := []byte(cmts.SharedSecret)
	cfgBytes, err := tftpGet(&net.UDPAddr{IP: cmIP}, &net.UDPAddr{IP: ack.ServerIPAddr, Port: tftpPort}, ack.BootFileName)
	if err != nil {
		t.Fatalf("TFTP %s from %s: %v", ack.BootFileName, cmIP, err)
	}
	checkConfig(t, cfgBytes, key, plan)
	// Another host asking for the same file is refused.
	if _, err := tftpGet(&net.UDPAddr{IP: net.IPv4(127, 10, 1, 250)}, &net.UDPAddr{IP: ack.ServerIPAddr, Port: tftpPort}, ack.BootFileName); err == nil {
		t.Fatal("another host got the modem's config")
	}
	// RFC 868 time from the option 4 server.
	ts := ack.Options.Get(dhcpv4.OptionTimeServer)
	if len(ts) != 4 {
		t.Fatalf("option 4 = %v", ts)
	}
	if v, err := timesrv.Query(ctx, "udp", net.JoinHostPort(net.IP(ts).String(), timePortS)); err != nil || time.Since(timesrv.Time(v, time.Now())).Abs() > time.Minute {
		t.Fatalf("time from %s: %v %v", net.IP(ts), v, err)
	}

	// --- The MTA and a CPE behind the modem. ---
	mtaMAC := mac
	mtaMAC[5]++
	mtaOffer := relayed4(mtaMAC, net.IPv4(127, 11, 0, 1), "pktc1.5", dhcpv4.MessageTypeOffer, nil)
	mtaAck := relayed4(mtaMAC, net.IPv4(127, 11, 0, 1), "pktc1.5", dhcpv4.MessageTypeAck, mtaOffer)
	if mtaAck.Options.Get(dhcpv4.GenericOptionCode(122)) == nil {
		t.Fatal("the MTA's ACK has no option 122")
	}
	mtaCfg, err := tftpGet(&net.UDPAddr{IP: mtaAck.YourIPAddr}, &net.UDPAddr{IP: mtaAck.ServerIPAddr, Port: tftpPort}, mtaAck.BootFileName)
	if err != nil || len(mtaCfg) < 3 || mtaCfg[0] != 254 {
		t.Fatalf("MTA config %s: % x… %v", mtaAck.BootFileName, head(mtaCfg), err)
	}
	cpe := [6]byte{0x02, 0xaa, 0, 0, 0, 1}
	cpeOffer := relayed4(cpe, net.IPv4(127, 64, 0, 1), "", dhcpv4.MessageTypeOffer, nil)
	cpeAck := relayed4(cpe, net.IPv4(127, 64, 0, 1), "", dhcpv4.MessageTypeAck, cpeOffer)
	if !netip.MustParsePrefix("127.64.0.0/16").Contains(netip.AddrFrom4([4]byte(cpeAck.YourIPAddr.To4()))) {
		t.Fatalf("CPE got %s", cpeAck.YourIPAddr)
	}

	// --- IPv6: Relay-Forward Solicit (rapid commit) with the CableLabs options. ---
	sol, _ := dhcpv6.NewSolicit(net.HardwareAddr(mac[:]), dhcpv6.WithRapidCommit,
		dhcpv6.WithClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr(mac[:])}))
	sol.AddOption(&dhcpv6.OptVendorClass{EnterpriseNumber: 4491, Data: [][]byte{[]byte("docsis3.0")}})
	sol.AddOption(&dhcpv6.OptVendorOpts{EnterpriseNumber: 4491, VendorOpts: dhcpv6.Options{
		&dhcpv6.OptionGeneric{OptionCode: 1, OptionData: []byte{0, 32, 0, 33, 0, 34, 0, 37, 0, 38}},
		&dhcpv6.OptionGeneric{OptionCode: 36, OptionData: mac[:]},
	}})
	fwd, _ := dhcpv6.EncapsulateRelay(sol, dhcpv6.MessageTypeRelayForward, net.ParseIP("2001:db8:4:11::1"), net.ParseIP("fe80::1"))
	fwd.AddOption(dhcpv6.OptInterfaceID([]byte("cable1/0/0")))
	fwd.AddOption(&dhcpv6.OptRemoteID{EnterpriseNumber: 4491, RemoteID: mac[:]})
	r6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer r6.Close()
	r6.WriteToUDP(fwd.ToBytes(), dhcp6Addr)
	r6.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 2048)
	n, err := r6.Read(buf)
	if err != nil {
		t.Fatalf("no Relay-Reply: %v", err)
	}
	d, err := dhcpv6.FromBytes(buf[:n])
	if err != nil || !d.IsRelay() {
		t.Fatalf("v6 reply %v %v", d, err)
	}
	reply, _ := d.(*dhcpv6.RelayMessage).GetInnerMessage()
	if reply.Options.OneIANA() == nil || reply.Options.OneIANA().Options.OneAddress() == nil {
		t.Fatalf("v6 Reply without an address: %v", reply)
	}
	var tftp6, time6 net.IP
	var file6 string
	for _, o := range reply.Options.VendorOpt(4491) {
		switch o.Code() {
		case 32:
			tftp6 = net.IP(o.ToBytes()[:16])
		case 33:
			file6 = string(o.ToBytes())
		case 37:
			time6 = net.IP(o.ToBytes()[:16])
		}
	}
	if tftp6 == nil || time6 == nil || file6 != ack.BootFileName {
		t.Fatalf("17/4491: TFTP %v, time %v, file %q", tftp6, time6, file6)
	}
	v6IP := reply.Options.OneIANA().Options.OneAddress().IPv6Addr
	cfg6, err := tftpGet(&net.UDPAddr{IP: v6IP}, &net.UDPAddr{IP: tftp6, Port: tftpPort}, file6)
	if err != nil {
		t.Fatalf("TFTP over v6 from %s: %v", v6IP, err)
	}
	checkConfig(t, cfg6, key, plan)
	if v, err := timesrv.Query(ctx, "udp", net.JoinHostPort(time6.String(), timePortS)); err != nil || time.Since(timesrv.Time(v, time.Now())).Abs() > time.Minute {
		t.Fatalf("time over v6 from %s: %v %v", time6, v, err)
	}

	// --- What a Prometheus scrape sees of all that. ---
	// A transfer is counted once its last ACK is in, which may be just
	// after the client has its data, and the events are made from the
	// lease commits on the event feed's own goroutine.
	var scraped map[string]float64
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		scraped = scrape(t, metricsAddr)
		if scraped["ip6m_tftp_transfers_total"] >= 3 && scraped[`ip6m_events_total{kind="lease"}`] >= 4 || time.Now().After(deadline) {
			break
		}
	}
	for name, min := range map[string]float64{
		"ip6m_tftp_transfers_total":                     3, // the CM's config over v4 and v6, the MTA's
		`ip6m_dhcp_leases_committed_total{family="v4"}`: 3, // CM, MTA, CPE
		`ip6m_dhcp_leases_committed_total{family="v6"}`: 1,
		`ip6m_dhcp_replied_total{family="v4"}`:          6,
		`ip6m_time_requests_total{proto="udp"}`:         2,
		`ip6m_tftp_configs_compiled_total`:              1,
		`ip6m_dhcp_received_total{family="v6"}`:         1,
		`ip6m_events_total{kind="lease"}`:               4, // the grants, on the events page
	} {
		if got := scraped[name]; got < min {
			t.Errorf("/metrics: %s = %v, want at least %v", name, got, min)
		}
	}
}

// scrape reads /metrics into name{labels} → value.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); i > 0 && err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// checkConfig decodes a config: both MICs must verify with the CMTS's
// secret, and the plan's settings must be in it.
func checkConfig(t *testing.T, b, key []byte, plan store.Plan) {
	t.Helper()
	check, err := docsiscfg.VerifyMICs(b, key)
	if err != nil || !check.OK() {
		t.Fatalf("MICs: %v %v", check, err)
	}
	text, err := docsiscfg.Decode(b, docsiscfg.DecodeOptions{})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	for _, want := range []string{"NetworkAccess 1;", fmt.Sprintf("MaxCPE %d;", plan.MaxCPE)} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("config lacks %q:\n%s", want, text)
		}
	}
}

var bootLog io.Writer = io.Discard

func macText6(m [6]byte) string { return store.FormatMAC(m) }

func head(b []byte) []byte {
	if len(b) > 8 {
		return b[:8]
	}
	return b
}
