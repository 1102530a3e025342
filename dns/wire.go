package dns

import (
	"encoding/binary"
	"time"

	mdns "github.com/miekg/dns"
)

// The common upstream answer (one question, records of the everyday types,
// an OPT record last) becomes a cache entry straight from its bytes: checked
// record by record, the OPT record cut off, the question put in canonical
// case and the TTLs clamped in place. Anything else takes the general path,
// which unpacks the answer into a message and packs it again. Both make the
// same entry (FuzzWireEntry compares them).

// questionMatch compares the question of the answer got with the one of the
// query sent (both packed; sent has one uncompressed question): 0 when they
// are the very same bytes, errCaseMismatch when they differ only in letter
// case, and another error when got answers something else or is not an
// answer at all.
func questionMatch(sent, got []byte) error {
	if len(got) < 12 || got[0] != sent[0] || got[1] != sent[1] || got[2]&0x80 == 0 {
		return errNotOurs
	}
	if binary.BigEndian.Uint16(got[4:]) != 1 {
		return errNotOurs
	}
	end := 12 + nameLen(sent[12:]) + 4
	if len(got) < end {
		return errNotOurs
	}
	a, b := got[12:end], sent[12:end]
	same := true
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		same = false
		if a[i]|0x20 != b[i]|0x20 || a[i]|0x20 < 'a' || a[i]|0x20 > 'z' || i >= len(a)-4 {
			return errNotOurs
		}
	}
	if !same {
		// The same letters at the same places: the label lengths matched
		// byte for byte (no length byte differs only in bit 0x20 here, as
		// one that did would have been caught as a non-letter above).
		return errCaseMismatch
	}
	return nil
}

// wireRR is one record of an answer being checked.
type wireRR struct {
	start, ttlOff, rdStart, rdEnd int
	typ                           uint16
	ttl                           uint32
}

// maxWireRRs bounds the records the fast path takes; more go the general way.
const maxWireRRs = 64

// newEntryWire makes the cache entry for key from raw, an upstream's
// answer whose question questionMatch accepted, received at now. ok is
// false when raw is not one the fast path takes; then newEntry must decide.
func newEntryWire(key cacheKey, raw []byte, now time.Time, p ttlPolicy) (e *entry, cacheable, ok bool) {
	if len(raw) < 12 || len(raw) > 65535 {
		return nil, false, false
	}
	counts := [3]int{
		int(binary.BigEndian.Uint16(raw[6:])),
		int(binary.BigEndian.Uint16(raw[8:])),
		int(binary.BigEndian.Uint16(raw[10:])),
	}
	total := counts[0] + counts[1] + counts[2]
	if binary.BigEndian.Uint16(raw[4:]) != 1 || total > maxWireRRs {
		return nil, false, false
	}
	qEnd := 12 + nameLen(raw[12:])
	if qEnd <= 12 || qEnd+4 > len(raw) {
		return nil, false, false
	}
	off := qEnd + 4
	var rrs [maxWireRRs]wireRR
	n := 0    // records kept: everything but the OPT record
	keep := 0 // where the kept records end
	opt := -1 // the OPT record's index among them
	rcode := int(raw[3] & 0x0F)
	for sec, c := range counts {
		for range c {
			start := off
			var good bool
			if off, good = validName(raw, off); !good || off+10 > len(raw) {
				return nil, false, false
			}
			r := wireRR{
				start:   start,
				typ:     binary.BigEndian.Uint16(raw[off:]),
				ttlOff:  off + 4,
				ttl:     binary.BigEndian.Uint32(raw[off+4:]),
				rdStart: off + 10,
			}
			r.rdEnd = r.rdStart + int(binary.BigEndian.Uint16(raw[off+8:]))
			if r.rdEnd > len(raw) {
				return nil, false, false
			}
			off = r.rdEnd
			if r.typ == mdns.TypeOPT {
				// One OPT record, last, in the additional section, with no
				// extended rcode: anything else goes the general way.
				if sec != 2 || opt >= 0 || r.ttl>>24 != 0 || raw[start] != 0 {
					return nil, false, false
				}
				opt = n
				continue
			}
			if opt >= 0 || !validRdata(raw, r) {
				return nil, false, false
			}
			rrs[n] = r
			n++
			keep = off
		}
	}
	if off != len(raw) {
		return nil, false, false
	}
	if n == 0 {
		keep = qEnd + 4
	}

	e = &entry{key: key, rcode: rcode, stored: now}
	cacheable = raw[2]&0x02 == 0 && (rcode == mdns.RcodeSuccess || rcode == mdns.RcodeNameError)
	var life uint32
	if rcode == mdns.RcodeNameError || counts[0] == 0 {
		// RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and
		// its MINIMUM field; without an SOA the answer is not cached.
		soa := -1
		for i := counts[0]; i < counts[0]+counts[1] && i < n; i++ {
			if rrs[i].typ == mdns.TypeSOA {
				soa = i
				break
			}
		}
		if soa < 0 {
			cacheable = false
		} else {
			r := &rrs[soa]
			minimum := binary.BigEndian.Uint32(raw[r.rdEnd-4:])
			life = min(r.ttl, minimum, p.maxNegative)
			life = max(life, p.min)
			r.ttl = life
		}
	} else {
		life = ^uint32(0)
		for _, r := range rrs[:counts[0]] {
			life = min(life, r.ttl)
		}
		life = min(max(life, p.min), p.max)
	}
	if life == 0 {
		cacheable = false
	}
	e.lifetime = life
	e.expires = now.Add(time.Duration(life) * time.Second)
	e.staleUntil = e.expires.Add(p.stale)

	wire := append([]byte(nil), raw[:keep]...)
	e.wire, e.ttlOff, e.ttl = wire, make([]uint16, n), make([]uint32, n)
	binary.BigEndian.PutUint16(wire, 0)
	wire[2] = 0x80 // QR
	wire[3] = 0x80 | byte(rcode)
	if opt >= 0 {
		binary.BigEndian.PutUint16(wire[10:], uint16(counts[2]-1))
	}
	for i := 12; i < qEnd; i++ {
		if c := wire[i]; c >= 'A' && c <= 'Z' {
			wire[i] = c | 0x20
		}
	}
	for i, r := range rrs[:n] {
		t := min(max(r.ttl, p.min), p.max, life)
		binary.BigEndian.PutUint32(wire[r.ttlOff:], t)
		e.ttlOff[i] = uint16(r.ttlOff)
		e.ttl[i] = t
	}
	return e, cacheable, true
}

// validName returns the offset just past the name at off, following
// compression pointers to check the whole name: each must point back into
// the message past its header, to a name that lies wholly before the
// pointer (the earlier occurrence it stands for), and the name must end
// within 255 bytes.
func validName(msg []byte, off int) (int, bool) {
	end, length, limit := -1, 0, len(msg)
	for {
		if off >= limit {
			return 0, false
		}
		c := int(msg[off])
		switch {
		case c == 0:
			if end < 0 {
				end = off + 1
			}
			return end, length+1 <= 255
		case c&0xC0 == 0xC0:
			if off+1 >= limit {
				return 0, false
			}
			t := (c&0x3F)<<8 | int(msg[off+1])
			if t < 12 || t >= off {
				return 0, false
			}
			if end < 0 {
				end = off + 2
			}
			// Each jump lowers the limit, so pointers cannot loop.
			off, limit = t, off
		case c&0xC0 != 0:
			return 0, false
		default:
			if length += 1 + c; length > 254 || off+1+c >= limit {
				return 0, false
			}
			off += 1 + c
		}
	}
}

// validRdata checks the data of the record types the fast path takes; any
// other type sends the answer the general way.
func validRdata(msg []byte, r wireRR) bool {
	n := r.rdEnd - r.rdStart
	nameFills := func(off int) bool {
		end, ok := validName(msg, off)
		return ok && end == r.rdEnd
	}
	switch r.typ {
	case mdns.TypeA:
		return n == 4
	case mdns.TypeAAAA:
		return n == 16
	case mdns.TypeCNAME, mdns.TypeNS, mdns.TypePTR:
		return n > 0 && nameFills(r.rdStart)
	case mdns.TypeMX:
		return n > 2 && nameFills(r.rdStart+2)
	case mdns.TypeSRV:
		return n > 6 && nameFills(r.rdStart+6)
	case mdns.TypeSOA:
		if n < 22 {
			return false
		}
		end, ok := validName(msg, r.rdStart)
		if !ok || end > r.rdEnd {
			return false
		}
		end, ok = validName(msg, end)
		return ok && end+20 == r.rdEnd
	case mdns.TypeTXT:
		if n == 0 {
			return false
		}
		off := r.rdStart
		for off < r.rdEnd {
			off += 1 + int(msg[off])
		}
		return off == r.rdEnd
	}
	return false
}
