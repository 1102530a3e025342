#!/usr/bin/env bash
# The DNS relay side by side: ip6m, Debian's pdns-recursor (configured as
# the seed's: allow-from, max-cache-entries=100000, forwarding) and Debian's
# unbound, all forwarding bench.test to the same local authoritative nsd
# (400,000 generated names, response-rate limit off), measured with dnsperf
# in the same run on the same box: a cache-hit workload (1,000 names, warmed)
# and a cache-miss workload (110,000 names each server has never seen, so
# the caches end full: RSS is then taken at 100,000 entries for ip6m and
# pdns-recursor, whose bound that is, and at 111,000 for unbound, whose
# cache is bounded in bytes).
# Nothing leaves the machine: everything listens on 127.0.0.1 with high
# ports, the recursors' root hints point at loopback and pdns-recursor's
# security poll is off. Every process started here is stopped by its pid.
#
#   .ci/bench/dns_compare.sh [SECONDS]      (default 10 per workload)
#
# Measured 2026-12-05 on the 2-core test box (load average 0.4), medians of
# three runs of this script (dnsperf -c 4 -q 500; its own core is the cap on
# the hit workload):
#   ip6m           hits 319,765 q/s  misses 83,675 q/s  RSS 105 MB
#   pdns-recursor  hits 250,067 q/s  misses 29,749 q/s  RSS 129 MB
#   unbound        hits 301,696 q/s  misses 67,868 q/s  RSS  97 MB
# Session 4, one run each: with GOGC 200 ip6m 327,532 / 82,613 q/s, RSS
# 114 MB; with GOGC 400 (the server's default since, for DHCP storms)
# 319,546 / 82,146 q/s, RSS 134 MB (pdns-recursor 246,001 / 30,230 q/s,
# 131 MB; unbound 291,826 / 67,540 q/s, 97 MB in that run).
#
# Needs nsd, pdns-recursor, unbound and dnsperf (apt-get install nsd
# pdns-recursor unbound dnsperf).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
for c in nsd pdns_recursor unbound dnsperf; do
	command -v "$c" >/dev/null || { echo "$c not installed (apt-get install nsd pdns-recursor unbound dnsperf)"; exit 1; }
done
w=$(mktemp -d /tmp/ip6m-dnsbench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$w"
}
trap cleanup EXIT
go build -o "$w/ip6m" .

# The authoritative zone and the query files.
{
	printf '$ORIGIN bench.test.\n$TTL 3600\n@ IN SOA ns1.bench.test. admin.bench.test. 1 3600 600 86400 300\n@ IN NS ns1.bench.test.\nns1 IN A 127.0.0.1\n'
	awk 'BEGIN { for (i = 0; i < 400000; i++) printf "h%d IN A 10.%d.%d.%d\n", i, int(i/65536)%256, int(i/256)%256, i%256 }'
} >"$w/bench.test.zone"
awk 'BEGIN { for (i = 0; i < 1000; i++) printf "h%d.bench.test A\n", i }' >"$w/hit.txt"
for s in 0 1 2; do
	awk -v b=$((1000 + s * 110000)) 'BEGIN { for (i = b; i < b + 110000; i++) printf "h%d.bench.test A\n", i }' >"$w/miss-$s.txt"
done
printf '. 3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A 127.0.0.1\n' >"$w/root.hints"
cat >"$w/nsd.conf" <<CONF
server:
	ip-address: 127.0.0.1@25353
	username: ""
	zonesdir: "$w"
	database: ""
	pidfile: "$w/nsd.pid"
	xfrdfile: "$w/xfrd.state"
	zonelistfile: "$w/zone.list"
	server-count: 1
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
	verbosity: 0
remote-control:
	control-enable: no
zone:
	name: "bench.test"
	zonefile: "bench.test.zone"
CONF
cat >"$w/recursor.conf" <<CONF
local-address=127.0.0.1
local-port=25301
allow-from=127.0.0.0/8
forward-zones=bench.test=127.0.0.1:25353
hint-file=$w/root.hints
security-poll-suffix=
dont-query=
max-cache-entries=100000
threads=2
socket-dir=$w
dnssec=off
quiet=yes
CONF
cat >"$w/unbound.conf" <<CONF
server:
	interface: 127.0.0.1@25302
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	root-hints: "$w/root.hints"
	module-config: "iterator"
	username: ""
	chroot: ""
	directory: "$w"
	pidfile: "$w/unbound.pid"
	num-threads: 2
	use-syslog: no
	logfile: "$w/unbound.log"
	verbosity: 0
	msg-cache-size: 64m
	rrset-cache-size: 128m
	so-rcvbuf: 4m
	# test. is one of unbound's built-in RFC 6761 zones: without this it
	# answers every bench.test name NXDOMAIN itself and never forwards.
	local-zone: "test." nodefault
remote-control:
	control-enable: no
forward-zone:
	name: "bench.test"
	forward-addr: 127.0.0.1@25353
CONF

nsd -c "$w/nsd.conf" -d >"$w/nsd.log" 2>&1 &
pids+=($!)
"$w/ip6m" serve --data "$w/ip6m-data" --http "" --dhcp4 "" --dhcp6 "" --tftp "" --time "" --poll=false \
	--dns 127.0.0.1:25300 --dns-upstream 127.0.0.1:25353 --dns-rate -1 --log-level warn >"$w/ip6m.log" 2>&1 &
ip6m=$!; pids+=("$ip6m")
pdns_recursor --config-dir="$w" --daemon=no >"$w/pdns.log" 2>&1 &
pdns=$!; pids+=("$pdns")
unbound -d -c "$w/unbound.conf" >"$w/unbound.out" 2>&1 &
unb=$!; pids+=("$unb")
sleep 3

perf() { # name port missfile pid
	dnsperf -s 127.0.0.1 -p "$2" -d "$w/hit.txt" -n 1 -c 4 -q 200 >/dev/null 2>&1 # warm the 1,000 names
	local hit miss
	hit=$(dnsperf -s 127.0.0.1 -p "$2" -d "$w/hit.txt" -l "$secs" -c 4 -q 500 2>&1 | awk '/Queries per second/ {print $4}')
	miss=$(dnsperf -s 127.0.0.1 -p "$2" -d "$3" -n 1 -l "$secs" -c 4 -q 500 2>&1 | awk '/Queries per second/ {print $4}')
	if ! dnsperf -s 127.0.0.1 -p "$2" -d "$w/hit.txt" -n 1 -c 1 -q 1 2>&1 | grep -q 'NOERROR 1000 '; then
		echo "$1 does not answer the bench names NOERROR" >&2
	fi
	printf '%-14s cache hit %10.0f q/s   cache miss %10.0f q/s   RSS %s\n' "$1" "$hit" "$miss" "$(awk '/VmRSS/ {print $2 " " $3}' /proc/"$4"/status)"
}
perf ip6m 25300 "$w/miss-0.txt" "$ip6m"
perf pdns-recursor 25301 "$w/miss-1.txt" "$pdns"
perf unbound 25302 "$w/miss-2.txt" "$unb"
