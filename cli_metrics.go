package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"ip6m/dhcp"
	"ip6m/dns"
	"ip6m/snmp"
	"ip6m/tftp"
	"ip6m/timesrv"
	"ip6m/tsdb"
)

// metrics exposes the running services' counters in the Prometheus text
// format, for an ISP that already scrapes its other systems. Each scrape
// reads the services' own counters, so the figures are those the dashboard
// shows, with nothing counted twice.
type metrics struct {
	dhcp4, dhcp6 interface{ Stats() dhcp.Stats }
	tftp         *tftp.Server
	poller       *snmp.Poller
	tsdb         *tsdb.DB
	time         *timesrv.Server
	dns          *dns.Server
	events       *eventFeed
}

// Describe sends no descriptions: the metrics depend on which services
// run, so the collector is unchecked.
func (m *metrics) Describe(chan<- *prometheus.Desc) {}

var (
	mEvents        = prometheus.NewDesc("ip6m_events_total", "Events on the events page, by kind (lease, online, offline, unknown-modem, over-max-cpe, tftp-refused, ...).", []string{"kind"}, nil)
	mEventsDropped = prometheus.NewDesc("ip6m_events_dropped_total", "Events not shown because the event feed fell behind (a storm).", nil, nil)
	mLeasePending  = prometheus.NewDesc("ip6m_lease_journal_pending", "Lease changes durable in the journal, not yet in the database.", nil, nil)
	mLeaseApplyErr = prometheus.NewDesc("ip6m_lease_apply_errors_total", "Lease changes the database refused when the journal was applied.", nil, nil)
	mDHCPReceived  = prometheus.NewDesc("ip6m_dhcp_received_total", "DHCP messages received.", []string{"family"}, nil)
	mDHCPReplied   = prometheus.NewDesc("ip6m_dhcp_replied_total", "DHCP replies sent.", []string{"family"}, nil)
	mDHCPCommitted = prometheus.NewDesc("ip6m_dhcp_leases_committed_total", "Lease changes made durable.", []string{"family"}, nil)
	mDHCPRefused   = prometheus.NewDesc("ip6m_dhcp_refused_total", "Requests refused (unknown or disabled device, over max-CPE, ...).", []string{"family"}, nil)
	mDHCPNAKs      = prometheus.NewDesc("ip6m_dhcp_naks_total", "DHCPNAKs (v4) and NoBinding/NotOnLink statuses (v6) sent.", []string{"family"}, nil)
	mDHCPDrops     = prometheus.NewDesc("ip6m_dhcp_dropped_total", "Messages dropped unanswered, by reason.", []string{"family", "reason"}, nil)

	mTFTPRequests  = prometheus.NewDesc("ip6m_tftp_requests_total", "TFTP read and write requests.", nil, nil)
	mTFTPTransfers = prometheus.NewDesc("ip6m_tftp_transfers_total", "TFTP transfers completed.", nil, nil)
	mTFTPBytes     = prometheus.NewDesc("ip6m_tftp_bytes_total", "Bytes of completed TFTP transfers.", nil, nil)
	mTFTPRefused   = prometheus.NewDesc("ip6m_tftp_refused_total", "TFTP requests refused, by reason.", []string{"reason"}, nil)
	mTFTPErrors    = prometheus.NewDesc("ip6m_tftp_errors_total", "TFTP transfers that failed midway and configs that did not build.", nil, nil)
	mTFTPActive    = prometheus.NewDesc("ip6m_tftp_active_transfers", "TFTP transfers in progress.", nil, nil)
	mTFTPCompiles  = prometheus.NewDesc("ip6m_tftp_configs_compiled_total", "DOCSIS configs compiled.", nil, nil)
	mTFTPCacheHits = prometheus.NewDesc("ip6m_tftp_config_cache_hits_total", "DOCSIS configs served from the cache.", nil, nil)

	mDNSQueries = prometheus.NewDesc("ip6m_dns_queries_total", "DNS queries past the rate limit.", nil, nil)
	mDNSResults = prometheus.NewDesc("ip6m_dns_results_total", "DNS queries by how they were answered or dropped.", []string{"result"}, nil)
	mDNSEntries = prometheus.NewDesc("ip6m_dns_cache_entries", "Answers in the DNS cache.", nil, nil)
	mDNSUpQ     = prometheus.NewDesc("ip6m_dns_upstream_queries_total", "Queries sent to each upstream.", []string{"upstream"}, nil)
	mDNSUpFail  = prometheus.NewDesc("ip6m_dns_upstream_failures_total", "Queries an upstream did not answer well.", []string{"upstream"}, nil)
	mDNSUpUp    = prometheus.NewDesc("ip6m_dns_upstream_healthy", "1 when the upstream answered its last query.", []string{"upstream"}, nil)

	mTimeReq     = prometheus.NewDesc("ip6m_time_requests_total", "RFC 868 time requests.", []string{"proto"}, nil)
	mTimeLimited = prometheus.NewDesc("ip6m_time_rate_limited_total", "RFC 868 requests dropped by the per-source limit.", nil, nil)

	mPollDevices  = prometheus.NewDesc("ip6m_poller_devices", "Devices the SNMP poller knows.", nil, nil)
	mPollBackoff  = prometheus.NewDesc("ip6m_poller_backed_off_devices", "Devices not answering, polled less often.", nil, nil)
	mPollRate     = prometheus.NewDesc("ip6m_poller_polls_per_second", "Answered polls in the last second.", nil, nil)
	mPollPolls    = prometheus.NewDesc("ip6m_poller_polls_total", "Answered SNMP polls.", nil, nil)
	mPollTimeouts = prometheus.NewDesc("ip6m_poller_timeouts_total", "Polls without an answer after the retries.", nil, nil)
	mPollErrors   = prometheus.NewDesc("ip6m_poller_errors_total", "Polls that failed otherwise.", nil, nil)
	mPollLate     = prometheus.NewDesc("ip6m_poller_late_total", "Polls started over a tenth of an interval late.", nil, nil)
	mPollSkipped  = prometheus.NewDesc("ip6m_poller_skipped_total", "Slots skipped because the previous poll ran into them.", nil, nil)
	mPollInFlight = prometheus.NewDesc("ip6m_poller_in_flight", "Polls running.", nil, nil)
	mPollWalks    = prometheus.NewDesc("ip6m_poller_cmts_walks_total", "CMTS walks done.", nil, nil)

	mTSSamples = prometheus.NewDesc("ip6m_tsdb_samples_total", "Samples added to the time-series store.", nil, nil)
	mTSFlushes = prometheus.NewDesc("ip6m_tsdb_flushes_total", "Time-series flushes.", nil, nil)
	mTSFlushEr = prometheus.NewDesc("ip6m_tsdb_flush_errors_total", "Failed time-series flushes (their rows are kept for the next).", nil, nil)
	mTSBytes   = prometheus.NewDesc("ip6m_tsdb_written_bytes_total", "Bytes written by the time-series store.", nil, nil)
	mTSPending = prometheus.NewDesc("ip6m_tsdb_pending_rows", "Rows in memory, not yet durable.", nil, nil)
	mTSLast    = prometheus.NewDesc("ip6m_tsdb_last_flush_seconds", "How long the last flush took.", nil, nil)
	mTSSeries  = prometheus.NewDesc("ip6m_tsdb_series", "Series of the loaded devices.", nil, nil)
)

// Collect reads each running service's counters.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if f := m.events; f != nil {
		st := f.bus.Stats()
		for kind, n := range st.ByKind {
			counter(mEvents, float64(n), kind)
		}
		counter(mEventsDropped, float64(f.dropped.Load()))
		cs := f.st.CommitStats()
		gauge(mLeasePending, float64(cs.Pending))
		counter(mLeaseApplyErr, float64(cs.ApplyErrors))
	}
	for _, d := range []struct {
		family string
		s      interface{ Stats() dhcp.Stats }
	}{{"v4", m.dhcp4}, {"v6", m.dhcp6}} {
		if d.s == nil {
			continue
		}
		st := d.s.Stats()
		counter(mDHCPReceived, float64(st.Received), d.family)
		counter(mDHCPReplied, float64(st.Replied), d.family)
		counter(mDHCPCommitted, float64(st.LeasesCommitted), d.family)
		counter(mDHCPRefused, float64(st.Refused), d.family)
		counter(mDHCPNAKs, float64(st.NAKs), d.family)
		for reason, n := range st.Drops {
			counter(mDHCPDrops, float64(n), d.family, reason)
		}
	}
	if m.tftp != nil {
		st := m.tftp.Stats()
		counter(mTFTPRequests, float64(st.Requests))
		counter(mTFTPTransfers, float64(st.Transfers))
		counter(mTFTPBytes, float64(st.Bytes))
		for reason, n := range st.RefusedBy {
			counter(mTFTPRefused, float64(n), reason)
		}
		counter(mTFTPErrors, float64(st.Errors))
		gauge(mTFTPActive, float64(st.Active))
		counter(mTFTPCompiles, float64(st.Compiles))
		counter(mTFTPCacheHits, float64(st.CacheHits))
	}
	if m.dns != nil {
		st := m.dns.Stats()
		counter(mDNSQueries, float64(st.Queries))
		for _, r := range []struct {
			name string
			n    uint64
		}{{"cache_hit", st.CacheHits}, {"cache_miss", st.CacheMisses}, {"coalesced", st.Coalesced}, {"stale", st.Stale},
			{"local", st.Local}, {"refused", st.Refused}, {"rate_limited", st.RateLimited}, {"formerr", st.FormErr},
			{"notimp", st.NotImp}, {"servfail", st.ServFail}, {"dropped", st.Dropped}, {"busy", st.Busy}} {
			counter(mDNSResults, float64(r.n), r.name)
		}
		gauge(mDNSEntries, float64(st.CacheEntries))
		for _, u := range st.Upstreams {
			counter(mDNSUpQ, float64(u.Queries), u.Addr)
			counter(mDNSUpFail, float64(u.Failures), u.Addr)
			healthy := 0.0
			if u.Healthy {
				healthy = 1
			}
			gauge(mDNSUpUp, healthy, u.Addr)
		}
	}
	if m.time != nil {
		st := m.time.Stats()
		counter(mTimeReq, float64(st.UDPRequests), "udp")
		counter(mTimeReq, float64(st.TCPRequests), "tcp")
		counter(mTimeLimited, float64(st.RateLimited))
	}
	if m.poller != nil {
		st := m.poller.Stats()
		gauge(mPollDevices, float64(st.Devices))
		gauge(mPollBackoff, float64(st.BackedOff))
		gauge(mPollRate, st.PollsPerSec)
		counter(mPollPolls, float64(st.Polls))
		counter(mPollTimeouts, float64(st.Timeouts))
		counter(mPollErrors, float64(st.Errors))
		counter(mPollLate, float64(st.Late))
		counter(mPollSkipped, float64(st.Skipped))
		gauge(mPollInFlight, float64(st.InFlight))
		counter(mPollWalks, float64(st.Walks))
	}
	if m.tsdb != nil {
		st := m.tsdb.Stats()
		counter(mTSSamples, float64(st.Samples))
		counter(mTSFlushes, float64(st.Flushes))
		counter(mTSFlushEr, float64(st.FlushErrors))
		counter(mTSBytes, float64(st.BytesWritten))
		gauge(mTSPending, float64(st.PendingRows))
		gauge(mTSLast, st.LastFlush.Seconds())
		gauge(mTSSeries, float64(st.Series))
	}
}

// metricsServer serves /metrics on its own listener: it is opt-in, and
// meant for a management network, apart from the web UI's logins.
type metricsServer struct {
	ln  net.Listener
	srv *http.Server
}

func newMetricsServer(addr string, m *metrics, log *slog.Logger) (*metricsServer, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &metricsServer{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}, nil
}

func (s *metricsServer) Addr() net.Addr { return s.ln.Addr() }

func (s *metricsServer) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.srv.Shutdown(sctx)
	})
	defer stop()
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
