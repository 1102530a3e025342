package dns

import (
	"errors"

	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// wireAnswers are upstream answers of the kinds the relay meets, packed as
// an upstream would: compressed, with an OPT record, mixed letter case.
func wireAnswers(t testing.TB) map[string][]byte {
	rr := func(s string) mdns.RR {
		r, err := mdns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	soa := "bench.test. 3600 IN SOA ns1.bench.test. admin.bench.test. 1 3600 600 86400 300"
	out := map[string][]byte{}
	add := func(name string, compress bool, rcode int, q string, qtype uint16, edns bool, secs ...[]string) {
		m := new(mdns.Msg)
		m.SetQuestion(q, qtype)
		m.Id = 0x4242
		m.Response, m.RecursionAvailable, m.Rcode, m.Compress = true, true, rcode, compress
		for i, sec := range secs {
			for _, s := range sec {
				switch i {
				case 0:
					m.Answer = append(m.Answer, rr(s))
				case 1:
					m.Ns = append(m.Ns, rr(s))
				default:
					m.Extra = append(m.Extra, rr(s))
				}
			}
		}
		if edns {
			m.SetEdns0(1232, false)
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	add("a", true, mdns.RcodeSuccess, "h1.BeNcH.test.", mdns.TypeA, true,
		[]string{"h1.bench.test. 3600 IN A 10.0.0.1"},
		[]string{"bench.test. 3600 IN NS ns1.bench.test."},
		[]string{"ns1.bench.test. 3600 IN A 127.0.0.1"})
	add("a-uncompressed", false, mdns.RcodeSuccess, "h1.bench.test.", mdns.TypeA, false,
		[]string{"h1.bench.test. 30 IN A 10.0.0.1", "h1.bench.test. 20 IN A 10.0.0.2"})
	add("aaaa", true, mdns.RcodeSuccess, "x.test.", mdns.TypeAAAA, true,
		[]string{"x.test. 300 IN AAAA 2001:db8::1"})
	add("cname", true, mdns.RcodeSuccess, "www.Example.com.", mdns.TypeA, true,
		[]string{"www.example.com. 600 IN CNAME web.example.com.", "web.example.com. 60 IN A 192.0.2.7"})
	add("mx-srv-txt", true, mdns.RcodeSuccess, "m.test.", mdns.TypeMX, true,
		[]string{"m.test. 100 IN MX 10 mail.m.test.", `m.test. 100 IN TXT "v=spf1 -all" "two"`, "_sip._udp.m.test. 100 IN SRV 1 2 5060 sip.m.test."})
	add("ptr", true, mdns.RcodeSuccess, "1.2.0.192.in-addr.arpa.", mdns.TypePTR, true,
		[]string{"1.2.0.192.in-addr.arpa. 86400 IN PTR host.example.com."})
	add("nxdomain", true, mdns.RcodeNameError, "nx.bench.test.", mdns.TypeA, true, nil, []string{soa})
	add("nodata", true, mdns.RcodeSuccess, "h1.bench.test.", mdns.TypeAAAA, true, nil, []string{soa})
	add("nodata-no-soa", true, mdns.RcodeSuccess, "h1.bench.test.", mdns.TypeAAAA, false)
	add("servfail", true, mdns.RcodeServerFailure, "h1.bench.test.", mdns.TypeA, true)
	add("long-ttl", true, mdns.RcodeSuccess, "l.test.", mdns.TypeA, false,
		[]string{"l.test. 999999 IN A 10.0.0.1"})
	add("zero-ttl", true, mdns.RcodeSuccess, "z.test.", mdns.TypeA, false,
		[]string{"z.test. 0 IN A 10.0.0.1"})
	add("other-type", true, mdns.RcodeSuccess, "c.test.", mdns.TypeCAA, true,
		[]string{`c.test. 60 IN CAA 0 issue "ca.example.net"`})
	// An OPT record that is not last, and one with an extended rcode: the
	// general path's.
	m := new(mdns.Msg)
	m.SetQuestion("o.test.", mdns.TypeA)
	m.Response = true
	m.SetEdns0(1232, false)
	m.Extra = append(m.Extra, rr("ns.o.test. 60 IN A 10.0.0.9"))
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out["opt-not-last"] = b
	m = new(mdns.Msg)
	m.SetQuestion("o.test.", mdns.TypeA)
	m.Response = true
	m.SetEdns0(1232, false)
	m.Rcode = mdns.RcodeBadVers
	if b, err = m.Pack(); err != nil {
		t.Fatal(err)
	}
	out["badvers"] = b
	return out
}

// compareEntries checks that the fast path's entry for raw is the one the
// general path makes: the same rcode, lifetime, cacheability and records,
// TTLs included (owner names compared without regard to case, as the
// general path's compression may lower them).
func compareEntries(t *testing.T, raw []byte) {
	t.Helper()
	now := time.Unix(1_700_000_000, 0)
	p := ttlPolicy{min: 5, max: DefaultMaxTTL, maxNegative: DefaultMaxNegativeTTL, stale: time.Hour}
	if len(raw) < 12 || nameLen(raw[12:]) < 0 {
		return
	}
	var key cacheKey
	var parsed mdns.Msg
	if err := parsed.Unpack(raw); err == nil && len(parsed.Question) == 1 {
		q := parsed.Question[0]
		key = cacheKey{mdns.CanonicalName(q.Name), q.Qtype, q.Qclass}
	}
	fast, fastOK, ok := newEntryWire(key, raw, now, p)
	if !ok {
		return
	}
	if key.name == "" {
		t.Fatalf("fast path took an answer the general path cannot read: %x", raw)
	}
	slow, slowOK, err := newEntry(key, &parsed, now, p)
	if err != nil {
		t.Fatalf("general path: %v (fast path took it)", err)
	}
	if fast.rcode != slow.rcode || fastOK != slowOK || fast.lifetime != slow.lifetime ||
		!fast.expires.Equal(slow.expires) || !fast.staleUntil.Equal(slow.staleUntil) {
		t.Fatalf("fast rcode %d cacheable %v life %d, general %d %v %d", fast.rcode, fastOK, fast.lifetime,
			slow.rcode, slowOK, slow.lifetime)
	}
	if len(fast.ttl) != len(slow.ttl) || len(fast.ttlOff) != len(fast.ttl) {
		t.Fatalf("fast ttls %v at %v, general %v", fast.ttl, fast.ttlOff, slow.ttl)
	}
	for i := range fast.ttl {
		if fast.ttl[i] != slow.ttl[i] {
			t.Fatalf("fast ttls %v, general %v", fast.ttl, slow.ttl)
		}
	}
	if got, err := ttlOffsets(fast.wire); err != nil || len(got) != len(fast.ttlOff) {
		t.Fatalf("fast wire's TTL offsets: %v %v, kept %v", got, err, fast.ttlOff)
	}
	var fm, sm mdns.Msg
	if err := fm.Unpack(fast.wire); err != nil {
		t.Fatalf("fast wire does not unpack: %v", err)
	}
	if err := sm.Unpack(slow.wire); err != nil {
		t.Fatal(err)
	}
	if fm.Question[0] != sm.Question[0] {
		t.Fatalf("fast question %v, general %v", fm.Question[0], sm.Question[0])
	}
	if fm.Id != 0 || !fm.Response || !fm.RecursionAvailable || fm.Rcode != sm.Rcode || fm.IsEdns0() != nil {
		t.Fatalf("fast header: %v", fm.MsgHdr)
	}
	for i, pair := range [][2][]mdns.RR{{fm.Answer, sm.Answer}, {fm.Ns, sm.Ns}, {fm.Extra, sm.Extra}} {
		if len(pair[0]) != len(pair[1]) {
			t.Fatalf("section %d: fast %v, general %v", i, pair[0], pair[1])
		}
		for j := range pair[0] {
			if a, b := pair[0][j].String(), pair[1][j].String(); !strings.EqualFold(a, b) {
				t.Fatalf("section %d record %d: fast %q, general %q", i, j, a, b)
			}
		}
	}
}

// TestWireEntryMatchesGeneralPath: for every kind of answer the fast path
// takes, its entry is the general path's; the others it leaves alone.
func TestWireEntryMatchesGeneralPath(t *testing.T) {
	fastOnes := map[string]bool{}
	for name, raw := range wireAnswers(t) {
		t.Run(name, func(t *testing.T) {
			compareEntries(t, raw)
			_, _, ok := newEntryWire(cacheKey{name: "x."}, raw, time.Now(), ttlPolicy{})
			fastOnes[name] = ok
		})
	}
	for _, name := range []string{"a", "a-uncompressed", "aaaa", "cname", "mx-srv-txt", "ptr", "nxdomain", "nodata", "nodata-no-soa", "servfail", "long-ttl", "zero-ttl"} {
		if !fastOnes[name] {
			t.Errorf("%s: went the general way", name)
		}
	}
	for _, name := range []string{"other-type", "opt-not-last", "badvers"} {
		if fastOnes[name] {
			t.Errorf("%s: taken by the fast path", name)
		}
	}
}

// TestWireEntryRejects: broken answers are never taken by the fast path.
func TestWireEntryRejects(t *testing.T) {
	good := wireAnswers(t)["cname"]
	for name, mutate := range map[string]func([]byte) []byte{
		"trailing byte": func(b []byte) []byte { return append(b, 0) },
		"cut short":     func(b []byte) []byte { return b[:len(b)-3] },
		"forward pointer": func(b []byte) []byte {
			// The last record's owner (before the 11-byte OPT record) is a
			// pointer; make it point past itself.
			p := len(b) - 11 - 16
			if b[p]&0xC0 != 0xC0 {
				t.Fatalf("no pointer at %d: %x", p, b)
			}
			b[p], b[p+1] = 0xC0, byte(p+2)
			return b
		},
		"more records":  func(b []byte) []byte { b[7]++; return b },
		"two questions": func(b []byte) []byte { b[5] = 2; return b },
	} {
		b := mutate(append([]byte(nil), good...))
		if _, _, ok := newEntryWire(cacheKey{name: "www.example.com."}, b, time.Now(), ttlPolicy{}); ok {
			t.Errorf("%s: taken", name)
		}
	}
	// A pointer loop: a name pointing at itself.
	loop := []byte{0, 0, 0x80, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1,
		1, 'b', 0xC0, 19, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1}
	if _, ok := validName(loop, 19); ok {
		t.Error("a name that points at itself is valid")
	}
	if _, _, ok := newEntryWire(cacheKey{name: "a."}, loop, time.Now(), ttlPolicy{}); ok {
		t.Error("an answer with a pointer loop is taken")
	}
}

// TestQuestionMatch: the answer must carry the very question sent; one
// that differs only in letter case is told apart from one for another
// question.
func TestQuestionMatch(t *testing.T) {
	pack := func(name string, qtype uint16, id uint16, resp bool) []byte {
		m := new(mdns.Msg)
		m.SetQuestion(name, qtype)
		m.Id, m.Response = id, resp
		m.SetEdns0(1232, false)
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sent := pack("wWw.ExAmple.com.", mdns.TypeA, 7, false)
	for _, c := range []struct {
		name string
		got  []byte
		want error
	}{
		{"same", pack("wWw.ExAmple.com.", mdns.TypeA, 7, true), nil},
		{"case", pack("www.example.com.", mdns.TypeA, 7, true), errCaseMismatch},
		{"other name", pack("wWw.ExAmple.net.", mdns.TypeA, 7, true), errNotOurs},
		{"other type", pack("wWw.ExAmple.com.", mdns.TypeAAAA, 7, true), errNotOurs},
		{"other id", pack("wWw.ExAmple.com.", mdns.TypeA, 8, true), errNotOurs},
		{"a query", pack("wWw.ExAmple.com.", mdns.TypeA, 7, false), errNotOurs},
		{"label lengths", pack("wWw.ExAmple.c.om.", mdns.TypeA, 7, true), errNotOurs},
		{"short", pack("wWw.ExAmple.com.", mdns.TypeA, 7, true)[:20], errNotOurs},
	} {
		if err := questionMatch(sent, c.got); !errors.Is(err, c.want) && !(err == nil && c.want == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// FuzzWireEntry: whatever an upstream sends, the fast path never panics,
// and what it takes it takes as the general path would.
func FuzzWireEntry(f *testing.F) {
	for _, b := range wireAnswers(f) {
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0x80, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1, 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1})
	f.Fuzz(func(t *testing.T, raw []byte) {
		compareEntries(t, raw)
	})
}
