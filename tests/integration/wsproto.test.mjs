// The WebSocket layer (RFC 6455): violations close the offending connection
// with the right code, and the server keeps serving everyone else;
// fragmentation, control frames and the close handshake work.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { useServer } from '../lib/harness.mjs';
import { encodeFrame, OP } from '../lib/rawws.mjs';
import { assertServerServes, closeAll, connectOpen, subscribe, uniqueChannel } from '../lib/scraw.mjs';

const MAX_PAYLOAD = 1024;

/** A JSON text of exactly n bytes: a #publish whose data is padded. */
function publishOfSize(channel, n) {
	const base = JSON.stringify({ event: '#publish', data: { channel, data: '' } });
	assert.ok(n >= base.length);
	return JSON.stringify({ event: '#publish', data: { channel, data: 'x'.repeat(n - base.length) } });
}

describe(`WebSocket protocol violations (--max-payload=${MAX_PAYLOAD})`, () => {
	const fx = useServer({ max_payload: MAX_PAYLOAD });

	// Each case runs on an open (handshaken) connection; the server must
	// close it with `code`, and then serve a new well-behaved client.
	const cases = [
		['an unmasked frame', 1002, (ws) => ws.sendFrame({ opcode: OP.TEXT, payload: '{"event":"chat","data":1}', mask: false })],
		['invalid UTF-8 in a text frame', 1007, (ws) => ws.sendFrame({ opcode: OP.TEXT, payload: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) })],
		['a UTF-16 surrogate encoded in UTF-8', 1007, (ws) => ws.sendFrame({ opcode: OP.TEXT, payload: Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]) })],
		['invalid UTF-8 split across fragments', 1007, async (ws) => {
			await ws.sendFrame({ opcode: OP.TEXT, payload: Buffer.from([0x22, 0xe2, 0x82]), fin: false });
			await ws.sendFrame({ opcode: OP.CONT, payload: Buffer.from([0x28, 0x22]) });
		}],
		[`a message above --max-payload (${MAX_PAYLOAD * 2} bytes in one frame)`, 1009,
			(ws) => ws.sendText(publishOfSize('big', MAX_PAYLOAD * 2))],
		['a fragmented message whose total passes --max-payload', 1009, async (ws) => {
			const text = publishOfSize('big', 1500);
			await ws.sendFrame({ opcode: OP.TEXT, payload: text.slice(0, 500), fin: false });
			await ws.sendFrame({ opcode: OP.CONT, payload: text.slice(500, 1000), fin: false });
			await ws.sendFrame({ opcode: OP.CONT, payload: text.slice(1000) });
		}],
		['a reserved data opcode (0x3)', 1002, (ws) => ws.sendFrame({ opcode: 0x3, payload: 'x' })],
		['a reserved control opcode (0xB)', 1002, (ws) => ws.sendFrame({ opcode: 0xb, payload: 'x' })],
		['RSV1 set without a negotiated extension', 1002, (ws) => ws.sendFrame({ opcode: OP.TEXT, payload: '{}', rsv: 4 })],
		['RSV2 set', 1002, (ws) => ws.sendFrame({ opcode: OP.TEXT, payload: '{}', rsv: 2 })],
		['RSV3 set', 1002, (ws) => ws.sendFrame({ opcode: OP.TEXT, payload: '{}', rsv: 1 })],
		['a continuation frame with no message in progress', 1002, (ws) => ws.sendFrame({ opcode: OP.CONT, payload: 'x' })],
		['a new text frame while a fragmented message is in progress', 1002, async (ws) => {
			await ws.sendFrame({ opcode: OP.TEXT, payload: '{"event":', fin: false });
			await ws.sendFrame({ opcode: OP.TEXT, payload: '"chat"}' });
		}],
		['a ping with a payload over 125 bytes', 1002, (ws) => ws.sendFrame({ opcode: OP.PING, payload: 'p'.repeat(126) })],
		['a fragmented ping', 1002, (ws) => ws.sendFrame({ opcode: OP.PING, payload: 'p', fin: false })],
		['a close frame with a 1-byte body', 1002, (ws) => ws.sendFrame({ opcode: OP.CLOSE, payload: Buffer.from([0x03]) })],
		['a close frame with a code that may not be sent (1005)', 1002, (ws) => ws.sendClose(1005)],
		['a close frame with a code that may not be sent (999)', 1002, (ws) => ws.sendClose(999)],
		['a close frame whose reason is not UTF-8', 1007, (ws) => ws.sendFrame({
			opcode: OP.CLOSE, payload: Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from([0xff, 0xfe])]),
		})],
	];

	for (const [name, code, send] of cases) {
		test(`${name} closes ${code}; others are still served`, async () => {
			const bystander = await connectOpen(fx.server);
			const ws = await connectOpen(fx.server);
			try {
				const ch = uniqueChannel();
				await subscribe(bystander, ch, 2);
				await send(ws);
				await ws.expectClose(code);
				// The bystander's session survives and works.
				await bystander.sendJson({ event: '#publish', data: { channel: ch, data: 'still here' }, cid: 3 });
				const got = await bystander.nextPackets(2);
				assert.ok(got.some((p) => p.rid === 3) && got.some((p) => p.event === '#publish'), JSON.stringify(got));
				await assertServerServes(fx.server);
			} finally {
				await closeAll(ws, bystander);
			}
		});
	}

	test(`a message of exactly --max-payload (${MAX_PAYLOAD} bytes) is accepted`, async () => {
		const ch = uniqueChannel('m');
		const ws = await connectOpen(fx.server);
		try {
			await subscribe(ws, ch, 2);
			const text = publishOfSize(ch, MAX_PAYLOAD);
			assert.equal(Buffer.byteLength(text), MAX_PAYLOAD);
			await ws.sendText(text);
			assert.deepEqual(await ws.nextJson(), JSON.parse(text));
		} finally {
			await ws.close();
		}
	});
});

describe('WebSocket framing that must work', () => {
	const fx = useServer();

	test('a #subscribe in 3 fragments with a ping in between is answered; the ping gets a pong', async () => {
		const ws = await connectOpen(fx.server);
		try {
			const text = JSON.stringify({ event: '#subscribe', data: { channel: uniqueChannel('frag') }, cid: 2 });
			await ws.sendFrame({ opcode: OP.TEXT, payload: text.slice(0, 10), fin: false });
			await ws.sendFrame({ opcode: OP.PING, payload: 'between' });
			await ws.sendFrame({ opcode: OP.CONT, payload: text.slice(10, 30), fin: false });
			await ws.sendFrame({ opcode: OP.CONT, payload: text.slice(30) });
			const pong = await ws.nextFrame();
			assert.equal(pong.opcode, OP.PONG, `got ${pong}`);
			assert.equal(pong.text, 'between');
			assert.equal(pong.masked, false);
			const reply = await ws.nextMessage();
			assert.deepEqual(reply.json, { rid: 2 });
		} finally {
			await ws.close();
		}
	});

	test('a fragment boundary inside a multi-byte UTF-8 character is fine', async () => {
		const ch = uniqueChannel('utf8');
		const ws = await connectOpen(fx.server);
		try {
			await subscribe(ws, ch, 2);
			const bytes = Buffer.from(JSON.stringify({ event: '#publish', data: { channel: ch, data: '€uro 😀' } }));
			const cut = bytes.indexOf(Buffer.from('€')) + 1;
			await ws.sendFrame({ opcode: OP.TEXT, payload: bytes.subarray(0, cut), fin: false });
			await ws.sendFrame({ opcode: OP.CONT, payload: bytes.subarray(cut) });
			assert.deepEqual(await ws.nextJson(), { event: '#publish', data: { channel: ch, data: '€uro 😀' } });
		} finally {
			await ws.close();
		}
	});

	test('a WebSocket ping is answered with a pong carrying the same payload', async () => {
		const ws = await connectOpen(fx.server);
		try {
			await ws.sendPing(Buffer.from([1, 2, 3, 250]));
			const pong = await ws.nextFrame();
			assert.equal(pong.opcode, OP.PONG, `got ${pong}`);
			assert.deepEqual([...pong.payload], [1, 2, 3, 250]);
			// An unsolicited pong is ignored.
			await ws.sendPong('unsolicited');
			await ws.expectNothing(300);
		} finally {
			await ws.close();
		}
	});

	test('a frame written one byte at a time is understood', async () => {
		const ws = await connectOpen(fx.server);
		try {
			const bytes = encodeFrame({ opcode: OP.TEXT, payload: JSON.stringify({ event: '#subscribe', data: { channel: uniqueChannel() }, cid: 2 }) });
			for (const b of bytes) {
				await ws.sendRaw(Buffer.from([b]));
			}
			assert.deepEqual(await ws.nextJson(), { rid: 2 });
		} finally {
			await ws.close();
		}
	});

	test('several frames in one TCP write are all processed', async () => {
		const ws = await connectOpen(fx.server);
		try {
			const frames = [2, 3, 4].map((cid) => encodeFrame({ opcode: OP.TEXT, payload: JSON.stringify({ event: '#subscribe', data: { channel: uniqueChannel() }, cid }) }));
			await ws.sendRaw(Buffer.concat(frames));
			assert.deepEqual(await ws.nextPackets(3), [{ rid: 2 }, { rid: 3 }, { rid: 4 }]);
		} finally {
			await ws.close();
		}
	});

	test('frames with 16-bit and 64-bit lengths are understood', async () => {
		const ch = uniqueChannel('len');
		const ws = await connectOpen(fx.server);
		try {
			await subscribe(ws, ch, 2);
			for (const size of [200, 70000]) {
				const data = 'y'.repeat(size);
				await ws.sendJson({ event: '#publish', data: { channel: ch, data } });
				const got = await ws.nextMessage(5000);
				assert.deepEqual(got.json, { event: '#publish', data: { channel: ch, data } });
				assert.equal(got.masked, false);
			}
		} finally {
			await ws.close();
		}
	});

	test('the client close frame is echoed with its code, then the server ends the connection', async () => {
		const ws = await connectOpen(fx.server);
		await ws.sendClose(1000, 'bye');
		const f = await ws.nextFrame();
		assert.equal(f.opcode, OP.CLOSE, `got ${f}`);
		assert.equal(f.closeCode, 1000);
		assert.equal(f.masked, false);
		await ws.waitEnd(3000);
	});

	test('an application close code (4321) is echoed too', async () => {
		const ws = await connectOpen(fx.server);
		await ws.sendClose(4321, 'app');
		const f = await ws.nextFrame();
		assert.equal(f.opcode, OP.CLOSE, `got ${f}`);
		assert.equal(f.closeCode, 4321);
		await ws.waitEnd(3000);
	});

	test('a close frame without a body is answered with a close frame', async () => {
		const ws = await connectOpen(fx.server);
		await ws.sendFrame({ opcode: OP.CLOSE, payload: Buffer.alloc(0) });
		const f = await ws.nextFrame();
		assert.equal(f.opcode, OP.CLOSE, `got ${f}`);
		assert.ok([1000, 1005].includes(f.closeCode), `got ${f}`);
		await ws.waitEnd(3000);
	});

	test('a connection dropped without a close frame does not disturb the server', async () => {
		const ws = await connectOpen(fx.server);
		await ws.sendFrame({ opcode: OP.TEXT, payload: '{"event":"#subscribe","data":{"channel":"half', fin: false });
		ws.destroy();
		const half = await connectOpen(fx.server);
		// Half a frame header, then gone.
		await half.sendRaw(Buffer.from([0x81, 0xfe, 0x01]));
		half.destroy();
		await assertServerServes(fx.server);
	});
});
