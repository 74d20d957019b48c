#!/usr/bin/env node
// The reference server: socketcluster-server 20 (the behaviour agcluster
// reproduces) behind ag-worker's command line, so that the same tests and
// benchmarks can run against either. No middleware, no procedures, no
// receivers: like a bare ag-worker, procedures go unanswered and transmits
// are ignored; tokens are checked against a random authKey (so none is
// valid) unless --auth-key is given.
//
//   node reference-server.mjs --port=8000 --ping-interval=1000 ...
//
// Flags are ag-worker's (`--name=value`, dashes or underscores):
//   host, port, path, ping_interval, ping_timeout, ping_timeout_disabled,
//   handshake_timeout, protocol_version, allow_client_publish,
//   socket_channel_limit (0 = none), max_payload, origins, auth_key,
//   batch_on_handshake, batch_on_handshake_duration, batch_interval,
//   backlog, log_level (error|warn|info|debug).
// Also accepted: `--name value`, `--no-name` for booleans, and K/M/G
// suffixes on sizes (max_payload, socket_output_limit).
// Accepted but without effect here (agcluster-only): max_connections,
// socket_output_limit.
//
// Plain HTTP: GET /health-check answers 200 "OK"; everything else that is
// not a WebSocket upgrade answers 501, like socketcluster-server's listen().
// SIGTERM/SIGINT: closes every client socket (1001) and exits 0.

import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const socketClusterServer = require('socketcluster-server');

const SPEC = {
	host: 'string',
	port: 'int',
	path: 'string',
	ping_interval: 'int',
	ping_timeout: 'int',
	ping_timeout_disabled: 'bool',
	handshake_timeout: 'int',
	protocol_version: 'int',
	allow_client_publish: 'bool',
	socket_channel_limit: 'int',
	max_payload: 'int',
	origins: 'string',
	auth_key: 'string',
	backlog: 'int',
	log_level: 'string',
	batch_on_handshake: 'bool',
	batch_on_handshake_duration: 'int',
	batch_interval: 'int',
	max_connections: 'int',
	socket_output_limit: 'int',
};

// Size flags accept a K/M/G suffix (powers of 1024), like ag-worker's.
const SIZES = new Set(['max_payload', 'socket_output_limit']);

const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 };

function usage(msg) {
	process.stderr.write(`reference-server: ${msg}\nflags: ${Object.keys(SPEC).map((k) => `--${k.replace(/_/g, '-')}=`).join(' ')}\n`);
	process.exit(2);
}

function parseSize(raw) {
	const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(raw ?? '');
	if (!m) {
		return NaN;
	}
	return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
}

function parseFlags(argv) {
	const out = {};
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		const m = /^--([a-zA-Z][a-zA-Z0-9_-]*)(?:=(.*))?$/s.exec(arg);
		if (!m) {
			usage(`bad argument ${JSON.stringify(arg)}`);
		}
		let name = m[1].replace(/-/g, '_');
		let raw = m[2];
		if (!SPEC[name] && name.startsWith('no_') && SPEC[name.slice(3)] === 'bool' && raw === undefined) {
			name = name.slice(3); // --no-name
			raw = 'false';
		}
		const type = SPEC[name];
		if (!type) {
			usage(`unknown flag --${m[1]}`);
		}
		if (raw === undefined && type !== 'bool' && i + 1 < argv.length) {
			raw = argv[++i]; // --name value
		}
		if (SIZES.has(name)) {
			const v = parseSize(raw);
			if (Number.isNaN(v)) {
				usage(`--${m[1]}: not a size: ${JSON.stringify(raw)}`);
			}
			out[name] = v;
		} else if (type === 'bool') {
			const v = raw === undefined ? 'true' : raw.toLowerCase();
			if (['true', '1', 'yes', 'on'].includes(v)) {
				out[name] = true;
			} else if (['false', '0', 'no', 'off'].includes(v)) {
				out[name] = false;
			} else {
				usage(`--${m[1]}: not a boolean: ${JSON.stringify(raw)}`);
			}
		} else if (type === 'int') {
			if (raw === undefined || !/^\d+$/.test(raw)) {
				usage(`--${m[1]}: not a non-negative integer: ${JSON.stringify(raw)}`);
			}
			out[name] = Number(raw);
		} else {
			if (raw === undefined) {
				usage(`--${m[1]} needs a value`);
			}
			out[name] = raw;
		}
	}
	return out;
}

const flags = parseFlags(process.argv.slice(2));
const level = LEVELS[flags.log_level ?? 'info'];
if (level === undefined) {
	usage(`--log-level: one of ${Object.keys(LEVELS).join(', ')}`);
}

function log(lvl, msg) {
	if (LEVELS[lvl] <= level) {
		process.stderr.write(`${new Date().toISOString()} ${lvl} reference-server: ${msg}\n`);
	}
}

for (const f of ['max_connections', 'socket_output_limit']) {
	if (flags[f]) {
		log('warn', `--${f.replace(/_/g, '-')} has no effect on the reference server`);
	}
}

const options = {};
const map = {
	path: 'path',
	ping_interval: 'pingInterval',
	ping_timeout: 'pingTimeout',
	ping_timeout_disabled: 'pingTimeoutDisabled',
	handshake_timeout: 'handshakeTimeout',
	protocol_version: 'protocolVersion',
	allow_client_publish: 'allowClientPublish',
	origins: 'origins',
	auth_key: 'authKey',
	batch_on_handshake: 'batchOnHandshake',
	batch_on_handshake_duration: 'batchOnHandshakeDuration',
	batch_interval: 'batchInterval',
};
for (const [flag, opt] of Object.entries(map)) {
	if (flags[flag] !== undefined) {
		options[opt] = flags[flag];
	}
}
if (flags.socket_channel_limit) {
	options.socketChannelLimit = flags.socket_channel_limit;
}
if (flags.max_payload) {
	options.wsEngineServerOptions = { maxPayload: flags.max_payload };
}

const httpServer = http.createServer((req, res) => {
	const pathname = (req.url ?? '').split('?')[0];
	if (req.method === 'GET' && pathname === '/health-check') {
		res.writeHead(200, { 'Content-Type': 'text/plain' });
		res.end('OK');
		return;
	}
	res.writeHead(501);
	res.end('Not Implemented');
});

const optionsText = JSON.stringify(options);
const agServer = socketClusterServer.attach(httpServer, options);

// The server reports per-socket protocol errors (pong timeouts, bad frames,
// client publish disabled, ...) on these streams: they are expected in
// tests, so they are debug output only.
(async () => {
	for await (const { error } of agServer.listener('error')) {
		log('debug', `error: ${error?.name}: ${error?.message}`);
	}
})();
(async () => {
	for await (const { warning } of agServer.listener('warning')) {
		log('debug', `warning: ${warning?.name}: ${warning?.message}`);
	}
})();
(async () => {
	for await (const { socket } of agServer.listener('connection')) {
		log('debug', `connection ${socket.id}`);
	}
})();
(async () => {
	for await (const { socket, code } of agServer.listener('disconnection')) {
		log('debug', `disconnection ${socket.id} code=${code}`);
	}
})();

httpServer.on('error', (err) => {
	log('error', `listen: ${err.message}`);
	process.exit(1);
});

const port = flags.port ?? 8000;
const host = flags.host && flags.host !== '*' ? flags.host : undefined;
httpServer.listen({ port, host, backlog: flags.backlog ?? 1024 }, () => {
	const a = httpServer.address();
	log('info', `socketcluster-server 20 listening on ${a.address}:${a.port}${options.path ?? '/socketcluster/'} (${optionsText})`);
});

let stopping = false;
function shutdown(signal) {
	if (stopping) {
		return;
	}
	stopping = true;
	log('info', `${signal}: closing ${agServer.clientsCount} client(s) and exiting`);
	httpServer.close();
	for (const socket of Object.values(agServer.clients)) {
		socket.disconnect(1001, 'Server is shutting down');
	}
	for (const socket of Object.values(agServer.pendingClients)) {
		socket.disconnect(1001, 'Server is shutting down');
	}
	// Give the close frames a moment to leave, then go.
	const deadline = Date.now() + 2000;
	const tick = setInterval(() => {
		if (agServer.clientsCount + agServer.pendingClientsCount === 0 || Date.now() > deadline) {
			clearInterval(tick);
			process.exit(0);
		}
	}, 10);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
