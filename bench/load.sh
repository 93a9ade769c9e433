#!/usr/bin/env bash
# Load test: inkan against bare net/http baselines, on loopback.
#
# Builds inkan and the bench tools into a temp dir, starts inkan (temp data
# dir, free loopback port) and bench/baseline, runs each scenario with
# bench/loadgen, measures one argon2id hash with bench/hashtime, writes the
# raw JSON lines to bench/results/latest.jsonl and prints the table and the
# target ratios (bench/report). See docs/performance.md.
#
# With --database, the same run then makes a throwaway database in that
# PostgreSQL server (dropped on exit), runs inkan on it for GET /user, login
# and registration, and then runs two inkan replicas on it with the load
# spread over both.
#
# Usage (from anywhere in the repository):
#   bash bench/load.sh [--duration 10s] [--concurrency 32]
#                      [--auth-concurrency 2×hash-concurrency+2] [--warmup 2s]
#                      [--hash-concurrency cores-1]
#                      [--database postgres://postgres@127.0.0.1:5432/postgres]
set -euo pipefail

duration=10s
concurrency=32
auth_concurrency=
warmup=2s
hash_concurrency=
database=

usage() { sed -n '/^# Usage/,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	--duration) duration=${2:?}; shift 2 ;;
	--concurrency) concurrency=${2:?}; shift 2 ;;
	--auth-concurrency) auth_concurrency=${2:?}; shift 2 ;;
	--warmup) warmup=${2:?}; shift 2 ;;
	--hash-concurrency) hash_concurrency=${2:?}; shift 2 ;;
	--database) database=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "load.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done

command -v curl >/dev/null || { echo "load.sh: curl is required" >&2; exit 1; }
if [[ -n $database ]]; then
	command -v psql >/dev/null || { echo "load.sh: psql is required with --database" >&2; exit 1; }
	[[ $database == postgres://* || $database == postgresql://* ]] ||
		{ echo "load.sh: --database wants a postgres:// URL" >&2; exit 2; }
fi
# inkan's own default: one core left for everything that is not hashing.
cores=$(nproc)
hash_concurrency=${hash_concurrency:-$((cores > 1 ? cores - 1 : 1))}
# Enough logins to keep every hash slot busy with more waiting in the queue.
saturate=$((2 * hash_concurrency + 2))
auth_concurrency=${auth_concurrency:-$saturate}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/inkan-load.XXXXXX")
pids=()
pg_db= # the database this run made, dropped on exit
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n $pg_db ]]; then
		psql "$database" -X -q -v ON_ERROR_STOP=1 \
			-c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null ||
			log "could not drop database $pg_db"
	fi
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

# stop PID: stop a process that start started, and forget it.
stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for i in "${!pids[@]}"; do
		[[ ${pids[i]} == "$pid" ]] && unset 'pids[i]'
	done
	pids=("${pids[@]}")
}

# start_inkan NAME [SERVE FLAGS...]: start inkan serve; sets $port and
# $started. Every instance shares one issuer, so that the replicas of one
# database accept each other's tokens. The login and registration budgets
# are counted as always but set to 100000 (the most inkan takes), so that
# they do not run out: the load test logs in and registers from one address
# far more often than a person would.
start_inkan() {
	local name=$1
	shift
	start "$name" /healthz "$tmp/inkan" serve "$@" --log-level warn \
		--issuer http://inkan.bench --hash-concurrency "$hash_concurrency" \
		--signup-attempts 100000 --login-attempts 100000 --login-account-attempts 100000 --addr
}

email=bench@example.com
pass=bench-password-1

# user_token URL: register the bench user on inkan at URL and print an
# access token for it.
user_token() {
	local url=$1 token
	curl -fsS -o /dev/null -X POST "$url/user" -H 'Content-Type: application/json' \
		-d "{\"name\":\"Bench\",\"email\":\"$email\",\"password\":\"$pass\"}"
	token=$(curl -fsS -X POST -u "$email:$pass" "$url/user/_authenticate" |
		sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
	[[ -n $token ]] || { log "no access_token from $url/user/_authenticate"; return 1; }
	echo "$token"
}

start_inkan inkan --data-dir "$tmp/data"
inkan_pid=$started
inkan="http://127.0.0.1:$port"
log "inkan pid $inkan_pid on $inkan"
token=$(user_token "$inkan")

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

# signup NAME EMAIL_PREFIX [LOADGEN FLAGS...]: registrations (POST /user),
# each with a fresh email EMAIL_PREFIX-N@bench.test.
signup() {
	local name=$1 prefix=$2
	shift 2
	scenario "$name" -method POST -header 'Content-Type: application/json' \
		-body "{\"name\":\"Bench\",\"email\":\"$prefix-{{n}}@bench.test\",\"password\":\"bench password 1\"}" \
		-c "$auth_concurrency" -expect 201 "$@"
}

bearer="Authorization: Bearer $token"
scenario "baseline /json" -url "$baseline/json" -c "$concurrency" -pid "$baseline_pid"
scenario "inkan GET /.well-known/jwks.json" -url "$inkan/.well-known/jwks.json" -c "$concurrency" -pid "$inkan_pid"
scenario "baseline /verify" -url "$baseline/verify" -header "$bearer" -c "$concurrency" -pid "$baseline_pid"
scenario "inkan GET /user" -url "$inkan/user" -header "$bearer" -c "$concurrency" -pid "$inkan_pid"
scenario "inkan POST /user/_authenticate" -url "$inkan/user/_authenticate" -method POST \
	-basic "$email:$pass" -c "$auth_concurrency" -expect 200 -pid "$inkan_pid"
signup "inkan POST /user" sqlite -url "$inkan/user" -pid "$inkan_pid"

# GET /user while logins saturate the hash pool: both loads at once, over
# the same warm-up and window.
log "running GET /user while logins saturate the hash pool"
"$tmp/loadgen" -name "inkan POST /user/_authenticate, with GET /user" -d "$duration" -warmup "$warmup" \
	-url "$inkan/user/_authenticate" -method POST -basic "$email:$pass" \
	-c "$((auth_concurrency > saturate ? auth_concurrency : saturate))" -expect 200 >"$tmp/busy-auth.json" &
busy_auth=$!
"$tmp/loadgen" -name "inkan GET /user, with logins" -d "$duration" -warmup "$warmup" \
	-url "$inkan/user" -header "$bearer" -c "$concurrency" -pid "$inkan_pid" >"$tmp/busy-user.json" &
busy_user=$!
wait "$busy_auth"
wait "$busy_user"
cat "$tmp/busy-user.json" "$tmp/busy-auth.json" | tee -a "$out" >&2

stop "$baseline_pid"
stop "$inkan_pid"
log "running hashtime"
"$tmp/hashtime" -pool "$hash_concurrency" | tee -a "$out" >&2

pg_version=
if [[ -n $database ]]; then
	# The run's own database, in the server --database names: same URL with
	# the database path replaced, query parameters kept.
	pg_db="inkan_bench_$$_$RANDOM"
	base=${database%%\?*}
	query=${database#"$base"}
	rest=${base#*://}
	pg_url="${base%%://*}://${rest%%/*}/$pg_db$query"
	psql "$database" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $pg_db" >/dev/null
	pg_version=$(psql "$pg_url" -X -A -t -c 'SHOW server_version')
	log "made database $pg_db (PostgreSQL $pg_version)"

	start_inkan inkan-pg --database "$pg_url"
	pg_pid=$started
	pg="http://127.0.0.1:$port"
	log "inkan on PostgreSQL pid $pg_pid on $pg"
	token=$(user_token "$pg")
	bearer="Authorization: Bearer $token"

	scenario "inkan pg GET /user" -url "$pg/user" -header "$bearer" -c "$concurrency" -pid "$pg_pid"
	scenario "inkan pg POST /user/_authenticate" -url "$pg/user/_authenticate" -method POST \
		-basic "$email:$pass" -c "$auth_concurrency" -expect 200 -pid "$pg_pid"
	signup "inkan pg POST /user" pg -url "$pg/user" -pid "$pg_pid"

	# A second replica on the same database; the first one's token verifies
	# on both (same issuer, keys in the database).
	start_inkan inkan-pg2 --database "$pg_url"
	pg2_pid=$started
	pg2="http://127.0.0.1:$port"
	log "second replica pid $pg2_pid on $pg2"
	scenario "inkan pg 2 replicas GET /user" -url "$pg/user" -url "$pg2/user" -header "$bearer" \
		-c "$concurrency" -pid "$pg_pid" -pid "$pg2_pid"
	signup "inkan pg 2 replicas POST /user" pg2 -url "$pg/user" -url "$pg2/user" -pid "$pg_pid" -pid "$pg2_pid"
fi

echo
echo "nproc $cores, $(go version), duration $duration, warmup $warmup," \
	"concurrency $concurrency (_authenticate and POST /user $auth_concurrency)," \
	"hash-concurrency $hash_concurrency${pg_version:+, PostgreSQL $pg_version}"
echo
"$tmp/report" "$out"
