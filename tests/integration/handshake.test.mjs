// The SocketCluster handshake (spec §3, §2.4; vectors #1, #5, #7–#12).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { useServer } from '../lib/harness.mjs';
import { OP } from '../lib/rawws.mjs';
import { assertServerServes, closeAll, connect, connectOpen } from '../lib/scraw.mjs';

describe('handshake with the default configuration', () => {
	const fx = useServer();

	test('#1: the handshake is answered with id, pingTimeout 30000 and isAuthenticated false', async () => {
		const ws = await connect(fx.server);
		try {
			await ws.sendJson({ event: '#handshake', data: { authToken: null }, cid: 1 });
			const f = await ws.nextMessage();
			assert.equal(f.opcode, OP.TEXT);
			const reply = f.json;
			assert.equal(typeof reply.data?.id, 'string');
			assert.ok(reply.data.id.length > 0);
			assert.deepEqual(reply, { rid: 1, data: { id: reply.data.id, pingTimeout: 30000, isAuthenticated: false } });
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('the rid echoes whatever cid the handshake carried', async () => {
		const ws = await connect(fx.server);
		try {
			await ws.sendJson({ event: '#handshake', data: { authToken: null }, cid: 14 });
			const reply = await ws.nextJson();
			assert.equal(reply.rid, 14);
		} finally {
			await ws.close();
		}
	});

	test('every connection gets its own id', async () => {
		const sockets = [];
		try {
			for (let i = 0; i < 5; i++) {
				sockets.push(await connectOpen(fx.server));
			}
			assert.equal(new Set(sockets.map((ws) => ws.id)).size, sockets.length);
		} finally {
			await closeAll(sockets);
		}
	});

	test('#5: a malformed token gets authError "jwt malformed", then #removeAuthToken', async () => {
		const ws = await connect(fx.server);
		try {
			await ws.sendJson({ event: '#handshake', data: { authToken: 'garbage-token' }, cid: 1 });
			const reply = await ws.nextJson();
			assert.deepEqual(reply, {
				rid: 1,
				data: {
					id: reply.data?.id,
					pingTimeout: 30000,
					authError: { message: 'jwt malformed', name: 'AuthTokenInvalidError', isBadToken: true },
					isAuthenticated: false,
				},
			});
			assert.equal(typeof reply.data.id, 'string');
			const next = await ws.nextJson();
			// Missing data and "data": null mean the same (spec §2.1).
			assert.equal(next.event, '#removeAuthToken');
			assert.ok(next.data === undefined || next.data === null, JSON.stringify(next));
			assert.equal(next.cid, undefined);
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('#7: a handshake without cid is not answered; close 4008', async () => {
		const ws = await connect(fx.server);
		await ws.sendJson({ event: '#handshake', data: {} });
		await ws.expectClose(4008);
	});

	test('#8: a handshake with a string cid is not answered; close 4008', async () => {
		const ws = await connect(fx.server);
		await ws.sendJson({ event: '#handshake', data: {}, cid: '1' });
		await ws.expectClose(4008);
	});

	test('#9: a transmit before the handshake closes 4009', async () => {
		const ws = await connect(fx.server);
		await ws.sendJson({ event: 'chat', data: 1 });
		await ws.expectClose(4009);
	});

	test('a #subscribe before the handshake closes 4009', async () => {
		const ws = await connect(fx.server);
		await ws.sendJson({ event: '#subscribe', data: { channel: 'early' }, cid: 1 });
		await ws.expectClose(4009);
	});

	test('invalid JSON before the handshake closes 4009', async () => {
		const ws = await connect(fx.server);
		await ws.sendText('{not json');
		await ws.expectClose(4009);
	});

	test('a response packet before the handshake closes 4009', async () => {
		const ws = await connect(fx.server);
		await ws.sendJson({ rid: 1, data: 1 });
		await ws.expectClose(4009);
	});

	test('#10: a pong (empty text frame) before the handshake closes 4009', async () => {
		const ws = await connect(fx.server);
		await ws.sendText('');
		await ws.expectClose(4009);
	});

	test('#12: a handshake without data is answered', async () => {
		const ws = await connect(fx.server);
		try {
			await ws.sendJson({ event: '#handshake', cid: 7 });
			const reply = await ws.nextJson();
			assert.deepEqual(reply, { rid: 7, data: { id: reply.data?.id, pingTimeout: 30000, isAuthenticated: false } });
			assert.equal(typeof reply.data.id, 'string');
		} finally {
			await ws.close();
		}
	});

	test('a handshake with "authToken": null and extra keys is answered', async () => {
		const ws = await connect(fx.server);
		try {
			await ws.sendJson({ event: '#handshake', data: { authToken: null, extra: { a: 1 } }, cid: 3 });
			const reply = await ws.nextJson();
			assert.equal(reply.rid, 3);
			assert.equal(reply.data.isAuthenticated, false);
			assert.equal(reply.data.authError, undefined);
		} finally {
			await ws.close();
		}
	});

	test('the server keeps serving after the rejected handshakes', async () => {
		await assertServerServes(fx.server);
	});
});

describe('handshake timeout (--handshake-timeout=1500)', () => {
	const fx = useServer({ handshake_timeout: 1500 });

	test('#11: a connection that never sends the handshake is closed 4005 after ~1500 ms', async () => {
		const ws = await connect(fx.server);
		const t0 = Date.now();
		await ws.expectClose(4005, 6000);
		const elapsed = Date.now() - t0;
		assert.ok(elapsed >= 1200, `closed too early, after ${elapsed} ms`);
	});

	test('a connection that completes the handshake in time is not closed by the timer', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.expectNothing(2000);
		} finally {
			await ws.close();
		}
	});
});
