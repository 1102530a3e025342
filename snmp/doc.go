// Package snmp polls DOCSIS cable modems and CMTSes over SNMP v2c and
// feeds their levels and counters into ip6m's time-series store; it also
// resets modems (docsDevResetNow) and classifies their health.
//
// # Wiring
//
//	p, err := snmp.New(snmp.Config{Targets: inventory, Sink: db, Logger: log})
//	go p.Run(ctx)            // returns after closing its sockets
//	p.Reset(ctx, addr, writeCommunity)
//	p.Readings(); snmp.Classify(r, time.Now(), thresholds)
//
// Targets (the inventory: every modem with its current lease address,
// community and MAC, and every CMTS) and SampleSink (*tsdb.DB implements
// it) are the only things the package needs from the rest of ip6m.
//
// # Sockets and requests
//
// A few UDP sockets (Config.Sockets, default 4) carry every request; a
// device always uses the same one (by hash of its address). Each request
// gets a process-wide unique request-id; one reader goroutine per socket
// decodes each answer (gosnmp's decoder, panics recovered) and hands it to
// the waiting poll after checking id, source address and community. A
// poll is a goroutine that blocks only on its own answer channel: there
// is no socket per device and at most Config.MaxInFlight polls at once.
// A retry resends the same datagram (same id, so a late answer to the
// first attempt still counts) after twice the previous timeout.
//
// # Schedule
//
// Each device has a fixed phase in the interval, from a hash of its key,
// so 10,000 modems every 10 s are spread evenly (about one poll per
// millisecond, no bursts) and each modem's samples stay one interval
// apart. A min-heap orders devices by their next slot; the scheduler
// starts what is due (5 ms batches). A device is either queued or being
// polled, never both, so a slow device can only delay itself: if a poll
// runs past its next slot, that slot is skipped and counted (Stats.Late,
// Stats.Skipped). Targets are re-read every RefreshInterval (default the
// interval) or on Refresh(): a new device is polled at its next phase
// slot, a deleted one is dropped (an answer in flight is discarded), an
// address change takes effect at the next poll and rediscovers channels.
//
// # Back-off
//
// A device that does not answer (all retries) once is polled again at its
// next slot; from the second failure in a row it is presumed dead: one
// attempt per poll, and 2, 4, 8 ... intervals between polls, at most
// Config.MaxBackoff (5 minutes). Any answer ends the back-off; so does its
// CMTS reporting the modem online again (docsIfCmtsCmStatusValue becoming
// registrationComplete/operational), at the next slot. With the defaults
// (1 s timeout, 1 retry) a dead modem costs 3 s of one goroutine at most,
// never a live modem's slot.
//
// # Modems
//
// The first poll of a modem walks ifType (GETBULK) once to find its
// channels: docsCableMaclayer (127) for the traffic counters and
// docsIfCmStatusTxPower, docsCableDownstream (128) and docsOfdmDownstream
// (277), docsCableUpstream (129), docsCableUpstreamChannel (205) and
// docsOfdmaUpstream (278). Then every cycle is one GET of all its OIDs
// (split in several GETs only above Config.MaxVarbinds, or after a tooBig):
// sysUpTime.0; ifHCInOctets/ifHCOutOctets (asked with ifInOctets/
// ifOutOctets until the modem shows which it has, then only that one);
// per SC-QAM downstream docsIfDownChannelPower, docsIfSigQSignalNoise,
// docsIfSigQMicroreflections and docsIfSigQExtCorrecteds/
// ExtUncorrectables (or the 32-bit docsIfSigQCorrecteds/Uncorrectables);
// per OFDM downstream docsIf31CmDsOfdmChannelPowerRxPower (PLC band);
// upstream transmit power from docsIfCmStatusTxPower with one upstream,
// docsIf3CmStatusUsTxPower per channel with several, and
// docsIf31CmUsOfdmaChanTxPower for OFDMA. A missing channel OID (or a
// reboot, or a new address) makes the next poll walk ifType again.
//
// Counters are kept as one 64-bit total per metric that adds the
// wrap-corrected delta of each raw counter (32 or 64 bits, one per channel
// for the codewords), so a multi-channel sum or a 32-bit fallback is still
// one monotonic counter, stored as tsdb.Counter64 (rate per second). A
// reboot - sysUpTime going back, or shorter than the time since the last
// answer - is a Sample.Reset (no data for that interval, never a spike),
// as is a raw counter going back and the first sample after a start.
//
// # Series
//
// Every modem has the seed's ten series: in, out (bytes/s), corrected,
// uncorrected (codewords/s, all downstreams), dspwr, uspwr (dBmV), dssnr
// (dB), microref (-dBc), usrcv (dBmV) and ussnr (dB) from the CMTS. With
// more than one channel the gauge is the channels' average, with X_min
// (and X_max for powers: dspwr, uspwr, usrcv) beside it, and, unless
// Config.SummaryOnly, one series per channel named X.<ifIndex> (dspwr,
// dssnr, uspwr; usrcv and ussnr by the CMTS's upstream ifIndex). Each
// per-channel series costs about 270 KB of tsdb with the default
// archives: a 24x8 modem stores about 60 series (16 MB) against 10 (3.8
// MB) for a single-channel one. Metrics are added to a device's schema as
// they appear and never removed by the poller (the existing schema is
// read first, so a restart drops nothing).
//
// # CMTS
//
// A CMTS is walked once per cycle (GETBULK, Config.WalkRepetitions rows
// per request, all columns in one request): docsIfCmtsCmStatusTable's MAC,
// IP (IpAddress and InetAddress), RxPower, Value and SignalNoise, then,
// where the CMTS has them, docsIf3CmtsCmRegStatusMacAddr and
// docsIf3CmtsCmUsStatusTable's RxPower and SignalNoise per upstream
// channel (asked again every 60 walks where missing). Rows are matched to
// modem Targets by MAC: the modem's usrcv/ussnr series and Reading.CMTS
// come from there, also for modems without an address or that do not
// answer SNMP. The CMTS device stores "modems" and "online" counts.
//
// # Health
//
// Classify turns a Reading into good/warning/bad/offline with reasons,
// from Thresholds an operator can change (DefaultThresholds: common field
// practice).
//
// # Testing
//
// Package snmpsim (and cmd/snmpsim) simulates thousands of modems and a
// CMTS on 127.x.y.z addresses sharing one UDP port; the tests run the
// poller against it over real sockets.
package snmp
