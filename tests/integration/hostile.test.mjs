// Hostile or careless clients found in review: each must get a clear answer
// and cost the worker nothing lasting, and every other client must still be
// served afterwards.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { SKIP_ON_REFERENCE, useServer } from '../lib/harness.mjs';
import { upgrade } from '../lib/rawws.mjs';
import {
	assertServerServes, closeAll, connect, connectOpen, publishPacket, subscribe, uniqueChannel,
} from '../lib/scraw.mjs';

describe('an Origin of several kilobytes under a restricted origins list', () => {
	const fx = useServer({ origins: 'allowed.example.com:*' });

	test('gets the whole 403 body and the worker keeps serving', async () => {
		const origin = `http://${'x'.repeat(6000)}.example.com`;
		const res = await upgrade(fx.port, { headers: { Origin: origin } });
		res.ws?.destroy();
		assert.equal(res.status, 403, res.statusLine);
		assert.equal(res.body, `Failed to authorize socket handshake - Invalid origin: ${origin}`);
		const ok = await upgrade(fx.port, { headers: { Origin: 'http://allowed.example.com' } });
		ok.ws?.destroy();
		assert.equal(ok.status, 101, `an allowed client is still served: ${ok.statusLine}`);
	});
});

describe('messages before the handshake', () => {
	const fx = useServer({}, { skip: SKIP_ON_REFERENCE });

	test('a message over 64 KiB before the handshake is refused with 1009', { skip: SKIP_ON_REFERENCE }, async () => {
		const ws = await connect(fx.server);
		try {
			await ws.sendText(`[${'0,'.repeat(40000)}0]`);
			await ws.expectClose(1009);
		} finally {
			ws.destroy();
		}
		await assertServerServes(fx.server);
	});

	test('after the handshake the same message is accepted (and ignored as raw)', { skip: SKIP_ON_REFERENCE }, async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendText(`[${'0,'.repeat(40000)}0]`);
			await subscribe(ws, uniqueChannel('after-big'), 2);
		} finally {
			await ws.close();
		}
	});
});

describe('a publish larger than socket_output_limit', () => {
	const fx = useServer({ socket_output_limit: 65536 }, { skip: SKIP_ON_REFERENCE });

	test('reaches subscribers that keep up instead of cutting them all off', { skip: SKIP_ON_REFERENCE }, async () => {
		const ch = uniqueChannel('big');
		const subs = await Promise.all([connectOpen(fx.server), connectOpen(fx.server), connectOpen(fx.server)]);
		const pub = await connectOpen(fx.server);
		try {
			for (const ws of subs) {
				await subscribe(ws, ch, 2);
			}
			const data = 'y'.repeat(200000);
			await pub.sendJson({ event: '#publish', data: { channel: ch, data }, cid: 5 });
			assert.deepEqual(await pub.nextJson(), { rid: 5 });
			for (const ws of subs) {
				assert.deepEqual(await ws.nextJson(5000), publishPacket(ch, data));
			}
		} finally {
			await closeAll(subs, pub);
		}
		await assertServerServes(fx.server);
	});
});

describe('the default socket_channel_limit of 1000', () => {
	const fx = useServer({}, { skip: SKIP_ON_REFERENCE });

	test('the 1001st channel is refused with BrokerError', { skip: SKIP_ON_REFERENCE }, async () => {
		const ws = await connectOpen(fx.server);
		try {
			const batch = [];
			for (let i = 0; i < 1000; i++) {
				batch.push({ event: '#subscribe', data: { channel: `lim-${i}` }, cid: 10 + i });
			}
			await ws.sendJson(batch);
			const replies = await ws.nextPackets(1000, 10000);
			assert.ok(replies.every((r) => r.error === undefined), 'the first 1000 subscribes succeed');
			await ws.sendJson({ event: '#subscribe', data: { channel: 'lim-extra' }, cid: 5000 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 5000,
				error: {
					message: `Failed to subscribe socket to the lim-extra channel - InvalidActionError: Socket ${ws.id} tried to exceed the channel subscription limit of 1000`,
					name: 'BrokerError',
				},
			});
		} finally {
			await ws.close();
		}
	});
});
