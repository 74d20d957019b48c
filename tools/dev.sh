#!/usr/bin/env bash
# The two commands of the README.
#
#   tools/dev.sh run    install what is missing, build, start a cluster on the
#                       embedded defaults (agcluster: one broker, one worker
#                       per core, port 8000, path /socketcluster/)
#   tools/dev.sh test   install what is missing, start a redis-server of its
#                       own (AG_REDIS_URL), then build and test twice: a
#                       normal build with warnings as errors, and an
#                       AddressSanitizer+UndefinedBehaviorSanitizer build
#
# Both work on a fresh Debian 12 machine, as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

debian_packages=(
	build-essential pkg-config meson ninja-build cmake clang-format
	libevent-dev libnng-dev libmsgpack-dev libssl-dev libhiredis-dev
	check libjsmn-dev clang-14 libclang-rt-14-dev redis-server gdb
)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_debian() {
	local missing=() p
	for p in "${debian_packages[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	# Node.js may come from elsewhere (NodeSource); Debian's is enough.
	command -v node >/dev/null 2>&1 || missing+=(nodejs)
	command -v npm >/dev/null 2>&1 || missing+=(npm)
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "== installing: ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The same stamp as tests/run-node-tests.sh: npm ci only when the lock file
# changed since the last install.
install_npm() {
	local dir=tests/compat sum stamp=tests/compat/node_modules/.agcluster-lock.sha256
	sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
		return 0
	fi
	echo "== npm ci in $dir"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
	echo "$sum" >"$stamp"
}

# A redis-server of the test run's own, on the first free port from
# AG_REDIS_PORT (6399): loopback only, nothing saved to disk, stopped when
# the run ends. Tests find it in AG_REDIS_URL. A Redis that does not answer
# PING fails the run.
redis_dir=
start_redis() {
	local port=${AG_REDIS_PORT:-6399} last pid
	last=$((port + 20))
	while [ "$port" -le "$last" ] && redis-cli -p "$port" ping >/dev/null 2>&1; do
		port=$((port + 1))
	done
	redis_dir=$(mktemp -d)
	trap stop_redis EXIT
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$redis_dir" --daemonize yes --pidfile "$redis_dir/redis.pid" \
		--logfile "$redis_dir/redis.log" || true
	for _ in $(seq 1 50); do
		[ -s "$redis_dir/redis.pid" ] && break
		sleep 0.1
	done
	pid=$(cat "$redis_dir/redis.pid" 2>/dev/null || true)
	# Ours answers, not another one that took the port meanwhile.
	if [ -z "$pid" ] || ! redis-cli -p "$port" info server 2>/dev/null |
		grep -q "^process_id:$pid"; then
		echo "== redis-server did not start on port $port:"
		tail -n 20 "$redis_dir/redis.log" 2>/dev/null || true
		failed=$((failed + 1))
		return 0
	fi
	export AG_REDIS_URL="redis://127.0.0.1:$port"
	echo "== redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$port (pid $pid)"
}

stop_redis() {
	if [ -n "$redis_dir" ] && [ -s "$redis_dir/redis.pid" ]; then
		kill "$(cat "$redis_dir/redis.pid")" 2>/dev/null || true
	fi
	[ -n "$redis_dir" ] && rm -rf "$redis_dir"
	redis_dir=
}

# build DIR [meson options...]
build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null
	else
		meson configure "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}

passed=0
failed=0

# count LOG PASS-PATTERN FAIL-PATTERN: adds a runner's closing counts.
count() {
	local p f
	p=$(sed -n "s/$2/\\1/p" "$1" | tail -n 1)
	f=$(sed -n "s/$3/\\1/p" "$1" | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}

check_format() {
	local bad
	bad=$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror 2>&1 | grep -c 'error:' || true)
	if [ "$bad" -ne 0 ]; then
		echo "== clang-format: $bad formatting differences (run clang-format -i)"
		failed=$((failed + 1))
	else
		echo "== clang-format: clean"
	fi
}

# runner LOG COMMAND...: runs a test runner into LOG; a runner that fails
# without reporting a failed test still counts as one failure.
runner() {
	local log=$1 rc=0
	shift
	"$@" >"$log" 2>&1 || rc=$?
	echo "$rc" >"$log.rc"
}

settle() {
	local log=$1 before=$2 rc
	rc=$(cat "$log.rc")
	if [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ]; then
		echo "== runner exited with status $rc; its output:"
		tail -n 50 "$log"
		failed=$((failed + 1))
	fi
	rm -f "$log" "$log.rc"
}

# suite NAME BUILD-DIR [meson options...]
suite() {
	local name=$1 dir=$2 log before
	shift 2
	echo "== [$name] build ($dir)"
	build "$dir" -Dwerror=true "$@"
	log=$(mktemp)
	echo "== [$name] unit tests"
	before=$failed
	runner "$log" meson test -C "$dir" --print-errorlogs
	grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout):' "$log" || true
	# A failing test's own output (--print-errorlogs), for the CI log.
	{ sed -n '/^>>> /,/^Summary of Failures:/p' "$log" |
		grep -v '^Summary of Failures:' | head -n 200; } || true
	count "$log" '^Ok: *\([0-9]*\).*' '^Fail: *\([0-9]*\).*'
	count "$log" '^NONE\(x\)$' '^Timeout: *\([0-9]*\).*'
	settle "$log" "$before"
	echo "== [$name] integration and compatibility tests"
	before=$failed
	runner "$log" env AG_WORKER_BIN="$top/$dir/worker/ag-worker" \
		AG_BROKER_BIN="$top/$dir/broker/ag-broker" \
		AG_CLUSTER_BIN="$top/$dir/tools/agcluster" \
		AG_AGCTL_BIN="$top/$dir/tools/agctl" \
		AG_AGBENCH_BIN="$top/$dir/tools/agbench" \
		tests/run-node-tests.sh
	grep -E '^(not ok|# (tests|pass|fail|skipped))' "$log" || true
	count "$log" '^# pass \([0-9]*\)$' '^# fail \([0-9]*\)$'
	if grep -q '^not ok' "$log"; then
		# The failing subtests (indented, before their suite) and the
		# suites, each with its error.
		sed -n '/^ *not ok/,/^ *\.\.\.$/p' "$log" | head -n 200 || true
	fi
	settle "$log" "$before"
}

# Short, bounded libFuzzer runs of every parser, from the committed seeds.
fuzz() {
	local t log corpus
	local targets="ws http scp envelope token"
	echo "== [fuzz] build (build-fuzz, clang)"
	# The libraries are instrumented for coverage too (fuzzer-no-link):
	# without it libFuzzer sees only the target file and learns nothing.
	if [ ! -f build-fuzz/build.ninja ]; then
		CC=clang-14 meson setup build-fuzz -Dtests=false -Dfuzz=true \
			-Db_sanitize=address,undefined -Db_lundef=false \
			-Dc_args=-fsanitize=fuzzer-no-link >/dev/null
	fi
	# shellcheck disable=SC2046,SC2086
	ninja -C build-fuzz $(printf 'tests/fuzz/fuzz_%s ' $targets) >/dev/null
	for t in $targets; do
		corpus=$(mktemp -d)
		cp tests/fuzz/seeds/"$t"/* "$corpus"/
		log=$(mktemp)
		if build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="${AG_FUZZ_SECONDS:-20}" \
			-max_len=4096 -timeout=10 -print_final_stats=0 "$corpus" >"$log" 2>&1; then
			echo "== [fuzz] fuzz_$t: $(grep -E '^Done' "$log" | tail -n 1)"
			passed=$((passed + 1))
		else
			echo "== [fuzz] fuzz_$t FAILED:"
			tail -n 60 "$log"
			failed=$((failed + 1))
		fi
		rm -rf "$corpus" "$log"
	done
}

case "${1:-}" in
run)
	install_debian
	install_npm
	build build -Dbuildtype=release
	echo "== starting agcluster (brokers and workers on this host)"
	exec build/tools/agcluster "${@:2}"
	;;
test)
	# nng 1.5.2 leaks cancelled sends (upstream #1713): see tests/lsan.supp.
	export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
	install_debian
	install_npm
	start_redis
	check_format
	suite normal build
	suite sanitize build-sanitize -Db_sanitize=address,undefined -Db_lundef=false
	fuzz
	echo "tests: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	;;
*)
	echo "usage: tools/dev.sh run|test" >&2
	exit 2
	;;
esac
