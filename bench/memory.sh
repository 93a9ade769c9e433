#!/usr/bin/env bash
# Memory probe: VmRSS of an inkan binary 1 s and 8 s after start, its peak
# during logins and 3 s after them, and its peak during GET /user with fresh
# tokens (verify load) and 3 s after that, sampled from /proc/PID/status.
#
# Usage (from the repository root):
#   bash bench/memory.sh [BINARY ...]
# With no binary it builds ./cmd/inkan twice: as `go build` does (inkan, the
# build that `go run` serves, linked with the C library for the resolver)
# and as the Dockerfile does (inkan-static: CGO_ENABLED=0, -trimpath,
# -ldflags='-s -w'). Each binary is run twice, the binaries interleaved, so
# that two builds compare on the same machine.
# Each run: start `inkan serve` on a free loopback port with a temp data
# dir, read VmRSS after 1 s (idle) and after 8 s (settled: the server has
# released start-up's memory a second time, 5 s after it began serving),
# register one user, run bench/loadgen with 4
# workers for 5 s against POST /user/_authenticate (it samples VmRSS every
# 50 ms), read VmRSS 3 s later; then GET /user with 30,000 distinct tokens
# (RS256-2048, minted by bench/mint with a published key), each sent once by
# 32 workers, so that every request is a full verification and fills the
# cache of verified tokens; read VmRSS 3 s later, stop the server.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/inkan-memory.XXXXXX")
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cd "$root"
go build -o "$tmp/loadgen" ./bench/loadgen
go build -o "$tmp/mint" ./bench/mint
bins=("$@")
if ((${#bins[@]} == 0)); then
	go build -o "$tmp/inkan" ./cmd/inkan
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp/inkan-static" ./cmd/inkan
	bins=("$tmp/inkan" "$tmp/inkan-static")
fi
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
fresh=30000
printf '%-28s %6s %7s %6s %6s %9s %7s %6s %8s\n' binary idle settled login after logins/s verify after verify/s
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
		sleep 7 # and eight seconds after, when start-up's loops have settled
		settled=$(rss "$pid")
		sub=$(curl -sf -X POST "127.0.0.1:$port/user" -H 'Content-Type: application/json' \
			-d '{"name":"A","email":"a@example.com","password":"correct horse battery"}' |
			sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
		res=$("$tmp/loadgen" -url "http://127.0.0.1:$port/user/_authenticate" -method POST \
			-basic 'a@example.com:correct horse battery' -c 4 -d 5s -warmup 0s -pid "$pid")
		sleep 3 # RSS three seconds after the load
		after=$(rss "$pid")
		peak=$(sed -n 's/.*"peak_rss_mib":\([0-9.]*\).*/\1/p' <<<"$res")
		rps=$(sed -n 's/.*"rps":\([0-9.]*\).*/\1/p' <<<"$res")
		# Verify load: a published 2048-bit key, tokens signed by it.
		rm -f "$tmp/key.pem"
		"$bin" keys generate --alg RS256 --bits 2048 --out "$tmp/key.pem" >/dev/null
		kid=$("$bin" keys import --data-dir "$tmp/data" "$tmp/key.pem" 2>/dev/null)
		deadline=$((SECONDS + 30))
		until curl -sf "127.0.0.1:$port/.well-known/jwks.json" | grep -qF -- "$kid"; do
			((SECONDS < deadline)) || { echo "memory.sh: $kid never published" >&2; exit 1; }
			sleep 0.05 # poll interval while the key set reloads
		done
		"$tmp/mint" -key "$tmp/key.pem" -kid "$kid" -iss "http://127.0.0.1:$port" -sub "$sub" \
			-email a@example.com -name A -n "$fresh" >"$tmp/fresh"
		vres=$("$tmp/loadgen" -url "http://127.0.0.1:$port/user" -bearer-file "$tmp/fresh" -c 32 -d 60s \
			-warmup 0s -n "$fresh" -pid "$pid")
		sleep 3 # RSS three seconds after the load
		vafter=$(rss "$pid")
		vpeak=$(sed -n 's/.*"peak_rss_mib":\([0-9.]*\).*/\1/p' <<<"$vres")
		vrps=$(sed -n 's/.*"rps":\([0-9.]*\).*/\1/p' <<<"$vres")
		printf '%-28s %6s %7s %6s %6s %9s %7s %6s %8s\n' "$(basename "$bin")#$round" "$idle" "$settled" "$peak" "$after" "$rps" \
			"$vpeak" "$vafter" "$vrps"
		kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
	done
done
