// Plugin middleware on the wire (spec §11; vectors #13, #22, #28, #29, #42
// and the transcripts' middleware of T07, T09-T12, T20-T22), with
// tests/plugins/agtest_mw.c: the reference's transcript middleware in C.
// Every test runs twice: the plugin deciding at once, and deciding 30 ms
// later from a timer ("?async=1"), which also proves that a socket's packets
// are handled strictly in order while an action is pending.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';

import { COMPAT_DIR, SKIP_ON_REFERENCE, WORKER_BIN, useServer } from '../lib/harness.mjs';
import { upgrade } from '../lib/rawws.mjs';
import { closeAll, connect, connectOpen, handshake, publishPacket, subscribe } from '../lib/scraw.mjs';

const require = createRequire(path.join(COMPAT_DIR, 'package.json'));
const jwt = require('jsonwebtoken');
const sc = require('sc20');

const KEY = 'secret';
const PLUGIN = process.env.AG_TEST_MW_PLUGIN
	|| path.resolve(path.dirname(WORKER_BIN), '..', 'tests', 'plugins', 'agtest_mw.so');
const opts = { skip: SKIP_ON_REFERENCE };
const silent = (type, mw = 'inbound') => ({
	message: `The ${type} AGAction was blocked by ${mw} middleware`,
	name: 'SilentMiddlewareBlockedError',
	type: mw,
});
const token = (claims) => jwt.sign(claims, KEY, { expiresIn: 3600 });

// The worker still answers a new client (assertServerServes publishes,
// which this plugin's rule refuses without a token).
async function assertServes(server, at) {
	const ws = await connectOpen(server, at);
	try {
		await ws.sendJson({ event: 'echo', data: 'still here', cid: 2 });
		assert.deepEqual(await ws.nextJson(), { rid: 2, data: 'still here' });
	} finally {
		await ws.close();
	}
}

for (const mode of ['sync', 'async']) {
	const query = mode === 'async' ? '?async=1' : '?';
	const at = (server, q = '') => ({ path: `${server.path}${query}${q ? `&${q}` : ''}` });

	describe(`middleware (${mode})`, () => {
		const fx = useServer({ auth_key: KEY, plugin: PLUGIN }, { skip: SKIP_ON_REFERENCE });

		test('#13: HANDSHAKE_SC blocked: the error, then close 4008 or the error\'s statusCode', opts, async () => {
			const cases = [
				['rejectsc=1', { message: 'Blocked by HANDSHAKE_SC middleware', name: 'HandshakeRejectedError', statusCode: 4008 }, 4008],
				['rejectsc=2', { message: 'Blocked with custom status', name: 'HandshakeRejectedError', statusCode: 4501 }, 4501],
				['rejectsc=3', { ...silent('handshakeSC', 'handshake'), statusCode: 4008 }, 4008],
			];
			for (const [q, error, code] of cases) {
				const ws = await connect(fx.server, at(fx.server, q));
				await ws.sendJson({ event: '#handshake', data: { authToken: null }, cid: 1 });
				assert.deepEqual(await ws.nextJson(), { rid: 1, error }, q);
				await ws.expectClose(code);
			}
		});

		test('HANDSHAKE_SC sees the token: a block by its claims', opts, async () => {
			const ws = await connect(fx.server, at(fx.server, 'rejectsc=4'));
			await ws.sendJson({ event: '#handshake', data: { authToken: token({ username: 'mallory' }) }, cid: 1 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 1, error: { message: 'no mallory', name: 'HandshakeRejectedError', statusCode: 4008 },
			});
			await ws.expectClose(4008);
			const ok = await connect(fx.server, at(fx.server, 'rejectsc=4'));
			try {
				const data = await handshake(ok, { authToken: token({ username: 'alice' }) });
				assert.equal(data.isAuthenticated, true);
			} finally {
				await ok.close();
			}
		});

		test('HANDSHAKE_WS blocked: 401 with the message as body', opts, async () => {
			const res = await upgrade(fx.server.port, at(fx.server, 'rejectws=1'));
			assert.equal(res.status, 401, res.statusLine);
			assert.equal(res.body, 'Blocked by HANDSHAKE_WS middleware');
			await assertServes(fx.server, at(fx.server));
		});

		test('#28, #29: SUBSCRIBE blocked with an error, and silently', opts, async () => {
			const ws = await connectOpen(fx.server, at(fx.server));
			try {
				await subscribe(ws, 'allowed', 2);
				await ws.sendJson({ event: '#subscribe', data: { channel: 'forbidden' }, cid: 3 });
				assert.deepEqual(await ws.nextJson(), {
					rid: 3, error: { message: 'You are not allowed to subscribe to forbidden', name: 'SubscribeError' },
				});
				await ws.sendJson({ event: '#subscribe', data: { channel: 'silent' }, cid: 4 });
				assert.deepEqual(await ws.nextJson(), { rid: 4, error: silent('subscribe') });
				await ws.sendJson({ event: '#subscribe', data: { channel: 'private/bob' }, cid: 5 });
				assert.deepEqual(await ws.nextJson(), {
					rid: 5, error: { message: 'Not your private channel', name: 'SubscribeError' },
				});
			} finally {
				await ws.close();
			}
		});

		test('#42: INVOKE blocked silently; allow with data replaces the request data', opts, async () => {
			const ws = await connectOpen(fx.server, at(fx.server));
			try {
				await ws.sendJson({ event: 'blockedProc', data: { x: 1 }, cid: 6 });
				assert.deepEqual(await ws.nextJson(), { rid: 6, error: silent('invoke') });
				await ws.sendJson({ event: 'transformProc', data: 5, cid: 7 });
				assert.deepEqual(await ws.nextJson(), { rid: 7, data: { transformed: true, original: 5 } });
				// Replaced data that is not JSON never reaches the wire: the
				// action is blocked silently (and the worker logs why).
				await ws.sendJson({ event: 'badDataProc', data: 1, cid: 8 });
				assert.deepEqual(await ws.nextJson(), { rid: 8, error: silent('invoke') });
			} finally {
				await ws.close();
			}
		});

		test('TRANSMIT blocked: nothing comes back, and the next packet is handled', opts, async () => {
			const ws = await connectOpen(fx.server, at(fx.server));
			try {
				await ws.sendJson({ event: 'blockedEvent', data: 1 });
				await ws.sendJson({ event: 'echo', data: 'after', cid: 8 });
				assert.deepEqual(await ws.nextJson(), { rid: 8, data: 'after' });
				await ws.expectNothing(200);
			} finally {
				await ws.close();
			}
		});

		test('#22: AUTHENTICATE blocked: a soft authError, or with isBadToken an error and #removeAuthToken', opts, async () => {
			const ws = await connectOpen(fx.server, at(fx.server));
			try {
				await ws.sendJson({ event: '#authenticate', data: token({ username: 'mallory' }), cid: 5 });
				assert.deepEqual(await ws.nextJson(), {
					rid: 5,
					data: { isAuthenticated: false, authError: { message: 'mallory is banned', name: 'AuthBlockedError' } },
				});
				await ws.expectNothing(200);
				await ws.sendJson({ event: '#authenticate', data: token({ username: 'eve' }), cid: 6 });
				assert.deepEqual(await ws.nextJson(), {
					rid: 6, error: { message: 'eve is revoked', name: 'AuthRevokedError', isBadToken: true },
				});
				assert.deepEqual(await ws.nextJson(), { event: '#removeAuthToken' });
				await ws.sendJson({ event: '#authenticate', data: token({ username: 'alice' }), cid: 7 });
				assert.deepEqual(await ws.nextJson(), { rid: 7, data: { isAuthenticated: true, authError: null } });
			} finally {
				await ws.close();
			}
		});

		test('AUTHENTICATE blocked at the handshake: authError, not authenticated', opts, async () => {
			const ws = await connect(fx.server, at(fx.server));
			try {
				const data = await handshake(ws, { authToken: token({ username: 'mallory' }) });
				assert.equal(data.isAuthenticated, false);
				assert.deepEqual(data.authError, { message: 'mallory is banned', name: 'AuthBlockedError' });
				await ws.expectNothing(200);
			} finally {
				await ws.close();
			}
		});

		test('PUBLISH_IN: the guide\'s rule as C middleware', opts, async () => {
			const a = await connectOpen(fx.server, { ...at(fx.server), authToken: token({ username: 'a', channels: ['room'] }) });
			const b = await connectOpen(fx.server, at(fx.server));
			try {
				await subscribe(b, 'room', 2);
				await b.sendJson({ event: '#publish', data: { channel: 'room', data: 'no' }, cid: 3 });
				assert.deepEqual(await b.nextJson(), {
					rid: 3, error: { message: 'You are not authorized to publish to the room channel', name: 'PublishError' },
				});
				await b.sendJson({ event: '#publish', data: { channel: 'room', data: 'dropped' } });
				await a.sendJson({ event: '#publish', data: { channel: 'room', data: 'yes' }, cid: 4 });
				assert.deepEqual(await a.nextJson(), { rid: 4 });
				assert.deepEqual(await b.nextJson(), publishPacket('room', 'yes'));
				await b.expectNothing(200);
			} finally {
				await closeAll(a, b);
			}
		});

		test('PUBLISH_OUT: dropped or rewritten per recipient, in order', opts, async () => {
			// A name that needs escaping in JSON, rewritten as well.
			const quoted = 'upper "q"\\\n';
			const p = await connectOpen(fx.server, { ...at(fx.server), authToken: token({ channels: ['upper', 'plain', quoted] }) });
			const subs = [await connectOpen(fx.server, at(fx.server)), await connectOpen(fx.server, at(fx.server))];
			try {
				for (const s of subs) {
					await subscribe(s, 'upper', 2);
					await subscribe(s, 'plain', 3);
					await subscribe(s, quoted, 4);
				}
				const sent = ['one', { censor: true }, 'two', { n: 3 }];
				for (const data of sent) {
					await p.sendJson({ event: '#publish', data: { channel: 'upper', data } });
				}
				await p.sendJson({ event: '#publish', data: { channel: 'plain', data: 'keep case' } });
				await p.sendJson({ event: '#publish', data: { channel: quoted, data: 'quoted' } });
				for (const s of subs) {
					assert.deepEqual(await s.nextPackets(5), [
						publishPacket('upper', 'ONE'),
						publishPacket('upper', 'TWO'),
						publishPacket('upper', { n: 3 }),
						publishPacket('plain', 'keep case'),
						publishPacket(quoted, 'QUOTED'),
					]);
					await s.expectNothing(100);
				}
			} finally {
				await closeAll(p, ...subs);
			}
		});

		test('inboundRaw: a message dropped (even an RPC), or rewritten', opts, async () => {
			const ws = await connectOpen(fx.server, at(fx.server));
			try {
				await ws.sendText('dropme');
				await ws.sendJson({ event: 'echo', data: 'dropme', cid: 2 });
				await ws.sendText('rewriteme');
				assert.deepEqual(await ws.nextJson(), { rid: 77, data: 'rewritten' });
				await ws.expectNothing(200);
			} finally {
				await ws.close();
			}
		});

		test('a socket\'s packets are handled in order, across batches and messages', opts, async () => {
			const ws = await connectOpen(fx.server, at(fx.server));
			try {
				await ws.sendJson([
					{ event: 'transformProc', data: 1, cid: 10 },
					{ event: 'echo', data: 2, cid: 11 },
					{ event: 'blockedProc', data: 3, cid: 12 },
				]);
				await ws.sendJson({ event: 'echo', data: 4, cid: 13 });
				await ws.sendJson({ event: '#subscribe', data: { channel: 'silent' }, cid: 14 });
				await ws.sendJson({ event: 'echo', data: 5, cid: 15 });
				const got = await ws.nextPackets(6);
				assert.deepEqual(got.map((p) => p.rid), [10, 11, 12, 13, 14, 15]);
				assert.deepEqual(got[0].data, { transformed: true, original: 1 });
			} finally {
				await ws.close();
			}
		});

		test('the plugin reads the request URL and headers', opts, async () => {
			const ws = await connectOpen(fx.server, { ...at(fx.server, 'k=v'), headers: { 'X-Test-Header': 'hello' } });
			try {
				await ws.sendJson({ event: 'requestInfo', cid: 2 });
				const reply = await ws.nextJson();
				assert.equal(reply.data.url, `${fx.server.path}${query}&k=v`);
				assert.equal(reply.data.header, 'hello');
			} finally {
				await ws.close();
			}
		});

		test('sockets that close with actions pending leave the worker serving', opts, async () => {
			for (let i = 0; i < 20; i++) {
				const ws = await connectOpen(fx.server, at(fx.server));
				await ws.sendJson({ event: 'transformProc', data: i, cid: 2 });
				await ws.sendJson({ event: 'echo', data: i, cid: 3 });
				ws.destroy();
			}
			const hs = await connect(fx.server, at(fx.server, 'rejectsc=1'));
			await hs.sendJson({ event: '#handshake', data: { authToken: null }, cid: 1 });
			hs.destroy();
			await new Promise((r) => setTimeout(r, 100));
			await assertServes(fx.server, at(fx.server));
		});

		test('the official client sees the blocks as the reference\'s', opts, async () => {
			const client = sc.create({
				hostname: '127.0.0.1', port: fx.server.port, path: fx.server.path,
				query: mode === 'async' ? { async: 1 } : {}, autoReconnect: false, ackTimeout: 2000,
			});
			try {
				await client.listener('connect').once(3000);
				await assert.rejects(client.invoke('blockedProc', { x: 1 }), { name: 'SilentMiddlewareBlockedError' });
				assert.deepEqual(await client.invoke('transformProc', 'x'), { transformed: true, original: 'x' });
				const ch = client.subscribe('silent');
				const { error } = await ch.listener('subscribeFail').once(3000);
				assert.equal(error.name, 'SilentMiddlewareBlockedError');
				const auth = await client.authenticate(token({ username: 'mallory' })).catch((e) => e);
				assert.equal(client.authState, 'unauthenticated', String(auth));
			} finally {
				client.disconnect();
			}
		});
	});
}

describe('middleware in a cluster (agcluster: 2 workers, 2 brokers)', () => {
	const fx = useServer({ auth_key: KEY, plugin: PLUGIN, workers: 2, brokers: 2 }, { skip: SKIP_ON_REFERENCE, kind: 'agcluster' });
	const at = (server) => ({ path: `${server.path}?async=1` });

	test('async SUBSCRIBE and PUBLISH_OUT on deliveries from the brokers, in order', opts, async () => {
		const p = await connectOpen(fx.server, { ...at(fx.server), authToken: token({ channels: ['upper'] }) });
		// SO_REUSEPORT spreads these over both workers.
		const subs = [];
		for (let i = 0; i < 6; i++) {
			subs.push(await connectOpen(fx.server, at(fx.server)));
		}
		try {
			for (const s of subs) {
				await subscribe(s, 'upper', 2);
				await s.sendJson({ event: '#subscribe', data: { channel: 'silent' }, cid: 3 });
				assert.deepEqual(await s.nextJson(), { rid: 3, error: silent('subscribe') });
			}
			for (const data of ['a', { censor: true }, 'b', 'c']) {
				await p.sendJson({ event: '#publish', data: { channel: 'upper', data }, cid: 9 });
				assert.deepEqual(await p.nextJson(), { rid: 9 });
			}
			for (const s of subs) {
				assert.deepEqual(await s.nextPackets(3), ['A', 'B', 'C'].map((d) => publishPacket('upper', d)));
			}
		} finally {
			await closeAll(p, ...subs);
		}
	});
});
