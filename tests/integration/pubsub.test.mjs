// Subscribe, unsubscribe, publish, batches, unanswered packets (spec §2, §6;
// vectors #27, #30–#33, #35–#39, #47, #57, #59).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { IS_REFERENCE, useServer } from '../lib/harness.mjs';
import { encodeFrame, OP } from '../lib/rawws.mjs';
import {
	assertServerServes, closeAll, connectOpen, publishPacket, subscribe, uniqueChannel,
} from '../lib/scraw.mjs';

/** A round trip on ws: once this is answered, everything sent before it has been processed. */
async function sync(ws, cid) {
	await subscribe(ws, uniqueChannel('sync'), cid);
}

describe('pub/sub with the default configuration', () => {
	const fx = useServer();

	test('#27: #subscribe with a cid is answered {"rid":cid}', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: '#subscribe', data: { channel: 'allowed' }, cid: 2 });
			assert.deepEqual(await ws.nextJson(), { rid: 2 });
			// Subscribing again is idempotent and answered the same way.
			await ws.sendJson({ event: '#subscribe', data: { channel: 'allowed' }, cid: 3 });
			assert.deepEqual(await ws.nextJson(), { rid: 3 });
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('names that need escaping in JSON arrive exact, to one subscriber and to two', async () => {
		const names = ['q"uote', 'back\\slash', 'new\nline', 'tab\tand\u0001', 'caf\u00e9 \u{1f600}', uniqueChannel('plain')];
		const a = await connectOpen(fx.server);
		const b = await connectOpen(fx.server);
		try {
			let cid = 2;
			for (const name of names) {
				await subscribe(a, `${name}/one`, cid++);
				await subscribe(a, `${name}/two`, cid++);
				await subscribe(b, `${name}/two`, cid++);
			}
			for (const [i, name] of names.entries()) {
				await a.sendJson({ event: '#publish', data: { channel: `${name}/one`, data: i } });
				assert.deepEqual(await a.nextJson(), publishPacket(`${name}/one`, i));
				await b.sendJson({ event: '#publish', data: { channel: `${name}/two`, data: { i } } });
				assert.deepEqual(await a.nextJson(), publishPacket(`${name}/two`, { i }));
				assert.deepEqual(await b.nextJson(), publishPacket(`${name}/two`, { i }));
			}
			await a.expectNothing(100);
			await b.expectNothing(100);
		} finally {
			await closeAll(a, b);
		}
	});

	test('#30: a non-string channel is refused with InvalidActionError', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: '#subscribe', data: { channel: 42 }, cid: 12 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 12,
				error: { message: 'Subscribe channel name was malformatted', name: 'InvalidActionError' },
			});
		} finally {
			await ws.close();
		}
	});

	test('#33: a publish reaches every subscriber, the publisher too', async () => {
		const ch = uniqueChannel('allowed');
		const a = await connectOpen(fx.server);
		const b = await connectOpen(fx.server);
		try {
			await subscribe(a, ch, 2);
			await subscribe(b, ch, 2);
			await a.sendJson({ event: '#publish', data: { channel: ch, data: { msg: 'hello' } }, cid: 6 });
			const toA = await a.nextPackets(2);
			const expected = publishPacket(ch, { msg: 'hello' });
			if (IS_REFERENCE) {
				// Without outbound middleware the reference delivers synchronously,
				// so its own delivery can come before the reply.
				assert.deepEqual(new Set(toA.map((p) => JSON.stringify(p))), new Set([JSON.stringify({ rid: 6 }), JSON.stringify(expected)]));
			} else {
				// Spec §6.3: the reply comes before the delivery to the publisher.
				assert.deepEqual(toA, [{ rid: 6 }, expected]);
			}
			assert.deepEqual(await b.nextJson(), expected);
			await a.expectNothing(300);
			await b.expectNothing(0);
		} finally {
			await closeAll(a, b);
		}
	});

	test('#35-like: a publish without cid is delivered and not answered', async () => {
		const ch = uniqueChannel();
		const sub = await connectOpen(fx.server);
		const pub = await connectOpen(fx.server);
		try {
			await subscribe(sub, ch, 2);
			await pub.sendJson({ event: '#publish', data: { channel: ch, data: 'fire and forget' } });
			assert.deepEqual(await sub.nextJson(), publishPacket(ch, 'fire and forget'));
			await pub.expectNothing(300);
		} finally {
			await closeAll(sub, pub);
		}
	});

	test('payloads of every JSON type travel unchanged', async () => {
		const ch = uniqueChannel();
		const ws = await connectOpen(fx.server);
		try {
			await subscribe(ws, ch, 2);
			const values = [null, true, false, 0, -1.5, 1e300, 'é ✓ 😀 "quoted" \\ \n', [], {}, [1, [2, { a: null }]],
				{ nested: { deep: [1, 2, 3], s: 'x' } }];
			let cid = 3;
			for (const v of values) {
				await ws.sendJson({ event: '#publish', data: { channel: ch, data: v } });
			}
			for (const v of values) {
				assert.deepEqual(await ws.nextJson(), publishPacket(ch, v));
			}
			// A publish whose data is absent is delivered without data.
			await ws.sendJson({ event: '#publish', data: { channel: ch }, cid });
			const got = await ws.nextPackets(2);
			const delivery = got.find((p) => p.event === '#publish');
			assert.ok(delivery, JSON.stringify(got));
			assert.equal(delivery.data.channel, ch);
			assert.ok(delivery.data.data === undefined || delivery.data.data === null, JSON.stringify(delivery));
			assert.ok(got.some((p) => p.rid === cid), JSON.stringify(got));
		} finally {
			await ws.close();
		}
	});

	test('#36: a publish without a channel is refused with InvalidActionError', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: '#publish', data: { data: 1 }, cid: 10 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 10,
				error: { message: 'Publish channel name was malformatted', name: 'InvalidActionError' },
			});
			// Without a cid the same failure is silent.
			await ws.sendJson({ event: '#publish', data: { data: 1 } });
			await ws.sendJson({ event: '#publish' });
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('#31: #unsubscribe without cid is not answered and stops deliveries', async () => {
		const ch = uniqueChannel('allowed');
		const a = await connectOpen(fx.server);
		const b = await connectOpen(fx.server);
		try {
			await subscribe(a, ch, 2);
			await subscribe(b, ch, 2);
			await a.sendJson({ event: '#unsubscribe', data: ch });
			await sync(a, 3); // no reply to the unsubscribe, only to this
			await b.sendJson({ event: '#publish', data: { channel: ch, data: 'after' }, cid: 3 });
			const got = await b.nextPackets(2);
			assert.ok(got.some((p) => p.rid === 3), JSON.stringify(got));
			assert.ok(got.some((p) => p.event === '#publish'), JSON.stringify(got));
			await a.expectNothing(300);
		} finally {
			await closeAll(a, b);
		}
	});

	test('#unsubscribe with a cid is answered {"rid"} when subscribed', async () => {
		const ch = uniqueChannel();
		const ws = await connectOpen(fx.server);
		try {
			await subscribe(ws, ch, 2);
			await ws.sendJson({ event: '#unsubscribe', data: ch, cid: 3 });
			assert.deepEqual(await ws.nextJson(), { rid: 3 });
		} finally {
			await ws.close();
		}
	});

	test('#32: #unsubscribe with a cid from a channel not subscribed gets BrokerError', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: '#unsubscribe', data: 'notSubscribed', cid: 11 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 11,
				error: {
					message: `Failed to unsubscribe socket from the notSubscribed channel - InvalidActionError: Socket ${ws.id} tried to unsubscribe from a channel which it is not subscribed to`,
					name: 'BrokerError',
				},
			});
			// Without a cid the same failure is silent.
			await ws.sendJson({ event: '#unsubscribe', data: 'notSubscribed' });
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('#unsubscribe with a non-string channel and a cid gets InvalidActionError', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: '#unsubscribe', data: { channel: 'x' }, cid: 4 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 4,
				error: { message: 'Unsubscribe channel name was malformatted', name: 'InvalidActionError' },
			});
		} finally {
			await ws.close();
		}
	});

	test('#57: #subscribe without cid is not answered and does not subscribe', async () => {
		const ch = uniqueChannel('allowed');
		const a = await connectOpen(fx.server);
		const b = await connectOpen(fx.server);
		try {
			await a.sendJson({ event: '#subscribe', data: { channel: ch } });
			await sync(a, 2);
			await subscribe(b, ch, 2);
			await b.sendJson({ event: '#publish', data: { channel: ch, data: 'only b' }, cid: 3 });
			const got = await b.nextPackets(2);
			assert.ok(got.some((p) => p.event === '#publish'), JSON.stringify(got));
			await a.expectNothing(300);
		} finally {
			await closeAll(a, b);
		}
	});

	test('#39: a transmit nobody receives is not answered', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: 'chat', data: { text: 'hi' } });
			await ws.sendJson({ event: '#customHashEvent', data: 1 });
			await ws.sendJson({ event: '#disconnect', data: { code: 1000 } });
			await ws.expectNothing(300);
			await sync(ws, 2);
		} finally {
			await ws.close();
		}
	});

	test('an invoke nobody handles is never answered', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: 'echo', data: { a: 1 }, cid: 2 });
			await ws.expectNothing(500);
			await sync(ws, 3);
		} finally {
			await ws.close();
		}
	});

	test('#47: raw messages are not answered and do not close the socket', async () => {
		const ws = await connectOpen(fx.server);
		try {
			for (const text of ['hello raw', '{"foo":1}', '{broken', '{"rid":999,"data":1}', '#2', '[', '"str"', '42', 'null', '[1,2,"x"]']) {
				await ws.sendText(text);
			}
			await ws.sendBinary(Buffer.from([0, 1, 2, 255]));
			await ws.expectNothing(300);
			await sync(ws, 2);
		} finally {
			await ws.close();
		}
	});

	test('#59: an event with a string cid is a transmit: no reply', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: 'echo', data: 1, cid: 'x' });
			await ws.sendJson({ event: '#publish', data: { channel: 'whatever', data: 1 }, cid: 'y' });
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('#removeAuthToken from the client is never answered, even with a cid', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson({ event: '#removeAuthToken' });
			await ws.sendJson({ event: '#removeAuthToken', cid: 5 });
			await ws.expectNothing(300);
			await sync(ws, 6);
		} finally {
			await ws.close();
		}
	});

	test('a batch of #subscribe packets gets every one answered, in order', async () => {
		const ws = await connectOpen(fx.server);
		try {
			const chans = [uniqueChannel('b'), uniqueChannel('b'), uniqueChannel('b')];
			await ws.sendJson(chans.map((channel, i) => ({ event: '#subscribe', data: { channel }, cid: 2 + i })));
			assert.deepEqual(await ws.nextPackets(3), [{ rid: 2 }, { rid: 3 }, { rid: 4 }]);
		} finally {
			await ws.close();
		}
	});

	test('a batch with a transmit, a subscribe and a publish is processed in order', async () => {
		const ch = uniqueChannel('b');
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendJson([
				{ event: 'chat', data: 'in-array' },
				{ event: '#subscribe', data: { channel: ch }, cid: 2 },
				{ event: '#publish', data: { channel: ch, data: 'batched' }, cid: 3 },
			]);
			const got = await ws.nextPackets(3);
			const idx = (pred) => got.findIndex(pred);
			const rid2 = idx((p) => p.rid === 2);
			const rid3 = idx((p) => p.rid === 3);
			const pub = idx((p) => p.event === '#publish');
			assert.ok(rid2 >= 0 && rid3 >= 0 && pub >= 0, JSON.stringify(got));
			assert.ok(rid2 < rid3 && rid2 < pub, `subscribe answered first: ${JSON.stringify(got)}`);
			assert.deepEqual(got[pub], publishPacket(ch, 'batched'));
			assert.deepEqual(got[rid2], { rid: 2 });
			assert.deepEqual(got[rid3], { rid: 3 });
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('an empty batch and a batch of junk are ignored', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendText('[]');
			await ws.sendJson([1, 'x', null, { foo: 1 }, { event: 'chat' }]);
			await ws.expectNothing(300);
			await sync(ws, 2);
		} finally {
			await ws.close();
		}
	});

	test('1,000 publishes from one publisher arrive in order at 2 subscribers', async () => {
		const N = 1000;
		const ch = uniqueChannel('order');
		const s1 = await connectOpen(fx.server, { autoPong: true });
		const s2 = await connectOpen(fx.server, { autoPong: true });
		const pub = await connectOpen(fx.server, { autoPong: true });
		try {
			await subscribe(s1, ch, 2);
			await subscribe(s2, ch, 2);
			for (let i = 0; i < N; i++) {
				// Half with a cid (invokePublish), half without (transmitPublish).
				pub.sendJson({ event: '#publish', data: { channel: ch, data: { seq: i } }, ...(i % 2 ? {} : { cid: 10 + i }) });
			}
			for (const s of [s1, s2]) {
				const got = await s.nextPackets(N, 20000);
				assert.deepEqual(got.map((p) => p.data?.data?.seq), Array.from({ length: N }, (_, i) => i));
				assert.ok(got.every((p) => p.event === '#publish' && p.data.channel === ch));
			}
			const replies = await pub.nextPackets(N / 2, 20000);
			assert.deepEqual(new Set(replies.map((r) => r.rid)), new Set(Array.from({ length: N / 2 }, (_, i) => 10 + 2 * i)));
		} finally {
			await closeAll(s1, s2, pub);
		}
	});

	// 8 MiB in one write: far more than the worker reads for one socket in
	// one event (8 reads of 64 KiB), so it must come back for the rest by
	// itself; an edge-triggered socket gets no second notice for bytes
	// that were already waiting.
	test('an 8 MiB burst of publishes sent at once is read whole: every one answered', async () => {
		const N = 6000;
		const ch = uniqueChannel('burst');
		const ws = await connectOpen(fx.server, { autoPong: true });
		try {
			const frames = [];
			for (let i = 0; i < N; i++) {
				const text = JSON.stringify({ event: '#publish', data: { channel: ch, data: { seq: i, pad: 'p'.repeat(1350) } }, cid: 10 + i });
				frames.push(encodeFrame({ opcode: OP.TEXT, payload: text }));
			}
			const burst = Buffer.concat(frames);
			assert.ok(burst.length > 8 * 1024 * 1024, `${burst.length} bytes`);
			await ws.sendRaw(burst);
			const replies = await ws.nextPackets(N, 20000);
			assert.deepEqual(replies.map((r) => r.rid), Array.from({ length: N }, (_, i) => 10 + i));
			assert.ok(replies.every((r) => r.error === undefined), JSON.stringify(replies.find((r) => r.error)));
		} finally {
			await closeAll(ws);
		}
	});

	test('a closed subscriber is forgotten: publishing to its channel still works', async () => {
		const ch = uniqueChannel();
		const gone = await connectOpen(fx.server);
		const pub = await connectOpen(fx.server);
		try {
			await subscribe(gone, ch, 2);
			gone.destroy(); // no close handshake: the TCP connection just drops
			await subscribe(pub, ch, 2);
			for (let i = 0; i < 20; i++) {
				await pub.sendJson({ event: '#publish', data: { channel: ch, data: i } });
			}
			const got = await pub.nextPackets(20);
			assert.deepEqual(got.map((p) => p.data.data), Array.from({ length: 20 }, (_, i) => i));
		} finally {
			await closeAll(gone, pub);
		}
		await assertServerServes(fx.server);
	});
});

describe('--allow-client-publish=false', () => {
	const fx = useServer({ allow_client_publish: false });

	test('#37: a publish with a cid is refused; without a cid it is dropped silently', async () => {
		const ch = uniqueChannel('allowed');
		const pub = await connectOpen(fx.server);
		const sub = await connectOpen(fx.server);
		try {
			await subscribe(sub, ch, 2);
			await subscribe(pub, ch, 2);
			await pub.sendJson({ event: '#publish', data: { channel: ch, data: 1 }, cid: 3 });
			assert.deepEqual(await pub.nextJson(), {
				rid: 3,
				error: { message: 'Client publish feature is disabled', name: 'InvalidActionError' },
			});
			await pub.sendJson({ event: '#publish', data: { channel: ch, data: 2 } });
			await pub.expectNothing(300);
			await sub.expectNothing(0);
		} finally {
			await closeAll(pub, sub);
		}
	});

	test('subscribing still works', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await subscribe(ws, uniqueChannel(), 2);
		} finally {
			await ws.close();
		}
	});
});

describe('--socket-channel-limit=2', () => {
	const fx = useServer({ socket_channel_limit: 2 });

	test('#38: the third channel is refused with BrokerError naming the socket and the limit', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await subscribe(ws, 'c1', 4);
			await subscribe(ws, 'c2', 5);
			await ws.sendJson({ event: '#subscribe', data: { channel: 'c3' }, cid: 6 });
			assert.deepEqual(await ws.nextJson(), {
				rid: 6,
				error: {
					message: `Failed to subscribe socket to the c3 channel - InvalidActionError: Socket ${ws.id} tried to exceed the channel subscription limit of 2`,
					name: 'BrokerError',
				},
			});
			// After an unsubscribe there is room again.
			await ws.sendJson({ event: '#unsubscribe', data: 'c1' });
			await subscribe(ws, 'c3', 7);
		} finally {
			await ws.close();
		}
	});

	test('the limit is per socket', async () => {
		const a = await connectOpen(fx.server);
		const b = await connectOpen(fx.server);
		try {
			await subscribe(a, 'c1', 2);
			await subscribe(a, 'c2', 3);
			await subscribe(b, 'c1', 2);
			await subscribe(b, 'c2', 3);
		} finally {
			await closeAll(a, b);
		}
	});
});

// A socket's deliveries on a channel only it holds, and its replies, are
// written into one block of its output (conn_reserve) rather than queued
// one buffer each; frames of a channel it shares are queued as references
// between them. While the socket does not read, those buffers fill, are
// written in part, and are appended to after a partial write; frames
// larger than a block get a buffer of their own. 13 MB is well past what
// loopback's kernel buffers absorb (about 4 MB here), so the worker's own
// queue holds most of it.
describe('a socket that does not read: its own deliveries and replies, queued', () => {
	const fx = useServer({ socket_output_limit: 64 * 1024 * 1024 });

	test('arrive whole and in order among a shared channel\'s, and every reply once', async () => {
		const own = uniqueChannel('own');
		const shared = uniqueChannel('shared');
		const SIZES = [0, 40, 300, 4000, 5000, 1200, 9000, 17];
		const N = 4500;
		const N_SHARED = 1500;
		const REPLY_EVERY = 97;
		const pad = (i) => String.fromCharCode(97 + (i % 26)).repeat(SIZES[i % SIZES.length]);
		const ws = await connectOpen(fx.server, { autoPong: true });
		const other = await connectOpen(fx.server, { autoPong: true });
		const reader = await connectOpen(fx.server, { autoPong: true });
		try {
			await subscribe(ws, own, 2);
			await subscribe(ws, shared, 3);
			await subscribe(reader, shared, 2);
			ws.pause();
			const rids = new Set();
			const sendOwn = async () => {
				for (let i = 0; i < N; i++) {
					const packet = { event: '#publish', data: { channel: own, data: { seq: i, pad: pad(i) } } };
					if (i % REPLY_EVERY === 0) {
						packet.cid = 1000 + i;
						rids.add(1000 + i);
					}
					await ws.sendJson(packet);
				}
			};
			// Another socket publishes on the shared channel meanwhile; a
			// third one reads it, so those frames stay shared.
			const sendShared = async () => {
				for (let i = 0; i < N_SHARED; i++) {
					await other.sendJson({ event: '#publish', data: { channel: shared, data: { seq: i, pad: 'x'.repeat(i % 50) } } });
				}
			};
			const readShared = async () => {
				for (let i = 0; i < N_SHARED; i++) {
					assert.equal((await reader.nextJson(10000)).data.data.seq, i);
				}
			};
			await Promise.all([sendOwn(), sendShared(), readShared()]);
			ws.resume();
			const next = { [own]: 0, [shared]: 0 };
			while (next[own] < N || next[shared] < N_SHARED || rids.size > 0) {
				const p = await ws.nextJson(10000);
				if (p.rid !== undefined) {
					assert.ok(rids.delete(p.rid), `an unexpected or repeated reply ${JSON.stringify(p)}`);
					assert.equal(p.error, undefined);
					continue;
				}
				assert.equal(p.event, '#publish');
				const seq = next[p.data.channel]++;
				assert.equal(p.data.data.seq, seq, `${p.data.channel}: in order, nothing lost`);
				const want = p.data.channel === own ? pad(seq) : 'x'.repeat(seq % 50);
				assert.equal(p.data.data.pad, want, `${p.data.channel} ${seq} is whole`);
			}
			await ws.expectNothing(200);
			await assertServerServes(fx.server);
		} finally {
			await closeAll(ws, other, reader);
		}
	});
});
