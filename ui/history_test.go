package ui

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"ip6m/store"
)

// TestLeaseHistoryByCustomer: the lease-history search also takes a
// customer's account number.
func TestLeaseHistoryByCustomer(t *testing.T) {
	_, ts, st := newTestServer(t, 5)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	cust, _ := st.GetCustomer(ctx, m.CustomerID)
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CommitLeases(ctx, store.LeaseOp{Event: store.EventGrant, ModemMAC: m.MAC, CustomerID: m.CustomerID, V4: &store.Lease4{
		IP: "100.64.0.23", MAC: "44:32:c8:21:09:e9", Kind: store.KindCPE, State: store.StateActive, ModemID: m.ID, Starts: day, Ends: day.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	if code, body, _ := c.get("/leases?q=" + url.QueryEscape(cust.Account)); code != 200 || !strings.Contains(body, "100.64.0.23") {
		t.Fatalf("history of customer %s: %d, without the lease", cust.Account, code)
	}
	if code, body, _ := c.get("/leases?q=NO-SUCH-ACCOUNT"); code != 422 || !strings.Contains(body, "account number") {
		t.Fatalf("an unknown account: %d", code)
	}
}
