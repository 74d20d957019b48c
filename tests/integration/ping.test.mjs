// Ping / pong (spec §4; vectors #14–#16).
//
// The reference pings from the moment the WebSocket is accepted; ag-worker
// may start only after the handshake (spec §4.2 allows it). These tests
// complete the handshake at once, so both behaviours pass.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { useServer } from '../lib/harness.mjs';
import { OP } from '../lib/rawws.mjs';
import { closeAll, connectOpen, subscribe, uniqueChannel } from '../lib/scraw.mjs';

describe('protocol v2 pings (--ping-interval=1000 --ping-timeout=3000)', () => {
	const fx = useServer({ ping_interval: 1000, ping_timeout: 3000 });

	test('#14: the handshake advertises pingTimeout 3000; a client that pongs gets a ping every ~second and stays', async () => {
		const ws = await connectOpen(fx.server, { autoPong: true, pingTimeout: 3000 });
		try {
			// Longer than pingTimeout: the pongs keep the connection alive.
			await ws.expectNothing(3600);
			assert.ok(ws.pingsReceived >= 3, `got ${ws.pingsReceived} pings in 3.6 s`);
			assert.ok(ws.pingsReceived <= 5, `got ${ws.pingsReceived} pings in 3.6 s`);
			await subscribe(ws, uniqueChannel(), 2);
		} finally {
			await ws.close();
		}
	});

	test('a ping is an empty, unmasked text frame', async () => {
		const ws = await connectOpen(fx.server);
		try {
			const f = await ws.nextFrame(2500);
			assert.equal(f.opcode, OP.TEXT, `got ${f}`);
			assert.equal(f.fin, true);
			assert.equal(f.masked, false);
			assert.equal(f.payload.length, 0);
		} finally {
			await ws.close();
		}
	});

	test('#15: a client that never pongs gets pings, then close 4001 about pingTimeout later', async () => {
		const ws = await connectOpen(fx.server);
		const t0 = Date.now();
		const { code } = await ws.expectClose(4001, 8000);
		const elapsed = Date.now() - t0;
		assert.equal(code, 4001);
		assert.ok(ws.pingsReceived >= 1, `got ${ws.pingsReceived} pings before the close`);
		assert.ok(elapsed >= 2000, `closed after only ${elapsed} ms`);
	});

	test('a pong timeout on one socket leaves the others alone', async () => {
		const good = await connectOpen(fx.server, { autoPong: true });
		const silent = await connectOpen(fx.server);
		try {
			await silent.expectClose(4001, 8000);
			await good.expectNothing(200);
			await subscribe(good, uniqueChannel(), 2);
		} finally {
			await closeAll(good, silent);
		}
	});
});

describe('protocol v1 pings (--protocol-version=1 --ping-interval=1000 --ping-timeout=3000)', () => {
	const fx = useServer({ protocol_version: 1, ping_interval: 1000, ping_timeout: 3000 });

	test('#16: the server pings "#1"; a client answering "#2" stays connected', async () => {
		const ws = await connectOpen(fx.server, { autoPong: true, pingString: '#1', pingTimeout: 3000 });
		try {
			await ws.expectNothing(3600);
			assert.ok(ws.pingsReceived >= 3, `got ${ws.pingsReceived} "#1" pings in 3.6 s`);
			await subscribe(ws, uniqueChannel(), 2);
		} finally {
			await ws.close();
		}
	});

	test('the v1 ping is the text "#1"', async () => {
		const ws = await connectOpen(fx.server);
		try {
			const f = await ws.nextMessage(2500, { skipPings: false });
			assert.equal(f.text, '#1', `got ${f}`);
		} finally {
			await ws.close();
		}
	});

	test('a v1 client that never answers is closed 4001', async () => {
		const ws = await connectOpen(fx.server, { pingString: '#1' });
		await ws.expectClose(4001, 8000);
	});
});

describe('--ping-timeout-disabled', () => {
	const fx = useServer({ ping_interval: 300, ping_timeout: 1000, ping_timeout_disabled: true });

	test('no pings are sent and a silent client is not closed', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.expectNothing(2000, { ignorePings: false });
			await subscribe(ws, uniqueChannel(), 2);
		} finally {
			await ws.close();
		}
	});
});
