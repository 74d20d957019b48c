// The HTTP side: the WebSocket upgrade (spec §1, vectors #50–#52), its
// rejections, the health check and plain HTTP.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { useServer } from '../lib/harness.mjs';
import { acceptFor, httpGet, upgrade } from '../lib/rawws.mjs';
import { assertServerServes, handshake } from '../lib/scraw.mjs';

const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const SAMPLE_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

function assertRejected(res, status, body) {
	assert.equal(res.status, status, `${res.statusLine} ${JSON.stringify(res.body)}`);
	if (body !== undefined) {
		assert.equal(res.body, body);
	}
	assert.equal(res.ws, undefined);
}

describe('HTTP upgrade with the default configuration', () => {
	const fx = useServer();

	test('#52: the RFC 6455 sample key gets 101 with the RFC accept value', async () => {
		const res = await upgrade(fx.port, {
			key: SAMPLE_KEY,
			headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' },
		});
		try {
			assert.equal(res.status, 101, res.statusLine);
			assert.equal(res.headers['sec-websocket-accept'], SAMPLE_ACCEPT);
			assert.equal(res.headers.upgrade.toLowerCase(), 'websocket');
			assert.match(res.headers.connection, /\bupgrade\b/i);
			// The permessage-deflate offer is ignored, no subprotocol is chosen.
			assert.equal(res.headers['sec-websocket-extensions'], undefined);
			assert.equal(res.headers['sec-websocket-protocol'], undefined);
			// And the connection speaks SocketCluster right away.
			await handshake(res.ws);
		} finally {
			res.ws?.destroy();
		}
	});

	test('a random key gets its own accept value; a query string is allowed', async () => {
		const res = await upgrade(fx.port, { path: '/socketcluster/?foo=bar&list=a&list=b' });
		try {
			assert.equal(res.status, 101, res.statusLine);
			assert.equal(res.headers['sec-websocket-accept'], acceptFor(res.key));
		} finally {
			res.ws?.destroy();
		}
	});

	test('Sec-WebSocket-Version 8 is accepted too', async () => {
		const res = await upgrade(fx.port, { headers: { 'Sec-WebSocket-Version': '8' } });
		res.ws?.destroy();
		assert.equal(res.status, 101, res.statusLine);
	});

	test('a Connection header listing several tokens is accepted', async () => {
		const res = await upgrade(fx.port, { headers: { Connection: 'keep-alive, Upgrade' } });
		res.ws?.destroy();
		assert.equal(res.status, 101, res.statusLine);
	});

	test('#50: a wrong path (no trailing slash) gets 400 Bad Request', async () => {
		assertRejected(await upgrade(fx.port, { path: '/socketcluster' }), 400, 'Bad Request');
	});

	test('an upgrade on another path (/health-check) gets 400', async () => {
		assertRejected(await upgrade(fx.port, { path: '/health-check' }), 400);
	});

	test('an upgrade with a method other than GET gets 405', async () => {
		assertRejected(await upgrade(fx.port, { method: 'POST' }), 405);
		assertRejected(await upgrade(fx.port, { method: 'PUT' }), 405);
	});

	test('a missing or malformed Sec-WebSocket-Key gets 400', async () => {
		assertRejected(await upgrade(fx.port, { key: 'abc' }), 400);
		assertRejected(await upgrade(fx.port, { headers: { 'Sec-WebSocket-Key': null } }), 400);
	});

	test('a missing or unsupported Sec-WebSocket-Version gets 400 naming the supported versions', async () => {
		for (const version of [null, '12']) {
			const res = await upgrade(fx.port, { headers: { 'Sec-WebSocket-Version': version } });
			assertRejected(res, 400, 'Missing or invalid Sec-WebSocket-Version header');
			// RFC 6455 §4.4: the server MUST list the versions it understands.
			assert.match(res.headers['sec-websocket-version'] ?? '', /\b13\b/);
		}
	});

	test('an Upgrade header that is not websocket is refused', async () => {
		// The reference (ws) answers 400 "Invalid Upgrade header"; ag-worker's
		// design treats a request without "Upgrade: websocket" as plain HTTP
		// (501). Either refusal is fine; accepting it is not.
		const res = await upgrade(fx.port, { headers: { Upgrade: 'h2c' } });
		assert.ok([400, 501].includes(res.status), res.statusLine);
		assert.equal(res.ws, undefined);
	});

	test('an upgrade without "Connection: Upgrade" is refused', async () => {
		// The reference's HTTP server sees a plain request (501); ag-worker
		// may reject the incomplete upgrade with 400 instead.
		const res = await upgrade(fx.port, { headers: { Connection: null } });
		assert.ok([400, 501].includes(res.status), res.statusLine);
		assert.equal(res.ws, undefined);
	});

	test('any Origin is accepted with the default origins "*:*"', async () => {
		const res = await upgrade(fx.port, { headers: { Origin: 'http://evil.example.com' } });
		res.ws?.destroy();
		assert.equal(res.status, 101, res.statusLine);
	});

	test('GET /health-check answers 200', async () => {
		const res = await httpGet(fx.port, '/health-check');
		assert.equal(res.status, 200, res.statusLine);
	});

	test('plain HTTP anywhere else answers 501', async () => {
		for (const p of ['/', '/socketcluster/', '/nothing-here?x=1']) {
			const res = await httpGet(fx.port, p);
			assert.equal(res.status, 501, `${p}: ${res.statusLine}`);
		}
		const post = await httpGet(fx.port, '/health-check', { method: 'POST' });
		assert.equal(post.status, 501, `POST /health-check: ${post.statusLine}`);
	});

	test('the server still serves after all these rejections', async () => {
		await assertServerServes(fx.server);
	});
});

describe('HTTP upgrade with --origins=allowed.example.com:*', () => {
	const fx = useServer({ origins: 'allowed.example.com:*' });

	test('#51: a disallowed Origin gets 403 with the reference body', async () => {
		const res = await upgrade(fx.port, { key: SAMPLE_KEY, headers: { Origin: 'http://evil.example.com' } });
		assertRejected(res, 403, 'Failed to authorize socket handshake - Invalid origin: http://evil.example.com');
	});

	test('an allowed Origin gets 101 (any port, http or https)', async () => {
		for (const origin of ['http://allowed.example.com', 'https://allowed.example.com', 'http://allowed.example.com:8080']) {
			const res = await upgrade(fx.port, { key: SAMPLE_KEY, headers: { Origin: origin } });
			res.ws?.destroy();
			assert.equal(res.status, 101, `${origin}: ${res.statusLine}`);
			assert.equal(res.headers['sec-websocket-accept'], SAMPLE_ACCEPT);
		}
	});

	test('no Origin header counts as "*" and fails a restricted list', async () => {
		const res = await upgrade(fx.port, {});
		assertRejected(res, 403, 'Failed to authorize socket handshake - Invalid origin: *');
	});

	test('the origin check does not apply to the health check', async () => {
		const res = await httpGet(fx.port, '/health-check', { headers: { Origin: 'http://evil.example.com' } });
		assert.equal(res.status, 200, res.statusLine);
	});
});
