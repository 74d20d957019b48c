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

describe('the server invokes the client (agplugin_invoke)', () => {
	const fx = useServer({ auth_key: KEY, plugin: PLUGIN }, { skip: SKIP_ON_REFERENCE });
	const opts = { skip: SKIP_ON_REFERENCE };

	test('#43: answers, errors and timeouts of client procedures, with the official client', opts, async () => {
		const client = sc.create({ hostname: '127.0.0.1', port: fx.server.port, path: fx.server.path, autoReconnect: false });
		const serve = async (name, answer) => {
			for await (const req of client.procedure(name)) {
				answer(req);
			}
		};
		serve('clientProc', (req) => {
			assert.deepEqual(req.data, { question: 'six times seven' });
			req.end(42);
		});
		serve('clientFail', (req) => {
			const err = new Error('client side failure');
			err.name = 'ClientError';
			req.error(err);
		});
		serve('clientNoReply', () => {});
		try {
			await client.listener('connect').once(3000);
			assert.deepEqual(await client.invoke('serverInvoke'), {
				ok: 42,
				fail: { message: 'client side failure', name: 'ClientError' },
				noReply: { message: 'Event response for clientNoReply event timed out', name: 'TimeoutError' },
			});
		} finally {
			client.disconnect();
			client.closeAllProcedures();
		}
	});

	test('#26: setAuthToken with confirmation is an RPC the client answers', opts, async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: 'setTokenConfirmed', cid: 5 });
			const set = await ws.nextJson();
			assert.equal(set.event, '#setAuthToken');
			assert.equal(set.cid, 1);
			assert.deepEqual(jwt.verify(set.data.token, KEY).channels, ['allowed']);
			await ws.sendJson({ rid: 1 });
			assert.deepEqual(await ws.nextJson(), { rid: 5, data: { error: null } });
			await ws.sendJson({ event: 'setTokenConfirmed', cid: 6 });
			assert.equal((await ws.nextJson()).cid, 2);
			await ws.sendJson({ rid: 999, data: 'unknown rids are ignored' });
			await ws.sendJson({ rid: 2, error: { message: 'nope', name: 'X' } });
			assert.deepEqual(await ws.nextJson(), {
				rid: 6, data: { error: { message: 'Failed to deliver auth token to client - nope', name: 'AuthError' } },
			});
		} finally {
			await ws.close();
		}
	});

	test('an invoke whose socket closes ends with BadConnectionError', opts, async () => {
		const a = await connectOpen(fx.server);
		await a.sendJson({ event: 'invokeAndForget', cid: 2 });
		const got = await a.nextPackets(2);
		assert.deepEqual(got, [{ event: 'neverAnswered', cid: 1 }, { rid: 2 }]);
		await a.close();
		const b = await connectOpen(fx.server);
		try {
			await b.sendJson({ event: 'lastAbort', cid: 3 });
			assert.deepEqual(await b.nextJson(), {
				rid: 3,
				data: { gone: true, error: { message: 'Event neverAnswered was aborted due to a bad connection', name: 'BadConnectionError' } },
			});
		} finally {
			await b.close();
		}
	});
});
