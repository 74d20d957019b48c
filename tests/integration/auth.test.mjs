// Authentication on the wire (spec §3.2–3.3, §8.4–8.6; vectors #2–#6,
// #20, #21, #23–#25, #48), with tokens signed by the npm jsonwebtoken
// package and the server's auth_key.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';

import { COMPAT_DIR, SKIP_ON_REFERENCE, useServer } from '../lib/harness.mjs';
import { connect, connectOpen, handshake } from '../lib/scraw.mjs';

const require = createRequire(path.join(COMPAT_DIR, 'package.json'));
const jwt = require('jsonwebtoken');

const KEY = 'secret';
const now = () => Math.floor(Date.now() / 1000);
const iso = (s) => new Date(s * 1000).toISOString();

describe('authentication with auth_key', () => {
	const fx = useServer({ auth_key: KEY, ping_interval: 500, ping_timeout: 5000 });

	test('#2: a valid token authenticates the handshake; no #setAuthToken follows', async () => {
		const ws = await connect(fx.server);
		try {
			const token = jwt.sign({ username: 'alice', channels: ['allowed'] }, KEY, { expiresIn: 3600 });
			const data = await handshake(ws, { authToken: token });
			assert.equal(data.isAuthenticated, true);
			assert.equal(data.authError, undefined);
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('#3: an expired token gets AuthTokenExpiredError with its expiry, then #removeAuthToken', async () => {
		const ws = await connect(fx.server);
		try {
			const exp = now() - 60;
			const data = await handshake(ws, { authToken: jwt.sign({ username: 'bob', exp }, KEY) });
			assert.equal(data.isAuthenticated, false);
			assert.deepEqual(data.authError, {
				message: 'jwt expired', name: 'AuthTokenExpiredError', expiry: iso(exp), isBadToken: true,
			});
			assert.deepEqual(await ws.nextJson(), { event: '#removeAuthToken' });
		} finally {
			await ws.close();
		}
	});

	test('#4: a token signed with another key gets "invalid signature", then #removeAuthToken', async () => {
		const ws = await connect(fx.server);
		try {
			const data = await handshake(ws, { authToken: jwt.sign({ a: 1 }, 'another key') });
			assert.deepEqual(data.authError, { message: 'invalid signature', name: 'AuthTokenInvalidError', isBadToken: true });
			assert.deepEqual(await ws.nextJson(), { event: '#removeAuthToken' });
		} finally {
			await ws.close();
		}
	});

	test('an HS512 token with the right key is accepted by default; alg none never', async () => {
		const ws = await connect(fx.server);
		try {
			const data = await handshake(ws, { authToken: jwt.sign({ a: 1 }, KEY, { algorithm: 'HS512' }) });
			assert.equal(data.isAuthenticated, true);
		} finally {
			await ws.close();
		}
		const ws2 = await connect(fx.server);
		try {
			const none = jwt.sign({ a: 1 }, null, { algorithm: 'none' });
			const data = await handshake(ws2, { authToken: none });
			assert.deepEqual(data.authError, { message: 'jwt signature is required', name: 'AuthTokenInvalidError', isBadToken: true });
			assert.deepEqual(await ws2.nextJson(), { event: '#removeAuthToken' });
		} finally {
			await ws2.close();
		}
	});

	test('#6: a token not yet valid (nbf) is a soft failure: no #removeAuthToken', async () => {
		const ws = await connect(fx.server);
		try {
			const token = jwt.sign({ a: 1 }, KEY, { notBefore: 600 });
			const nbf = jwt.decode(token).nbf;
			const data = await handshake(ws, { authToken: token });
			assert.deepEqual(data.authError, { message: 'jwt not active', name: 'AuthTokenNotBeforeError', date: iso(nbf), isBadToken: false });
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('#20, #21: #authenticate with a valid then an expired token', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: '#authenticate', data: jwt.sign({ u: 1 }, KEY, { expiresIn: 60 }), cid: 2 });
			assert.deepEqual(await ws.nextJson(), { rid: 2, data: { isAuthenticated: true, authError: null } });
			const exp = now() - 5;
			await ws.sendJson({ event: '#authenticate', data: jwt.sign({ u: 1, exp }, KEY), cid: 3 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 3, error: { message: 'jwt expired', name: 'AuthTokenExpiredError', expiry: iso(exp), isBadToken: true },
			});
			assert.deepEqual(await ws.nextJson(), { event: '#removeAuthToken' });
		} finally {
			await ws.close();
		}
	});

	test('#23, #24: #authenticate with a non-string or null token', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: '#authenticate', data: { not: 'a string' }, cid: 6 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 6, error: { message: 'Invalid token format - Token must be a string', name: 'AuthTokenError', isBadToken: true },
			});
			assert.deepEqual(await ws.nextJson(), { event: '#removeAuthToken' });
			await ws.sendJson({ event: '#authenticate', data: null, cid: 7 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 7, error: { message: 'jwt must be provided', name: 'AuthTokenInvalidError', isBadToken: true },
			});
			assert.deepEqual(await ws.nextJson(), { event: '#removeAuthToken' });
		} finally {
			await ws.close();
		}
	});

	test('#25: #removeAuthToken from the client is silent', async () => {
		const ws = await connectOpen(fx.server, { authToken: jwt.sign({ u: 1 }, KEY, { expiresIn: 60 }) });
		try {
			assert.equal(ws.handshakeData.isAuthenticated, true);
			await ws.sendJson({ event: '#removeAuthToken', cid: 9 });
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('#48: a token that expires while connected is removed at the next pong or packet', async () => {
		const ws = await connectOpen(fx.server, { authToken: jwt.sign({ u: 1 }, KEY, { expiresIn: 1 }) });
		try {
			assert.equal(ws.handshakeData.isAuthenticated, true);
			// The server pings every 500 ms; once the token has expired the
			// next pong (answered by the client) brings #removeAuthToken.
			await new Promise((r) => setTimeout(r, 1100));
			await ws.sendText('');
			const got = await ws.nextJson(3000);
			assert.deepEqual(got, { event: '#removeAuthToken' });
		} finally {
			await ws.close();
		}
	});
});

describe('the channel rules (publish_channels_claim, subscribe_channels_claim)', () => {
	const fx = useServer({
		auth_key: KEY, publish_channels_claim: 'channels', subscribe_channels_claim: 'channels',
	}, { skip: SKIP_ON_REFERENCE });
	const token = () => jwt.sign({ username: 'alice', channels: ['allowed', 'caf\u00e9'] }, KEY, { expiresIn: 3600 });

	test('#34, #35: an unauthenticated publish is refused with PublishError, silently without a cid', { skip: SKIP_ON_REFERENCE }, async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: '#publish', data: { channel: 'allowed', data: { msg: 'hi' } }, cid: 2 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 2, error: { message: 'You are not authorized to publish to the allowed channel', name: 'PublishError' },
			});
			await ws.sendJson({ event: '#publish', data: { channel: 'allowed', data: { msg: 'dropped' } } });
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('#33: a token whose channels claim lists the channel may subscribe and publish', { skip: SKIP_ON_REFERENCE }, async () => {
		const ws = await connectOpen(fx.server, { authToken: token() });
		try {
			for (const ch of ['allowed', 'caf\u00e9']) {
				await ws.sendJson({ event: '#subscribe', data: { channel: ch }, cid: 3 });
				assert.deepEqual(await ws.nextJson(), { rid: 3 });
				await ws.sendJson({ event: '#publish', data: { channel: ch, data: { msg: 'hello' } }, cid: 4 });
				assert.deepEqual(await ws.nextPackets(2), [{ rid: 4 }, { event: '#publish', data: { channel: ch, data: { msg: 'hello' } } }]);
			}
		} finally {
			await ws.close();
		}
	});

	test('a channel the claim does not list is refused for publish and subscribe', { skip: SKIP_ON_REFERENCE }, async () => {
		const ws = await connectOpen(fx.server, { authToken: token() });
		try {
			await ws.sendJson({ event: '#subscribe', data: { channel: 'forbidden' }, cid: 5 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 5, error: { message: 'You are not allowed to subscribe to forbidden', name: 'SubscribeError' },
			});
			await ws.sendJson({ event: '#publish', data: { channel: 'forbidden', data: 1 }, cid: 6 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 6, error: { message: 'You are not authorized to publish to the forbidden channel', name: 'PublishError' },
			});
		} finally {
			await ws.close();
		}
	});

	test('after #removeAuthToken the rules refuse again', { skip: SKIP_ON_REFERENCE }, async () => {
		const ws = await connectOpen(fx.server, { authToken: token() });
		try {
			await ws.sendJson({ event: '#removeAuthToken' });
			await ws.sendJson({ event: '#publish', data: { channel: 'allowed', data: 1 }, cid: 7 });
			assert.equal((await ws.nextJson()).error.name, 'PublishError');
		} finally {
			await ws.close();
		}
	});
});
