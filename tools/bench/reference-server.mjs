#!/usr/bin/env node
// The reference server for benchmarks: socketcluster-server 20, bare (no
// middleware, no procedures), as installed for the compatibility suite in
// tests/compat/node_modules (`cd tests/compat && npm ci`).
//
//   node tools/bench/reference-server.mjs --port=8000 [--auth-key=SECRET]
//        [--auth-key-object] [--ping-interval=MS] [--ping-timeout=MS]
//        [--socket-channel-limit=N] [--backlog=N]
//
// --auth-key gives the HS256 secret that tokens are verified with (default:
// a random key, as the reference does, so no token verifies).
// --auth-key-object hands that secret to the server as a Node KeyObject
// (crypto.createSecretKey) instead of a string: jsonwebtoken 9 then skips
// converting the string on every verification (it first tries it as a PEM
// public key, which throws), which is the faster of the two set-ups.
//
// It prints "listening on PORT" on stderr when it accepts connections, and
// exits 0 on SIGTERM or SIGINT.

import { createSecretKey } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../tests/compat/package.json', import.meta.url));
const socketClusterServer = require('socketcluster-server');

function parseFlags(argv) {
	const flags = {};
	for (const arg of argv) {
		const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
		if (!m) {
			process.stderr.write(`reference-server: bad argument ${JSON.stringify(arg)}\n`);
			process.exit(2);
		}
		flags[m[1]] = m[2] ?? true;
	}
	return flags;
}

const KNOWN = ['port', 'host', 'auth-key', 'auth-key-object', 'ping-interval', 'ping-timeout',
	'socket-channel-limit', 'backlog'];
const flags = parseFlags(process.argv.slice(2));
for (const name of Object.keys(flags)) {
	if (!KNOWN.includes(name)) {
		process.stderr.write(`reference-server: unknown flag --${name} (known: ${KNOWN.join(', ')})\n`);
		process.exit(2);
	}
}

const options = {};
if (typeof flags['auth-key'] === 'string') {
	options.authKey = flags['auth-key-object']
		? createSecretKey(Buffer.from(flags['auth-key']))
		: flags['auth-key'];
}
if (flags['ping-interval']) {
	options.pingInterval = Number(flags['ping-interval']);
}
if (flags['ping-timeout']) {
	options.pingTimeout = Number(flags['ping-timeout']);
}
if (flags['socket-channel-limit']) {
	options.socketChannelLimit = Number(flags['socket-channel-limit']);
}

const httpServer = http.createServer((req, res) => {
	res.writeHead(req.url === '/health-check' ? 200 : 501);
	res.end();
});
const agServer = socketClusterServer.attach(httpServer, options);

// Per-socket errors (a client reset, say) are expected under load; drain
// the streams so that they do not pile up.
(async () => {
	for await (const _ of agServer.listener('error')) { /* ignored */ }
})();
(async () => {
	for await (const _ of agServer.listener('warning')) { /* ignored */ }
})();

httpServer.listen({
	port: Number(flags.port ?? 8000),
	host: typeof flags.host === 'string' ? flags.host : undefined,
	backlog: Number(flags.backlog ?? 1024),
}, () => {
	process.stderr.write(`reference-server: listening on ${httpServer.address().port}` +
		` (authKey ${options.authKey === undefined ? 'random' : flags['auth-key-object'] ? 'KeyObject' : 'string'})\n`);
});

function stop() {
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
