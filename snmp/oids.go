package snmp

// Object identifiers polled by ip6m, checked against the MIBs in
// ../shared/mibs (DOCS-IF-MIB, DOCS-IF3-MIB, DOCS-IF31-MIB,
// DOCS-CABLE-DEVICE-MIB, ietf/IF-MIB, ietf/SNMPv2-MIB). Column OIDs have no
// instance: the poller appends the ifIndex (or the table index).
const (
	// SNMPv2-MIB sysUpTime.0 (TimeTicks, hundredths of a second): a
	// decrease is a reboot.
	oidSysUpTime = "1.3.6.1.2.1.1.3.0"

	// IF-MIB ifTable (interfaces 2), ifEntry columns.
	oidIfType      = "1.3.6.1.2.1.2.2.1.3"  // ifType { ifEntry 3 }
	oidIfInOctets  = "1.3.6.1.2.1.2.2.1.10" // ifInOctets { ifEntry 10 }, Counter32
	oidIfOutOctets = "1.3.6.1.2.1.2.2.1.16" // ifOutOctets { ifEntry 16 }, Counter32
	// IF-MIB ifXTable (ifMIBObjects 1), ifXEntry columns.
	oidIfHCInOctets  = "1.3.6.1.2.1.31.1.1.1.6"  // ifHCInOctets { ifXEntry 6 }, Counter64
	oidIfHCOutOctets = "1.3.6.1.2.1.31.1.1.1.10" // ifHCOutOctets { ifXEntry 10 }, Counter64

	// DOCS-IF-MIB (docsIfMib = transmission 127 = 1.3.6.1.2.1.10.127).
	// docsIfDownstreamChannelEntry { docsIfBaseObjects 1 1 }:
	oidDownChannelPower = "1.3.6.1.2.1.10.127.1.1.1.1.6" // docsIfDownChannelPower, TenthdBmV
	// docsIfSignalQualityEntry { docsIfBaseObjects 4 1 }, indexed by the downstream ifIndex:
	oidSigQCorrecteds        = "1.3.6.1.2.1.10.127.1.1.4.1.3"  // docsIfSigQCorrecteds, Counter32
	oidSigQUncorrectables    = "1.3.6.1.2.1.10.127.1.1.4.1.4"  // docsIfSigQUncorrectables, Counter32
	oidSigQSignalNoise       = "1.3.6.1.2.1.10.127.1.1.4.1.5"  // docsIfSigQSignalNoise, TenthdB
	oidSigQMicroreflections  = "1.3.6.1.2.1.10.127.1.1.4.1.6"  // docsIfSigQMicroreflections, -dBc
	oidSigQExtCorrecteds     = "1.3.6.1.2.1.10.127.1.1.4.1.9"  // docsIfSigQExtCorrecteds, Counter64
	oidSigQExtUncorrectables = "1.3.6.1.2.1.10.127.1.1.4.1.10" // docsIfSigQExtUncorrectables, Counter64
	// docsIfCmStatusEntry { docsIfCmObjects 2 1 }, indexed by the CM MAC (ifType 127) ifIndex:
	oidCmStatusTxPower = "1.3.6.1.2.1.10.127.1.2.2.1.3" // docsIfCmStatusTxPower, TenthdBmV
	// docsIfCmtsCmStatusEntry { docsIfCmtsObjects 3 1 }, indexed by docsIfCmtsCmStatusIndex:
	oidCmtsCmStatusMacAddress  = "1.3.6.1.2.1.10.127.1.3.3.1.2"  // docsIfCmtsCmStatusMacAddress
	oidCmtsCmStatusIPAddress   = "1.3.6.1.2.1.10.127.1.3.3.1.3"  // docsIfCmtsCmStatusIpAddress (deprecated, IPv4)
	oidCmtsCmStatusRxPower     = "1.3.6.1.2.1.10.127.1.3.3.1.6"  // docsIfCmtsCmStatusRxPower, TenthdBmV
	oidCmtsCmStatusValue       = "1.3.6.1.2.1.10.127.1.3.3.1.9"  // docsIfCmtsCmStatusValue
	oidCmtsCmStatusSignalNoise = "1.3.6.1.2.1.10.127.1.3.3.1.13" // docsIfCmtsCmStatusSignalNoise, TenthdB
	oidCmtsCmStatusInetAddress = "1.3.6.1.2.1.10.127.1.3.3.1.21" // docsIfCmtsCmStatusInetAddress

	// DOCS-IF3-MIB (docsIf3Mib = clabProjDocsis 20 = 1.3.6.1.4.1.4491.2.1.20).
	// docsIf3CmStatusUsEntry { docsIf3MibObjects 2 1 }, indexed by the upstream ifIndex:
	oidIf3CmStatusUsTxPower = "1.3.6.1.4.1.4491.2.1.20.1.2.1.1" // docsIf3CmStatusUsTxPower, TenthdBmV
	// docsIf3CmtsCmRegStatusEntry { docsIf3MibObjects 3 1 }, indexed by docsIf3CmtsCmRegStatusId:
	oidIf3CmtsCmRegStatusMacAddr = "1.3.6.1.4.1.4491.2.1.20.1.3.1.2" // docsIf3CmtsCmRegStatusMacAddr
	// docsIf3CmtsCmUsStatusEntry { docsIf3MibObjects 4 1 }, indexed by RegStatusId.ChIfIndex:
	oidIf3CmtsCmUsStatusRxPower     = "1.3.6.1.4.1.4491.2.1.20.1.4.1.3" // docsIf3CmtsCmUsStatusRxPower, TenthdBmV
	oidIf3CmtsCmUsStatusSignalNoise = "1.3.6.1.4.1.4491.2.1.20.1.4.1.4" // docsIf3CmtsCmUsStatusSignalNoise, TenthdB

	// DOCS-IF31-MIB (docsIf31Mib = clabProjDocsis 28 = 1.3.6.1.4.1.4491.2.1.28).
	// docsIf31CmDsOfdmChannelPowerEntry { docsIf31MibObjects 11 1 }, indexed by
	// ifIndex.bandIndex; band 0 is the 6 MHz around the PLC:
	oidIf31CmDsOfdmChannelPowerRxPower = "1.3.6.1.4.1.4491.2.1.28.1.11.1.3" // TenthdBmV
	// docsIf31CmUsOfdmaChanEntry { docsIf31MibObjects 13 1 }, indexed by ifIndex:
	oidIf31CmUsOfdmaChanTxPower = "1.3.6.1.4.1.4491.2.1.28.1.13.1.10" // TenthdBmV

	// DOCS-CABLE-DEVICE-MIB docsDevResetNow.0 { docsDevBase 3 } (docsDev = mib-2 69):
	// TruthValue, setting true(1) resets the device.
	oidDocsDevResetNow = "1.3.6.1.2.1.69.1.1.3.0"
)

// IANAifType values the channel discovery looks for.
const (
	ifTypeMacLayer    = 127 // docsCableMaclayer
	ifTypeDownstream  = 128 // docsCableDownstream
	ifTypeUpstream    = 129 // docsCableUpstream
	ifTypeUpstreamCh  = 205 // docsCableUpstreamChannel (DOCSIS 3.0 logical channel)
	ifTypeOfdmDown    = 277 // docsOfdmDownstream
	ifTypeOfdmaUp     = 278 // docsOfdmaUpstream
	defaultSNMPPort   = 161
	maxCommunityBytes = 127 // gosnmp writes the community length in one byte
)

// CMTS modem states, docsIfCmtsCmStatusValue.
const (
	CmtsOther                 = 1
	CmtsRanging               = 2
	CmtsRangingAborted        = 3
	CmtsRangingComplete       = 4
	CmtsIPComplete            = 5
	CmtsRegistrationComplete  = 6
	CmtsAccessDenied          = 7
	CmtsOperational           = 8
	CmtsRegisteredBPIInitting = 9
)

// CmtsStatusText names a docsIfCmtsCmStatusValue.
func CmtsStatusText(v int) string {
	switch v {
	case CmtsOther:
		return "other"
	case CmtsRanging:
		return "ranging"
	case CmtsRangingAborted:
		return "rangingAborted"
	case CmtsRangingComplete:
		return "rangingComplete"
	case CmtsIPComplete:
		return "ipComplete"
	case CmtsRegistrationComplete:
		return "registrationComplete"
	case CmtsAccessDenied:
		return "accessDenied"
	case CmtsOperational:
		return "operational"
	case CmtsRegisteredBPIInitting:
		return "registeredBPIInitializing"
	}
	return "unknown"
}

// cmtsOnline reports whether a docsIfCmtsCmStatusValue means the modem is
// registered and passing traffic.
func cmtsOnline(v int) bool {
	return v == CmtsRegistrationComplete || v == CmtsOperational || v == CmtsRegisteredBPIInitting
}
