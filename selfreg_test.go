package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	mdns "github.com/miekg/dns"

	"ip6m/docsiscfg"
	"ip6m/store"
)

// relay4 sends req from a CMTS relay socket on gi (port relayPort, where
// ip6m sends the replies) and returns the reply of type want.
func relay4(t *testing.T, server *net.UDPAddr, gi net.IP, relayPort int, req *dhcpv4.DHCPv4, want dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: gi, Port: relayPort})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 50 { // the first packets may beat the server's start
		c.WriteToUDP(req.ToBytes(), server)
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		if err != nil {
			continue
		}
		if resp, err := dhcpv4.FromBytes(buf[:n]); err == nil && resp.TransactionID == req.TransactionID {
			if resp.MessageType() != want {
				t.Fatalf("%v for %s, want %v", resp.MessageType(), req.ClientHWAddr, want)
			}
			return resp
		}
	}
	t.Fatalf("no %v for %s via %s", want, req.ClientHWAddr, gi)
	return nil
}

// dora4 runs DISCOVER/REQUEST for hw through the relay gi with option 82
// naming remote, and returns the ACK.
func dora4(t *testing.T, server *net.UDPAddr, gi net.IP, relayPort int, hw, remote [6]byte, vendor string) *dhcpv4.DHCPv4 {
	t.Helper()
	mods := []dhcpv4.Modifier{dhcpv4.WithRelay(gi), dhcpv4.WithOption(dhcpv4.OptRelayAgentInfo(
		dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(1), []byte("cable1/0/0:1")), dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(2), remote[:])))}
	if vendor != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClassIdentifier(vendor)))
	}
	disc, _ := dhcpv4.NewDiscovery(net.HardwareAddr(hw[:]), mods...)
	offer := relay4(t, server, gi, relayPort, disc, dhcpv4.MessageTypeOffer)
	req, _ := dhcpv4.NewRequestFromOffer(offer, mods...)
	return relay4(t, server, gi, relayPort, req, dhcpv4.MessageTypeAck)
}

// TestSelfRegistrationEndToEnd: an unknown modem on a network that lets it
// register gets the registration config over TFTP; the computer behind it
// gets an address whose DNS (ip6m's relay) answers every name with the
// portal; the portal page, opened from that address under any name, takes
// the customer's account number and registration code and creates the
// modem; the modem's next DHCP exchange gets its real config.
func TestSelfRegistrationEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cmts := store.CMTS{Name: "CMTS-1", SharedSecret: "s3cret"}
	plan := store.Plan{Name: "Residential", Config: "Main\n{\n\tNetworkAccess 1;\n\tMaxCPE {{.MaxCPE}};\n}\n", MaxCPE: 2}
	cust := store.Customer{Account: "C100001", Name: "Kovács Anna"}
	for _, err := range []error{st.CreateCMTS(ctx, "t", &cmts), st.CreatePlan(ctx, "t", &plan), st.CreateCustomer(ctx, "t", &cust)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []store.Network{
		{CMTSID: cmts.ID, Prefix: "127.10.0.0/16", Purpose: store.PurposeCM, Gateway: "127.10.0.1", UnknownPolicy: store.PolicyWalled, SelfRegister: true,
			Ranges: []store.Range{{First: "127.10.1.1", Last: "127.10.1.100"}}},
		{CMTSID: cmts.ID, Prefix: "127.64.0.0/16", Purpose: store.PurposeCPE, Gateway: "127.64.0.1", DNSServers: "127.0.0.53",
			Ranges: []store.Range{{First: "127.64.1.1", Last: "127.64.1.100"}}},
	} {
		if err := st.CreateNetwork(ctx, "t", &n); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetSettings(ctx, "t", map[string]string{"server.ipv4": "127.0.0.1", "portal.plan": plan.Name}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	relay, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 10, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	relayPort := relay.LocalAddr().(*net.UDPAddr).Port
	relay.Close()
	dhcpAddr, tftpPort, dnsAddr := freeUDP(t), freeUDP(t).Port, freeUDP(t)
	portalAddr := freePort(t)
	cfg := &serveConfig{data: dir, relayPort: relayPort, dhcp4: dhcpAddr.String(), tftp: ":" + strconv.Itoa(tftpPort),
		dns: dnsAddr.String(), dnsUp: "127.0.0.1:9", portal: portalAddr}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- serve(sctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	modem := [6]byte{0x00, 0x25, 0x90, 0xab, 0xcd, 0xef}
	ack := dora4(t, dhcpAddr, net.IPv4(127, 10, 0, 1), relayPort, modem, modem, "docsis3.0")
	if ack.BootFileName != "cm/register.cfg" {
		t.Fatalf("unknown modem got file %q, want cm/register.cfg", ack.BootFileName)
	}
	b, err := tftpGet(&net.UDPAddr{IP: ack.YourIPAddr}, &net.UDPAddr{IP: ack.ServerIPAddr, Port: tftpPort}, ack.BootFileName)
	if err != nil {
		t.Fatalf("TFTP of the registration config: %v", err)
	}
	if check, err := docsiscfg.VerifyMICs(b, []byte(cmts.SharedSecret)); err != nil || !check.OK() {
		t.Fatalf("registration config MICs: %v %v", check, err)
	}
	text, _ := docsiscfg.Decode(b, docsiscfg.DecodeOptions{})
	if !strings.Contains(string(text), "docsDevFilterIpDaddr.2 IPAddress 127.0.0.1;") {
		t.Errorf("registration config does not confine the CPE to the server:\n%s", text)
	}

	// The customer's computer behind it.
	cpe := dora4(t, dhcpAddr, net.IPv4(127, 64, 0, 1), relayPort, [6]byte{2, 0, 0, 0, 0, 0x42}, modem, "")
	cpeIP := cpe.YourIPAddr
	if dns := cpe.DNS(); len(dns) != 1 || !dns[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("the CPE's DNS %v, want the server", dns)
	}
	var answer *mdns.Msg
	for range 50 { // the relay may still be starting
		c := &mdns.Client{Net: "udp", Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: cpeIP}}, Timeout: 200 * time.Millisecond}
		m := new(mdns.Msg)
		m.SetQuestion("www.example.com.", mdns.TypeA)
		if answer, _, err = c.Exchange(m, dnsAddr.String()); err == nil {
			break
		}
	}
	if err != nil || len(answer.Answer) != 1 || answer.Answer[0].(*mdns.A).A.String() != "127.0.0.1" {
		t.Fatalf("the CPE looked up www.example.com: %v %v, want the portal 127.0.0.1", answer, err)
	}

	// The browser opens "www.example.com", which is the portal.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: cpeIP}}).DialContext}}
	base := "http://" + portalAddr
	resp, err := hc.Get(base + "/some/news/page")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "00:25:90:ab:cd:ef") || !strings.Contains(string(page), "Registration code") {
		t.Fatalf("portal page:\n%s", page)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(page))
	post := func(code string) string {
		req, _ := http.NewRequest("POST", base+"/register", strings.NewReader(url.Values{"csrf": {csrf[1]}, "account": {"C100001"}, "code": {code}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := post("WRONGCODE"); !strings.Contains(got, "do not match") {
		t.Fatalf("a wrong code:\n%s", got)
	}
	if got := post(cust.RegCode); !strings.Contains(got, "Your modem is registered on your plan Residential") {
		t.Fatalf("registration:\n%s", got)
	}
	st, err = store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.ModemByMAC(ctx, "00:25:90:ab:cd:ef")
	st.Close()
	if err != nil || m.CustomerID != cust.ID || m.PlanID != plan.ID || m.CMTSID != cmts.ID {
		t.Fatalf("registered modem %+v, %v", m, err)
	}
	// Its next boot: the real config (the DHCP server reloads its
	// inventory within a second).
	deadline := time.Now().Add(5 * time.Second)
	for {
		ack = dora4(t, dhcpAddr, net.IPv4(127, 10, 0, 1), relayPort, modem, modem, "docsis3.0")
		if ack.BootFileName == "cm/002590abcdef.cfg" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after registration the modem still gets %q", ack.BootFileName)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
