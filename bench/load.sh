#!/usr/bin/env bash
# Load test: inkan against bare net/http baselines, on loopback.
#
# Builds inkan and the bench tools into a temp dir, starts inkan (temp data
# dir, free loopback port) and bench/baseline, runs each scenario with
# bench/loadgen, measures one argon2id hash with bench/hashtime, writes the
# raw JSON lines to bench/results/latest.jsonl and prints the table and the
# target ratios (bench/report). See docs/performance.md.
#
# Usage (from anywhere in the repository):
#   bash bench/load.sh [--duration 10s] [--concurrency 32]
#                      [--auth-concurrency 4] [--warmup 2s]
set -euo pipefail

duration=10s
concurrency=32
auth_concurrency=4
warmup=2s

usage() { sed -n '/^# Usage/,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	--duration) duration=${2:?}; shift 2 ;;
	--concurrency) concurrency=${2:?}; shift 2 ;;
	--auth-concurrency) auth_concurrency=${2:?}; shift 2 ;;
	--warmup) warmup=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "load.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done

command -v curl >/dev/null || { echo "load.sh: curl is required" >&2; exit 1; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/inkan-load.XXXXXX")
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf 'load.sh: %s\n' "$*" >&2; }

log "building into $tmp"
go build -o "$tmp/inkan" ./cmd/inkan
go build -o "$tmp/baseline" ./bench/baseline
go build -o "$tmp/loadgen" ./bench/loadgen
go build -o "$tmp/hashtime" ./bench/hashtime
go build -o "$tmp/report" ./bench/report

# free_port prints a loopback TCP port that nothing is listening on. Another
# process may take it before we bind; start_* retry with a new one.
free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
}

# wait_ready URL PID: poll URL until it answers 200, for at most 30 s, while
# PID is alive.
wait_ready() {
	local url=$1 pid=$2 deadline=$((SECONDS + 30))
	while ((SECONDS < deadline)); do
		kill -0 "$pid" 2>/dev/null || return 1
		curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
		sleep 0.05 # poll interval, not synchronisation
	done
	log "timed out waiting for $url"
	return 1
}

# start NAME READY_PATH CMD...: start CMD with --addr/-addr appended by the
# caller through $port, retrying on a port clash. Sets $port and $started.
start() {
	local name=$1 ready=$2 try
	shift 2
	for try in 1 2 3 4 5; do
		port=$(free_port)
		"$@" "127.0.0.1:$port" 2>"$tmp/$name.log" &
		started=$!
		pids+=("$started")
		if wait_ready "http://127.0.0.1:$port$ready" "$started"; then
			return 0
		fi
		kill -TERM "$started" 2>/dev/null || true
		wait "$started" 2>/dev/null || true
		log "$name did not start on port $port (try $try):"
		sed 's/^/    /' "$tmp/$name.log" >&2
	done
	return 1
}

start inkan /healthz "$tmp/inkan" serve --data-dir "$tmp/data" --log-level warn --addr
inkan_pid=$started
inkan="http://127.0.0.1:$port"
log "inkan pid $inkan_pid on $inkan"

email=bench@example.com
pass=bench-password-1
curl -fsS -o /dev/null -X POST "$inkan/user" -H 'Content-Type: application/json' \
	-d "{\"name\":\"Bench\",\"email\":\"$email\",\"password\":\"$pass\"}"
token=$(curl -fsS -X POST -u "$email:$pass" "$inkan/user/_authenticate" |
	sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
[[ -n $token ]] || { log "no access_token from /user/_authenticate"; exit 1; }

start baseline /json "$tmp/baseline" -jwks "$inkan/.well-known/jwks.json" -addr
baseline_pid=$started
baseline="http://127.0.0.1:$port"
log "baseline pid $baseline_pid on $baseline"

mkdir -p bench/results
out=bench/results/latest.jsonl
: >"$out"

# scenario NAME [LOADGEN FLAGS...]
scenario() {
	local name=$1
	shift
	log "running $name"
	"$tmp/loadgen" -name "$name" -d "$duration" -warmup "$warmup" "$@" | tee -a "$out" >&2
}

bearer="Authorization: Bearer $token"
scenario "baseline /json" -url "$baseline/json" -c "$concurrency" -pid "$baseline_pid"
scenario "inkan GET /.well-known/jwks.json" -url "$inkan/.well-known/jwks.json" -c "$concurrency" -pid "$inkan_pid"
scenario "baseline /verify" -url "$baseline/verify" -header "$bearer" -c "$concurrency" -pid "$baseline_pid"
scenario "inkan GET /user" -url "$inkan/user" -header "$bearer" -c "$concurrency" -pid "$inkan_pid"
scenario "inkan POST /user/_authenticate" -url "$inkan/user/_authenticate" -method POST \
	-basic "$email:$pass" -c "$auth_concurrency" -expect 200 -pid "$inkan_pid"
log "running hashtime"
"$tmp/hashtime" | tee -a "$out" >&2

echo
echo "nproc $(nproc), $(go version), duration $duration, warmup $warmup," \
	"concurrency $concurrency (_authenticate $auth_concurrency)"
echo
"$tmp/report" "$out"
