#!/usr/bin/env bash
# Runs the Node.js suites: tests/integration (raw WebSocket tests) and
# tests/compat (the official npm clients) against a real server process.
#
#   tests/run-node-tests.sh                 # everything, against ag-worker
#   AG_TARGET=reference tests/run-node-tests.sh   # against socketcluster-server 20
#   tests/run-node-tests.sh tests/integration/http.test.mjs   # a subset
#
# Environment:
#   AG_TARGET        worker (default) or reference
#   AG_WORKER_BIN    the ag-worker binary (default: build/worker/ag-worker)
#   AG_TEST_VERBOSE  1: copy the servers' stderr to ours
#   NODE_TEST_ARGS   extra options for `node --test` (e.g. --test-reporter=spec)
#
# Installs tests/compat/node_modules with `npm ci` when it is missing or
# package-lock.json changed since the last install. Exits non-zero when a
# test fails.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compat="$repo/tests/compat"
cd "$repo"

lock_sum="$(sha256sum "$compat/package-lock.json" | cut -d' ' -f1)"
stamp="$compat/node_modules/.agcluster-lock.sha256"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" ]]; then
	echo "run-node-tests: npm ci in tests/compat" >&2
	(cd "$compat" && npm ci --no-audit --no-fund --loglevel=error)
	echo "$lock_sum" > "$stamp"
fi

target="${AG_TARGET:-worker}"
if [[ "$target" != reference ]]; then
	bin="${AG_WORKER_BIN:-$repo/build/worker/ag-worker}"
	if [[ ! -x "$bin" ]]; then
		echo "run-node-tests: ag-worker not found at $bin (build it, set AG_WORKER_BIN, or use AG_TARGET=reference)" >&2
		exit 1
	fi
	echo "run-node-tests: target ag-worker ($bin)" >&2
else
	echo "run-node-tests: target reference (socketcluster-server 20 via tests/compat/reference-server.mjs)" >&2
fi

if [[ $# -eq 0 ]]; then
	set -- tests/integration/ tests/compat/
fi

# One file at a time: each starts its own servers; tests inside a file run
# in sequence. A hung test fails after 60 s instead of blocking the run.
# shellcheck disable=SC2086
exec node --test --test-concurrency=1 --test-timeout=60000 ${NODE_TEST_ARGS:-} "$@"
