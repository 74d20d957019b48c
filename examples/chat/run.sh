#!/usr/bin/env bash
# The chat example in one command: builds what is missing, creates a demo
# user store, then runs agcluster with login.so in the foreground (Ctrl-C
# stops it). Environment: PORT (8000), CHAT_AUTH_KEY (else a key generated
# once into examples/chat/.auth_key), CHAT_USERS (examples/chat/users.txt).
# To use programs built elsewhere (the tests do): AGCLUSTER_BIN (else
# build/tools/agcluster, built if missing; it finds ag-worker and ag-broker
# next to itself or through AG_WORKER_BIN and AG_BROKER_BIN), CHAT_PLUGIN
# (else examples/chat/login.so, built if missing), CHAT_SKIP_NPM=1 (no npm
# ci: the clients' packages come from elsewhere).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

agcluster=${AGCLUSTER_BIN:-$top/build/tools/agcluster}
if [ -n "${AGCLUSTER_BIN:-}" ]; then
	[ -x "$agcluster" ] || { echo "run.sh: AGCLUSTER_BIN=$agcluster is not executable" >&2; exit 1; }
elif [ ! -x "$agcluster" ] || [ ! -x "$top/build/worker/ag-worker" ]; then
	echo "== building agcluster"
	[ -d "$top/build" ] || (cd "$top" && meson setup build)
	ninja -C "$top/build"
fi

plugin=${CHAT_PLUGIN:-$here/login.so}
if [ -n "${CHAT_PLUGIN:-}" ]; then
	[ -f "$plugin" ] || { echo "run.sh: CHAT_PLUGIN=$plugin does not exist" >&2; exit 1; }
elif [ ! -f "$plugin" ] || [ "$here/login.c" -nt "$plugin" ]; then
	echo "== building login.so"
	cc -shared -fPIC -O2 -Wall -Wextra -D_GNU_SOURCE -I"$top/worker" \
		-o "$plugin" "$here/login.c" -lcrypto
fi

if [ "${CHAT_SKIP_NPM:-}" != 1 ] && [ ! -d "$here/node_modules/socketcluster-client" ]; then
	echo "== npm ci"
	(cd "$here" && npm ci --no-audit --no-fund)
fi

export CHAT_USERS=${CHAT_USERS:-$here/users.txt}
if [ ! -f "$CHAT_USERS" ]; then
	echo "== creating demo users in $CHAT_USERS (alice/alice-pw, bob/bob-pw)"
	node "$here/adduser.mjs" alice alice-pw room:general
	node "$here/adduser.mjs" bob bob-pw room:general,room:bob
fi

if [ -z "${CHAT_AUTH_KEY:-}" ]; then
	if [ ! -s "$here/.auth_key" ]; then
		(umask 077 && openssl rand -hex 32 >"$here/.auth_key")
	fi
	CHAT_AUTH_KEY=$(cat "$here/.auth_key")
fi
export CHAT_AUTH_KEY

# The key goes in AG_AUTH_KEY (the auth_key option), not in --auth-key, so
# that it does not show in ps. exec: agcluster gets Ctrl-C and SIGTERM
# itself and drains its children in order. Extra arguments reach agcluster.
AG_AUTH_KEY=$CHAT_AUTH_KEY exec "$agcluster" \
	--plugin="$plugin" \
	--publish-channels-claim=channels \
	--subscribe-channels-claim=channels \
	--port="${PORT:-8000}" \
	"$@"
