// Server-side batching right after the handshake (spec §2.3, vector #46):
// with batch_on_handshake, the packets sent to a client during
// batch_on_handshake_duration leave as JSON arrays, one every batch_interval.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { IS_REFERENCE, useServer } from '../lib/harness.mjs';
import { connectOpen, publishPacket, uniqueChannel } from '../lib/scraw.mjs';

describe('batch_on_handshake', () => {
	const fx = useServer({
		batch_on_handshake: true,
		batch_on_handshake_duration: 400,
		batch_interval: 50,
	});

	test('#46: two subscribes right after the handshake are answered in one array', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: '#subscribe', data: { channel: 'allowed' }, cid: 2 });
			await ws.sendJson({ event: '#subscribe', data: { channel: 'withData' }, cid: 3 });
			assert.deepEqual(await ws.nextJson(), [{ rid: 2 }, { rid: 3 }]);
		} finally {
			await ws.close();
		}
	});

	test('a publish in the window keeps its order: the rids, then the delivery', async () => {
		const ws = await connectOpen(fx.server);
		const ch = uniqueChannel('batch');
		try {
			await ws.sendJson([
				{ event: '#subscribe', data: { channel: ch }, cid: 2 },
				{ event: '#publish', data: { channel: ch, data: { n: 1 } }, cid: 3 },
			]);
			// agcluster sends the pending batch, then the delivery as its
			// own (shared) frame; the reference puts the delivery in the
			// batch, before the rid. Both arrive; the order is checked on
			// agcluster.
			const got = await ws.nextPackets(3);
			const want = [{ rid: 2 }, { rid: 3 }, publishPacket(ch, { n: 1 })];
			if (IS_REFERENCE) {
				assert.deepEqual(new Set(got.map((p) => JSON.stringify(p))), new Set(want.map((p) => JSON.stringify(p))));
			} else {
				assert.deepEqual(got, want);
			}
		} finally {
			await ws.close();
		}
	});

	test('after the window, packets travel one per frame again', async () => {
		const ws = await connectOpen(fx.server);
		try {
			// Well past batch_on_handshake_duration (400 ms).
			await new Promise((r) => setTimeout(r, 700));
			await ws.sendJson({ event: '#subscribe', data: { channel: 'late' }, cid: 4 });
			assert.deepEqual(await ws.nextJson(), { rid: 4 });
		} finally {
			await ws.close();
		}
	});
});

describe('without batch_on_handshake (the default)', () => {
	const fx = useServer();

	test('packets right after the handshake are not batched', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: '#subscribe', data: { channel: 'a' }, cid: 2 });
			await ws.sendJson({ event: '#subscribe', data: { channel: 'b' }, cid: 3 });
			assert.deepEqual(await ws.nextJson(), { rid: 2 });
			assert.deepEqual(await ws.nextJson(), { rid: 3 });
		} finally {
			await ws.close();
		}
	});
});
