package store

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkApplyLeaseOps6 measures the applier alone, per binding, as it
// takes a reboot storm's DHCPv6 bindings of cable modems from the journal,
// 200 to a transaction: new bindings with their history rows (a network's
// first boot), and the renewal of bindings still valid (a power cut at the
// headend: every modem boots again and gets its binding back).
func BenchmarkApplyLeaseOps6(b *testing.B) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	const perTxn = 200
	mk := func(i int, event string) LeaseOp {
		mac := fmt.Sprintf("00:00:ca:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255)
		ends := now.Add(time.Hour)
		if event == EventRenew {
			ends = ends.Add(time.Minute)
		}
		return LeaseOp{Event: event, ModemMAC: mac, V6: &Lease6{Type: "na",
			Address: fmt.Sprintf("2001:db8:4:11::ca:%x", i), PrefixLen: 128,
			DUID: []byte{0, 3, 0, 1, 0, 0, 0xca, byte(i >> 16), byte(i >> 8), byte(i)}, IAID: 1,
			MAC: mac, Kind: KindCM, State: StateActive, LinkAddress: "2001:db8:4:11::1",
			RemoteID: []byte{0, 0, 0x11, 0x8b, 0, 0, 0xca, byte(i >> 16), byte(i >> 8), byte(i)},
			Starts:   now, Ends: ends}}
	}
	apply := func(b *testing.B, st *Store, from int, event string) {
		batch := make([]*commitReq, perTxn)
		for j := range batch {
			batch[j] = &commitReq{ops: []LeaseOp{mk(from+j, event)}, at: now.Unix()}
		}
		if err := st.applyLeaseOps(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	for _, event := range []string{EventGrant, EventRenew} {
		b.Run(event, func(b *testing.B) {
			st := openLeaseStore(b)
			for n := 0; n < b.N; n += perTxn {
				if event == EventRenew {
					b.StopTimer()
					apply(b, st, n, EventGrant)
					b.StartTimer()
				}
				apply(b, st, n, event)
			}
		})
	}
}
