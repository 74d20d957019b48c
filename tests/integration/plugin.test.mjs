// The plugin API (worker/agplugin.h) on the wire, with the test plugin
// tests/plugins/agtest_plugin.c: procedures (vectors #17-#19, #40, #41, #45),
// asynchronous answers, answers to a socket that has gone, #setAuthToken
// from the login flow, server-side deauthentication, #kickOut (#44),
// disconnect (#49), receivers and server publishes.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';

import { COMPAT_DIR, SKIP_ON_REFERENCE, WORKER_BIN, useServer } from '../lib/harness.mjs';
import { closeAll, connectOpen, subscribe } from '../lib/scraw.mjs';

const require = createRequire(path.join(COMPAT_DIR, 'package.json'));
const jwt = require('jsonwebtoken');
const sc = require('sc20');

const KEY = 'secret';
const PLUGIN = process.env.AG_TEST_PLUGIN
	|| path.resolve(path.dirname(WORKER_BIN), '..', 'tests', 'plugins', 'agtest_plugin.so');

describe('plugin procedures and receivers', () => {
	const fx = useServer({ auth_key: KEY, plugin: PLUGIN, publish_channels_claim: 'channels' }, { skip: SKIP_ON_REFERENCE });
	const opts = { skip: SKIP_ON_REFERENCE };

	test('#40, #41: a procedure answers with the data, or none', opts, async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: 'echo', data: { a: [1, 2, 3], s: 'x' }, cid: 2 });
			assert.deepEqual(await ws.nextJson(), { rid: 2, data: { a: [1, 2, 3], s: 'x' } });
			await ws.sendJson({ event: 'echo', cid: 3 });
			assert.deepEqual(await ws.nextJson(), { rid: 3 });
		} finally {
			await ws.close();
		}
	});

	test('#45: a batch with a transmit and an invoke', opts, async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson([{ event: 'chat', data: 'in-array' }, { event: 'echo', data: 'x', cid: 900 }]);
			assert.deepEqual(await ws.nextJson(), { rid: 900, data: 'x' });
		} finally {
			await ws.close();
		}
	});

	test('#17, #19: errors, named and plain', opts, async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: 'login', data: { username: 'alice', password: 'wrong' }, cid: 2 });
			assert.deepEqual(await ws.nextJson(), { rid: 2, error: { message: 'Invalid user credentials', name: 'LoginError' } });
			await ws.sendJson({ event: 'loginPlainError', data: {}, cid: 3 });
			assert.deepEqual(await ws.nextJson(), { rid: 3, error: { message: 'A plain Error object' } });
		} finally {
			await ws.close();
		}
	});

	test('#18: login answers, then #setAuthToken with a token jsonwebtoken verifies', opts, async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: 'login', data: { username: 'alice', password: 'pw' }, cid: 4 });
			assert.deepEqual(await ws.nextJson(), { rid: 4 });
			const set = await ws.nextJson();
			assert.equal(set.event, '#setAuthToken');
			const token = set.data.token;
			assert.deepEqual(jwt.decode(token, { complete: true }).header, { alg: 'HS256', typ: 'JWT' });
			const claims = jwt.verify(token, KEY);
			assert.equal(claims.username, 'alice');
			assert.deepEqual(claims.channels, ['allowed', 'upper', 'private/alice']);
			assert.equal(claims.exp, claims.iat + 86400);
			// The socket now holds it: whoami sees the claims, and the rule
			// lets it publish to a listed channel.
			await ws.sendJson({ event: 'whoami', cid: 5 });
			assert.equal((await ws.nextJson()).data.claims.username, 'alice');
			await ws.sendJson({ event: '#publish', data: { channel: 'allowed', data: 1 }, cid: 6 });
			assert.deepEqual(await ws.nextJson(), { rid: 6 });
			// Server-side deauthentication.
			await ws.sendJson({ event: 'logout', cid: 7 });
			assert.deepEqual(await ws.nextJson(), { rid: 7 });
			assert.deepEqual(await ws.nextJson(), { event: '#removeAuthToken' });
			await ws.sendJson({ event: 'whoami', cid: 8 });
			assert.equal((await ws.nextJson()).data.claims, null);
		} finally {
			await ws.close();
		}
	});

	test('an asynchronous answer arrives later; one for a closed socket is dropped', opts, async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: 'asyncEcho', cid: 2 });
			assert.deepEqual(await ws.nextJson(1000), { rid: 2, data: 'later' });
		} finally {
			await ws.close();
		}
		const gone = await connectOpen(fx.server);
		await gone.sendJson({ event: 'asyncEcho', cid: 2 });
		gone.destroy();
		// Past the plugin's 200 ms its answer finds no socket; the worker
		// goes on serving (and the sanitizer build checks nothing leaked or
		// was touched after free).
		await new Promise((r) => setTimeout(r, 400));
		const again = await connectOpen(fx.server);
		try {
			await again.sendJson({ event: 'echo', data: 'still here', cid: 3 });
			assert.deepEqual(await again.nextJson(), { rid: 3, data: 'still here' });
		} finally {
			await again.close();
		}
	});

	test('#44: kick-out unsubscribes, then sends one #kickOut per channel', opts, async () => {
		const ws = await connectOpen(fx.server);
		const pub = await connectOpen(fx.server, { authToken: jwt.sign({ channels: ['k1'] }, KEY) });
		try {
			await subscribe(ws, 'k1', 2);
			await subscribe(ws, 'k2', 3);
			await ws.sendJson({ event: 'kickMe', cid: 4 });
			const got = await ws.nextPackets(3);
			assert.deepEqual(got[0], { rid: 4 });
			assert.deepEqual(
				new Set(got.slice(1).map((p) => JSON.stringify(p))),
				new Set(['k1', 'k2'].map((ch) => JSON.stringify({ event: '#kickOut', data: { channel: ch, message: 'You have been kicked' } }))),
			);
			await pub.sendJson({ event: '#publish', data: { channel: 'k1', data: 'after' }, cid: 5 });
			assert.deepEqual(await pub.nextJson(), { rid: 5 });
			await ws.expectNothing(300);
		} finally {
			await closeAll(ws, pub);
		}
	});

	test('#49: a server disconnect with 4500 and its reason', opts, async () => {
		const ws = await connectOpen(fx.server);
		await ws.sendJson({ event: 'disconnectMe', cid: 2 });
		const { code, reason } = await ws.expectClose(4500, 3000, { allowData: true });
		assert.equal(code, 4500);
		assert.equal(reason, 'Server kicked you');
	});

	test('a receiver runs on a transmit, and a server publish reaches subscribers', opts, async () => {
		const ws = await connectOpen(fx.server);
		try {
			await subscribe(ws, 'receiver-log', 2);
			await ws.sendJson({ event: 'shout', data: { a: 1 } });
			assert.deepEqual(await ws.nextJson(), { event: '#publish', data: { channel: 'receiver-log', data: { a: 1 } } });
		} finally {
			await ws.close();
		}
	});

	test('a token the plugin signs verifies with jsonwebtoken', opts, async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: 'sign', cid: 2 });
			const token = (await ws.nextJson()).data;
			const claims = jwt.verify(token, KEY);
			assert.equal(claims.sub, 'svc');
			assert.equal(claims.exp, claims.iat + 60);
		} finally {
			await ws.close();
		}
	});

	test('the official client logs in over the WebSocket and is authenticated', opts, async () => {
		const socket = sc.create({ hostname: '127.0.0.1', port: fx.port, autoReconnect: false });
		try {
			await socket.listener('connect').once();
			const authenticated = socket.listener('authenticate').once();
			await socket.invoke('login', { username: 'alice', password: 'pw' });
			await authenticated;
			assert.equal(socket.authState, 'authenticated');
			assert.equal(socket.authToken.username, 'alice');
			await socket.invokePublish('allowed', 'ok');
			await assert.rejects(socket.invokePublish('private/bob', 'no'), { name: 'PublishError' });
		} finally {
			socket.disconnect();
		}
	});
});
