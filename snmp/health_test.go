package snmp

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestBandDefaults(t *testing.T) {
	th := DefaultThresholds()
	tests := []struct {
		name string
		band Band
		v    float64
		want Level
	}{
		{"ds power 0", th.DsPower, 0, Good},
		{"ds power +7", th.DsPower, 7, Good},
		{"ds power -7.1", th.DsPower, -7.1, Warning},
		{"ds power +10", th.DsPower, 10, Warning},
		{"ds power -15", th.DsPower, -15, Warning},
		{"ds power +15.1", th.DsPower, 15.1, Bad},
		{"ds power -16", th.DsPower, -16, Bad},
		{"ds snr 33", th.DsSNR, 33, Good},
		{"ds snr 31", th.DsSNR, 31, Warning},
		{"ds snr 30", th.DsSNR, 30, Warning},
		{"ds snr 29.9", th.DsSNR, 29.9, Bad},
		{"us tx 35", th.UsTx, 35, Good},
		{"us tx 49", th.UsTx, 49, Good},
		{"us tx 51", th.UsTx, 51, Warning},
		{"us tx 53.5", th.UsTx, 53.5, Bad},
		{"us tx 32", th.UsTx, 32, Warning},
		{"us tx 25", th.UsTx, 25, Bad},
		{"us snr 29", th.UsSNR, 29, Good},
		{"us snr 27", th.UsSNR, 27, Warning},
		{"us snr 24.9", th.UsSNR, 24.9, Bad},
		{"us rx 0", th.UsRx, 0, Good},
		{"us rx -5", th.UsRx, -5, Warning},
		{"us rx 7", th.UsRx, 7, Bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.band.level(tt.v); got != tt.want {
				t.Errorf("level(%v) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	nan := math.NaN()
	good := func() Reading {
		return Reading{
			Key: "m", Time: now.Add(-5 * time.Second), LastPoll: now.Add(-5 * time.Second),
			Down:   []Channel{{IfIndex: 3, Power: 1.5, SNR: 38, Microreflections: 30}, {IfIndex: 48, Power: 2, SNR: 37.5, Microreflections: 30}},
			Up:     []Channel{{IfIndex: 4, Power: 42, SNR: nan, Microreflections: nan}},
			InRate: 1000, OutRate: 100, CorrectedRate: 3, UncorrectedRate: 0,
			CMTS: CMTSView{CMTS: "c", Time: now.Add(-3 * time.Second), Status: CmtsOperational, RxPower: 0.5, SNR: 35},
		}
	}
	tests := []struct {
		name       string
		change     func(r *Reading)
		want       Level
		wantReason string
	}{
		{"all good", func(r *Reading) {}, Good, ""},
		{"never polled", func(r *Reading) { *r = Reading{Key: "m"} }, Unknown, "not polled yet"},
		{"one ds channel hot", func(r *Reading) { r.Down[1].Power = 11.2 }, Warning, "downstream power 11.2 dBmV on channel 48 (warning)"},
		{"ds power beyond 15", func(r *Reading) { r.Down[0].Power = -16 }, Bad, "downstream power -16.0 dBmV on channel 3 (bad)"},
		{"low snr", func(r *Reading) { r.Down[0].SNR = 29 }, Bad, "downstream SNR 29.0 dB on channel 3 (bad)"},
		{"us tx high", func(r *Reading) { r.Up[0].Power = 54 }, Bad, "upstream transmit power 54.0 dBmV (bad)"},
		{"us tx marginal", func(r *Reading) { r.Up[0].Power = 51 }, Warning, "upstream transmit power 51.0 dBmV (warning)"},
		{"uncorrectables rising", func(r *Reading) { r.UncorrectedRate = 0.4 }, Bad, "uncorrectable codewords rising (0.40/s)"},
		{"uncorrectables unknown after reboot", func(r *Reading) { r.UncorrectedRate = nan }, Good, ""},
		{"cmts snr low", func(r *Reading) { r.CMTS.SNR = 24 }, Bad, "upstream SNR at the CMTS 24.0 dB (bad)"},
		{"cmts per channel", func(r *Reading) {
			r.CMTS.Up = []Channel{{IfIndex: 1000, Power: 0, SNR: 33}, {IfIndex: 1001, Power: 0.5, SNR: 27}}
		}, Warning, "upstream SNR at the CMTS 27.0 dB on channel 1001 (warning)"},
		{"offline at cmts", func(r *Reading) { r.CMTS.Status = CmtsRanging }, Offline, "ranging at the CMTS"},
		{"no answer, no cmts", func(r *Reading) {
			r.Time = now.Add(-2 * time.Minute)
			r.Fails = 4
			r.CMTS = CMTSView{}
		}, Offline, "no SNMP answer since 2026-12-04 11:58:00"},
		{"no answer, online at cmts", func(r *Reading) { r.Fails = 2 }, Warning, "online at the CMTS but no SNMP answer"},
		{"no address, online at cmts", func(r *Reading) {
			r.Time, r.LastPoll, r.Down, r.Up = time.Time{}, time.Time{}, nil, nil
		}, Good, ""},
		{"stale cmts view ignored", func(r *Reading) { r.CMTS.Time = now.Add(-time.Hour); r.CMTS.Status = CmtsRanging }, Good, ""},
		{"several problems", func(r *Reading) { r.Down[0].SNR = 31; r.UncorrectedRate = 2 }, Bad, "downstream SNR 31.0 dB on channel 3 (warning); uncorrectable codewords rising (2.00/s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.change(&r)
			h := Classify(r, now, DefaultThresholds())
			if h.State != tt.want || h.Reason != tt.wantReason {
				t.Errorf("Classify = %v %q, want %v %q", h.State, h.Reason, tt.want, tt.wantReason)
			}
			for _, m := range h.Metrics {
				if m.Level > Good && !strings.Contains(h.Reason, m.Reason) {
					t.Errorf("metric %s reason %q not in %q", m.Metric, m.Reason, h.Reason)
				}
			}
		})
	}
}

func TestClassifyOperatorThresholds(t *testing.T) {
	now := time.Now()
	r := Reading{Time: now, LastPoll: now, Down: []Channel{{Power: 8, SNR: 40}}, UncorrectedRate: 0.5}
	th := DefaultThresholds()
	th.DsPower = Band{-10, 10, -12, 12}
	th.UncorrectedBad = 1
	if h := Classify(r, now, th); h.State != Good {
		t.Errorf("with wider limits: %v %q", h.State, h.Reason)
	}
}
