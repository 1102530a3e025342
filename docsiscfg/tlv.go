package docsiscfg

import "strings"

// valueType says how a setting's value is written in text and encoded.
type valueType uint8

const (
	tAgg        valueType = iota // aggregate of sub-TLVs
	tU8                          // 1-byte unsigned
	tU16                         // 2-byte unsigned
	tU24                         // 3-byte unsigned
	tU32                         // 4-byte unsigned
	tHex                         // raw bytes from a 0x literal; limits count bytes
	tStr                         // string without terminator; limits count chars
	tStrz                        // string plus one NUL; limits count visible chars
	tIP4                         // IPv4 address
	tIP6                         // IPv6 address
	tIP46                        // IPv4 or IPv6 address, by the literal
	tAFIP                        // address family byte + IPv4/IPv6 address
	tIPPort                      // IPv4/IPv6 address + 2-byte port: addr/port
	tMAC                         // 6-byte MAC address
	tMACMask                     // MAC/mask, 12 bytes
	tU8List                      // comma-separated bytes
	tU16List                     // comma-separated 2-byte numbers; limits count entries
	tIP4List                     // comma-separated IPv4 addresses
	tIP6List                     // comma-separated IPv6 addresses
	tIP6PfxList                  // comma-separated IPv6 prefixes, 17 bytes each
	tDualQTag                    // a,b: two 2-byte numbers
	tZeroLen                     // length 0, the written value is ignored
	tOID                         // BER OBJECT IDENTIFIER with its 06 header
	tOIDU8                       // BER OID + one byte (SnmpWriteControl)
	tVarbind                     // SNMP varbind (TLV 11, 202.11)
	tDigitMap                    // PacketCable digit map file as a varbind
	tExtFile                     // file content split into TLVs of at most 254 bytes
	tGeneric                     // GenericTLV escape hatch
	tPad                         // padding, added by the compiler
	tComputed                    // CM MIC and CMTS MIC, computed by the compiler
	tEOD                         // end-of-data marker, added by the compiler
)

// tlvNode is one setting of the TLV tree. Its children are
// tlvTree[first:first+count], sorted by lower-case name.
type tlvNode struct {
	name         string
	code         uint8
	typ          valueType
	min, max     uint32
	first, count uint16
}

func (n *tlvNode) children() []tlvNode {
	return tlvTree[n.first : int(n.first)+int(n.count)]
}

// childByName finds a child setting by its case-insensitive name.
// lower must already be lower case (ASCII).
func childByName(parent int, lower string) int {
	n := &tlvTree[parent]
	lo, hi := int(n.first), int(n.first)+int(n.count)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cmpLower(tlvTree[m].name, lower) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < int(n.first)+int(n.count) && cmpLower(tlvTree[lo].name, lower) == 0 {
		return lo
	}
	return -1
}

// childByCode finds the first child setting with the given code.
func childByCode(parent int, code uint8) int {
	n := &tlvTree[parent]
	best := -1
	for i := int(n.first); i < int(n.first)+int(n.count); i++ {
		if tlvTree[i].code == code && tlvTree[i].typ != tGeneric && tlvTree[i].typ != tPad {
			// Several keywords may share a code (SnmpMibObject/DigitMap,
			// MfgCVCData/ManufacturerCVC): prefer the plain value form.
			if best < 0 || preferForDecode(tlvTree[i].typ) {
				best = i
			}
		}
	}
	return best
}

func preferForDecode(t valueType) bool {
	return t != tExtFile && t != tDigitMap
}

// cmpLower compares s, lower-cased as ASCII, with lower.
func cmpLower(s, lower string) int {
	n := min(len(s), len(lower))
	for i := 0; i < n; i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			if c < lower[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(s) < len(lower):
		return -1
	case len(s) > len(lower):
		return 1
	}
	return 0
}

// findAnywhere returns the path of the first setting named name anywhere in
// the tree, for error messages ("X belongs in Y").
func findAnywhere(name string) (parent string, ok bool) {
	lower := strings.ToLower(name)
	for i := range tlvTree {
		n := &tlvTree[i]
		if n.count == 0 || n.typ != tAgg {
			continue
		}
		if childByName(i, lower) >= 0 {
			return n.name, true
		}
	}
	return "", false
}

// typeMax is the largest value an unsigned type can hold.
func typeMax(t valueType) uint64 {
	switch t {
	case tU8:
		return 0xff
	case tU16:
		return 0xffff
	case tU24:
		return 0xffffff
	}
	return 0xffffffff
}

// bounds returns the inclusive accepted range of a numeric setting.
func (n *tlvNode) bounds() (lo, hi uint64) {
	hi = typeMax(n.typ)
	if n.min == 0 && n.max == 0 {
		return 0, hi
	}
	return uint64(n.min), min(uint64(n.max), hi)
}
