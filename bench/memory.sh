#!/usr/bin/env bash
# Memory probe: VmRSS of an inkan binary 1 s after start, its peak during
# logins, and 3 s after them, sampled from /proc/PID/status.
#
# Usage (from the repository root):
#   bash bench/memory.sh [BINARY ...]
# With no binary it builds ./cmd/inkan. Each binary is run twice, the
# binaries interleaved, so that two builds compare on the same machine.
# Each run: start `inkan serve` on a free loopback port with a temp data
# dir, read VmRSS after 1 s, register one user, run bench/loadgen with 4
# workers for 5 s against POST /user/_authenticate (it samples VmRSS every
# 50 ms), read VmRSS 3 s later, stop the server.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/inkan-memory.XXXXXX")
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cd "$root"
go build -o "$tmp/loadgen" ./bench/loadgen
bins=("$@")
if ((${#bins[@]} == 0)); then
	go build -o "$tmp/inkan" ./cmd/inkan
	bins=("$tmp/inkan")
fi
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
printf '%-40s %8s %8s %8s %9s\n' binary idle peak after logins/s
for round in 1 2; do
	for bin in "${bins[@]}"; do
		port=$((20000 + RANDOM % 40000))
		rm -rf "$tmp/data"
		"$bin" serve --addr "127.0.0.1:$port" --data-dir "$tmp/data" \
			--login-attempts 100000 --login-account-attempts 100000 2>"$tmp/log" &
		pid=$!
		deadline=$((SECONDS + 30))
		until curl -sf "127.0.0.1:$port/healthz" >/dev/null; do
			((SECONDS < deadline)) || { echo "memory.sh: $bin did not start" >&2; cat "$tmp/log" >&2; exit 1; }
			sleep 0.05 # poll interval while the server starts
		done
		sleep 1 # RSS one second after start, as a user sees it
		idle=$(rss "$pid")
		curl -sf -o /dev/null -X POST "127.0.0.1:$port/user" -H 'Content-Type: application/json' \
			-d '{"name":"A","email":"a@example.com","password":"correct horse battery"}'
		res=$("$tmp/loadgen" -url "http://127.0.0.1:$port/user/_authenticate" -method POST \
			-basic 'a@example.com:correct horse battery' -c 4 -d 5s -warmup 0s -pid "$pid")
		sleep 3 # RSS three seconds after the load
		after=$(rss "$pid")
		peak=$(sed -n 's/.*"peak_rss_mib":\([0-9.]*\).*/\1/p' <<<"$res")
		rps=$(sed -n 's/.*"rps":\([0-9.]*\).*/\1/p' <<<"$res")
		printf '%-40s %8s %8s %8s %9s\n' "$(basename "$bin")#$round" "$idle" "$peak" "$after" "$rps"
		kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
	done
done
