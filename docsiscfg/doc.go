// Package docsiscfg compiles DOCSIS cable modem and PacketCable MTA config
// files from the text syntax of the open-source docsis tool (rlaager/docsis
// 0.9.9-dev), byte for byte, and decodes binaries back to that syntax.
//
// Encode parses a config text and builds the binary in one pass: TLVs in
// text order, then for a CM file the CM MIC (TLV 6, MD5 of everything
// before it), the CMTS MIC (TLV 7, HMAC-MD5 over TLVs 1, 2, 3, 4, 17, 43, 6,
// 18, 19, 20, 22, 23, 24, 25, 28, 29, 26, 35, 36, 37, 40 in that type order),
// the end marker and zero padding to a multiple of four; an MTA file gets
// none of those, and optionally the NA or EU config hash. Decode prints a
// binary as text that encodes back to the same bytes, naming settings and
// SNMP objects; VerifyMICs checks both MICs with a key. Template and Compile
// render a service plan (text/template) for one modem and encode it; a
// Compiler keeps the parsed plans for the TFTP server and the UI.
//
// For a TFTP server that builds files per request, Options.TFTPTimestamp and
// Options.TFTPModemAddress add TLV 19 (TFTP server timestamp) and TLV 20
// (provisioned modem address; TLV 59 for IPv6) after the text's TLVs and
// before the MICs, so that both MICs cover them and a CMTS with TFTP
// enforcement can check them. The reference has no such option.
//
// SNMP object names resolve through a built-in table generated from the MIB
// modules the reference loads (go generate; see gen_mibtable.go), so no MIB
// files are read at run time. Labels defined in two modules resolve to the
// OID the reference picks (mib-ambiguous-labels.tsv).
//
// The reference's deliberate encodings are kept: the SNMP varbind header
// switches to 30 82 HH LL when a String/HexString's length plus the OID's
// sub-identifier count plus 8 reaches 127; Unsigned32 is encoded with the
// Gauge32 tag 0x42; in a string, \" is a quote and any other backslash a
// space; the key is the first 64 bytes of the key file without trailing CR
// and LF (KeyFromFile); a text that starts with MtaConfigDelimiter is built
// as an MTA file; a String or HexString longer or shorter than the SIZE the
// MIB gives the object is an error.
//
// # Deviations from the reference
//
// Where the reference silently drops, corrupts or crashes, this package
// returns an error or the correct result:
//
//   - An aggregate or a scalar whose value exceeds 255 bytes is an error
//     (wrapping ErrTooLong); the reference drops it and exits 0.
//   - An SNMP varbind over 255 bytes in a CM file, or inside an aggregate, is
//     an error; the reference rewrites it as TLV 64 with a two-byte length,
//     which a modem reads as a static multicast session. In an MTA file it
//     is written as TLV 64 with a two-byte length, as the reference does.
//   - The CMTS MIC is computed over the real TLV boundaries. The reference's
//     scanner reads any TLV 64 with a two-byte length, so its CMTS MIC is
//     wrong when a CM file holds a static multicast session (TLV 64).
//   - Single-element lists (UserPriority 5;, UpstreamDropClassifierGroupID 5;)
//     encode as one entry; the reference crashes.
//   - Settings are looked up in the block they are written in: a setting in
//     the wrong parent (MaxCPE inside UsServiceFlow) is an error naming where
//     it belongs, and the limits applied are those of that parent's row. The
//     reference looks keywords up globally and emits them anywhere, with the
//     limits of the first row of that name. The only row this makes stricter
//     is SNMPv3AccessViewMask in eRouter (202.54.3), which must be 2 bytes (the
//     reference applies 54.3's 1..2); EtherType and
//     PcIPv6TrafficClassRangeAndMask in DsPacketClass and VlanID outside
//     UsPacketClass get their own, looser rows.
//   - Every numeric value is range-checked, with the allowed range in the
//     error: against the row's limits, else against the width of the type
//     (the reference truncates unchecked u8/u16 values and wraps negative
//     numbers). A hex literal where a number is expected is an error (the
//     reference uses the string pointer as the number).
//   - SnmpWriteControl (TLV 10), SnmpV3TrapRxFilterOID (38.6) and
//     SNMPv3AccessViewSubtree (54.2) accept MIB names as well as numeric OIDs;
//     the reference rejects names, and for 38.6/54.2 silently writes an empty
//     value.
//   - A bare four-component numeric OID (1.3.6.1) is accepted as an OID; the
//     reference lexes it as an IPv4 address and rejects it.
//   - MTA config hash (-na/-eu): the file must end with MtaConfigDelimiter
//     255, else it is an error; the reference overwrites the last three bytes
//     whatever they are.
//   - An SNMP varbind whose body is over 127 bytes but below the reference's
//     String threshold gets a valid 30 82 HH LL header; the reference writes a
//     one-byte length that is not valid BER.
//   - Files named by ManufacturerCVC "f", DigitMap "f" and the other file
//     keywords are read through Options.ReadFile; the CLI resolves them
//     relative to the config file's folder (the reference uses the working
//     directory).
//   - The decoder never reads past the input: a top-level TLV that runs past
//     the end is a *DecodeError with its offset (the reference reads past it
//     or aborts). Padding with an odd byte count prints one "/* Pad */" per
//     pair, without reading past the end.
//   - The decoder prints a value by name only when that text encodes back to
//     the same bytes; otherwise (wrong length, out of range, unknown SNMP
//     type, non-minimal BER) it prints a GenericTLV with the raw bytes, so
//     decode → encode is the identity for every well-formed file. A string
//     holding a quote is printed with \" (the reference prints it raw, which
//     does not re-encode); a string that cannot be quoted is printed as hex,
//     which the encoder accepts for string settings.
//   - An ambiguous MIB label is printed only for the OID it resolves to: the
//     reference prints pktcSigDevRgCadence for 1.3.6.1.4.1.4491.2.2.2.1.1.22
//     but encodes that name as 1.3.6.1.2.1.169.1.1.13; we print
//     pktcSigDevConfigObjects.22 instead.
//   - TLV 94 has the same name as TLV 93 (UpstreamEHQoSASF), so the name
//     always encodes as 93 (as in the reference) and the decoder prints a
//     TLV 94 as GenericTLV.
//   - The Extended CMTS MIC (TLV 43.6) can be generated (Options.ExtendedMIC,
//     CLI encode --extended-mic); the reference has none. The digest is the
//     HMAC-MD5 with the shared secret over the top-level TLVs whose types are
//     set in the bitmap (bit 0 = most significant bit of the first byte =
//     type 0), whole and in file order, computed before TLV 43.6 is appended;
//     the TLV 43 then goes before the CM MIC, so both MICs cover it.
//     MMH16-σ-n (HMAC type 2) is refused.
//
// Extensions that the reference does not accept: hex literals for string
// settings, Counter/Gauge aliases, and MIB names matched case-insensitively
// when there is no exact match.
package docsiscfg
