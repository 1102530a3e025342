#!/usr/bin/env bash
# DHCPv4 side by side: ip6m and Debian's Kea 2.2 (kea-dhcp4, memfile,
# persist true, a reservation per modem) answer the same relayed DORA load
# from cmd/dhcpload, in a network namespace this script makes (so the relay
# address is on its own loopback and nothing leaves it), in the same run, on
# the same box, with fresh leases for every run. Prints every run, then the
# medians of exchanges/s and of the server's CPU time per exchange.
#
#   .ci/bench/dhcp4_kea.sh [MODEMS] [RUNS] [N]
#
# MODEMS (default 10000) demo modems (ip6m's demo inventory: the enabled
# ones are the population), RUNS (default 3) runs per server, N (default
# 50000) exchanges per run, WINDOW= (default 256) exchanges in flight.
# ip6m commits every lease (SQLite WAL, synchronous=FULL: fsync'd, group
# commit) before its ACK leaves; Kea's memfile appends without an fsync.
#
# ip6m runs at the default log level, so it writes its LEASE LOG line per
# grant as in production.
#
# Measured 2026-12-05 on the 2-core test box, quiet (load average 0.01
# before the run), 9,720 enabled demo modems, 50,000 relayed DORA per run,
# window 256, medians of 3 runs:
#   ip6m 21,027 exchanges/s, 0 drops, 61.0 µs server CPU per exchange
#   Kea  9,519 exchanges/s, 0.65 % drops, 75.2 µs
# (2.2x the rate; 0.81x the CPU per exchange; dhcpload itself keeps up).
# Session 3 (handlers on reused goroutines, GOGC 200): ip6m 22,444/s at
# 53.4 µs, Kea 9,242/s at 86.9 µs (2.43x, 0.61x the CPU). With the lease
# journal and multi-row INSERTs: ip6m 22,444/s at 55.0 µs, Kea 11,475/s at
# 71.3 µs (1.96x, 0.77x the CPU; Kea's runs 8,460 to 11,602/s). Final code
# (history MAC index partial): ip6m 20,833/s at 55.4 µs, Kea 9,509/s at
# 78.3 µs (2.19x, 0.71x; Kea's runs 8,754 to 11,749/s).
# Session 4 (fdatasync'd journal, renewals written to the lease alone, a
# quarter second between the applier's transactions; the server's CPU read
# once it settles after the run): ip6m 22,729/s at 53.6 µs, Kea 10,288/s at
# 77.7 µs (2.21x, 0.69x the CPU; Kea's runs 9,504 to 11,881/s). With GOGC
# 400: ip6m 24,319/s at 48.8 µs, Kea 10,841/s at 73.6 µs (2.24x, 0.66x).
# With sessions held by their leases (0013): ip6m 23,989/s at 47.8 µs, Kea
# 9,502/s at 80.3 µs (2.52x, 0.60x).
# Session 5 (the reader answers every request, the lease committer sends an
# ACK right after its sync, which keeps its P): ip6m 26,356/s at 42.0 µs,
# Kea 9,418/s at 85.3 µs (2.80x, 0.49x the CPU).
#
# Needs root (ip netns), kea-dhcp4 (apt-get install kea-dhcp4-server) and jq.
# Every process started here is stopped by its pid; every loop is bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."

modems=${1:-10000}
runs=${2:-3}
n=${3:-50000}
window=${WINDOW:-256}
ns=ip6m-bench4-$$

command -v kea-dhcp4 >/dev/null || { echo "kea-dhcp4 not installed (apt-get install kea-dhcp4-server)"; exit 1; }
command -v jq >/dev/null || { echo "jq not installed"; exit 1; }

work=$(mktemp -d /tmp/ip6m-bench4.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/ip6m" .
go build -o "$work/dhcpload" ./cmd/dhcpload
ip netns add "$ns"
# (Backgrounded processes are started with ip netns exec itself, which
# execs them, so $! is their pid.)
inns() { ip netns exec "$ns" "$@"; }
inns ip link set lo up
inns ip addr add 10.10.0.1/32 dev lo

run_ip6m() {
	rm -rf "$work/data"
	"$work/ip6m" demo --data "$work/data" --modems "$modems" >/dev/null
	ip netns exec "$ns" "$work/ip6m" serve --data "$work/data" --http "" --dhcp4 127.0.0.1:10067 --dhcp-relay-port 10067 \
		--dhcp6 "" --tftp "" --time "" --dns "" --poll=false >"$work/ip6m.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	sleep 2
	inns "$work/dhcpload" --db "$work/data" --server 127.0.0.1:10067 --giaddr 10.10.0.1 --relay-port 10067 \
		--server-pid "$pid" -n "$n" --duration 60s --window "$window" --json
	kill -INT "$pid"; wait "$pid" || true
}

run_kea() {
	rm -rf "$work/kea"; mkdir -p "$work/kea"
	"$work/dhcpload" --db "$work/data" --giaddr 10.10.0.1 --kea-config "$work/kea/kea-dhcp4.json" --kea-reserve \
		--kea-interface lo/127.0.0.1 --kea-leases "$work/kea/leases4.csv" >/dev/null
	ip netns exec "$ns" env KEA_PIDFILE_DIR="$work/kea" KEA_LOCKFILE_DIR="$work/kea" kea-dhcp4 -c "$work/kea/kea-dhcp4.json" >"$work/kea/kea.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	sleep 2
	inns "$work/dhcpload" --db "$work/data" --server 127.0.0.1:67 --giaddr 10.10.0.1 --relay-port 67 \
		--server-pid "$pid" -n "$n" --duration 60s --window "$window" --json
	kill "$pid"; wait "$pid" || true
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

: >"$work/ip6m.jsonl"; : >"$work/kea.jsonl"
for i in $(seq "$runs"); do
	run_ip6m | tee -a "$work/ip6m.jsonl" | jq -c '{server: "ip6m", rate: .exchanges_per_s, cpu_us: .server_cpu.us_per_exchange, drops: .drop_percent}'
	run_kea | tee -a "$work/kea.jsonl" | jq -c '{server: "kea", rate: .exchanges_per_s, cpu_us: .server_cpu.us_per_exchange, drops: .drop_percent}'
done
for s in ip6m kea; do
	rate=$(jq '.exchanges_per_s' "$work/$s.jsonl" | median)
	cpu=$(jq '.server_cpu.us_per_exchange' "$work/$s.jsonl" | median)
	printf '%-5s median %8.0f exchanges/s  %6.1f µs server CPU per exchange\n' "$s" "$rate" "$cpu"
done
