// SocketCluster protocol helpers on top of RawWs, for the integration tests.

import assert from 'node:assert/strict';

import { RawWs } from './rawws.mjs';

let channelCounter = 0;

/** A channel name not used by any other test in this process. */
export function uniqueChannel(prefix = 'ch') {
	channelCounter++;
	return `${prefix}-${process.pid}-${channelCounter}`;
}

/** A raw WebSocket on the server's path, before any SocketCluster traffic. */
export function connect(server, opts = {}) {
	return RawWs.connect(server.port, { path: server.path, ...opts });
}

/**
 * Sends #handshake and checks the reply's shape. Returns its data
 * ({ id, pingTimeout, isAuthenticated, authError? }).
 */
export async function handshake(ws, { cid = 1, authToken = null, pingTimeout } = {}) {
	await ws.sendJson({ event: '#handshake', data: { authToken }, cid });
	const reply = await ws.nextJson();
	assert.equal(reply.rid, cid, `handshake reply: ${JSON.stringify(reply)}`);
	assert.ok(reply.data && typeof reply.data === 'object', `handshake reply has data: ${JSON.stringify(reply)}`);
	assert.equal(reply.error, undefined);
	assert.equal(typeof reply.data.id, 'string');
	assert.ok(reply.data.id.length > 0);
	if (pingTimeout !== undefined) {
		assert.equal(reply.data.pingTimeout, pingTimeout);
	}
	return reply.data;
}

/** Connects and completes the handshake; returns the RawWs with .id set. */
export async function connectOpen(server, opts = {}) {
	const ws = await connect(server, opts);
	const data = await handshake(ws, opts);
	ws.id = data.id;
	ws.handshakeData = data;
	return ws;
}

/** #subscribe with a cid; expects {"rid":cid}. */
export async function subscribe(ws, channel, cid) {
	await ws.sendJson({ event: '#subscribe', data: { channel }, cid });
	assert.deepEqual(await ws.nextJson(), { rid: cid }, `subscribe ${channel}`);
}

/** The frame a subscriber receives for a publish. */
export function publishPacket(channel, data) {
	return { event: '#publish', data: { channel, data } };
}

/**
 * Checks that the server still serves a new, well-behaved client: handshake,
 * subscribe, publish with a cid, and both the reply and the delivery arrive.
 */
export async function assertServerServes(server) {
	server.assertAlive();
	const ws = await connectOpen(server);
	try {
		const ch = uniqueChannel('alive');
		await subscribe(ws, ch, 2);
		await ws.sendJson({ event: '#publish', data: { channel: ch, data: { ok: true } }, cid: 3 });
		const got = await ws.nextPackets(2);
		assert.deepEqual(
			new Set(got.map((p) => JSON.stringify(p))),
			new Set([JSON.stringify({ rid: 3 }), JSON.stringify(publishPacket(ch, { ok: true }))]),
			'the server still answers a well-behaved client',
		);
	} finally {
		await ws.close();
	}
}

/** Closes every RawWs given, ignoring nulls and errors. */
export async function closeAll(...sockets) {
	await Promise.all(sockets.flat().filter(Boolean).map((ws) => ws.close().catch(() => {})));
}
