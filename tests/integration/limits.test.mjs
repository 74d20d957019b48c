// agcluster-only limits: the slow-reader cut-off (--socket-output-limit)
// and --max-connections. The reference server has neither (ws buffers
// without bound), so these are skipped there.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { SKIP_ON_REFERENCE, useServer, waitFor } from '../lib/harness.mjs';
import { EOF, OP, upgrade } from '../lib/rawws.mjs';
import {
	assertServerServes, closeAll, connectOpen, subscribe, uniqueChannel,
} from '../lib/scraw.mjs';

const OUTPUT_LIMIT = 65536;

describe(`slow reader (--socket-output-limit=${OUTPUT_LIMIT})`, () => {
	const fx = useServer({ socket_output_limit: OUTPUT_LIMIT }, { skip: SKIP_ON_REFERENCE });

	test('a subscriber that stops reading is cut off; a normal subscriber gets everything in order', { skip: SKIP_ON_REFERENCE }, async () => {
		const ch = uniqueChannel('slow');
		const MSG = 16 * 1024;
		// 8 MB: well past what the kernel buffers of one loopback connection
		// absorb (about 4 MB here), so the server's own queue must pass the limit.
		const N = (8 * 1024 * 1024) / MSG;
		// The publisher waits for the normal subscriber to keep at most this
		// many messages in flight, well under the limit, so only the paused
		// reader can trip it.
		const WINDOW = 2;
		const pad = 'x'.repeat(MSG);
		const slow = await connectOpen(fx.server);
		const normal = await connectOpen(fx.server, { autoPong: true });
		const pub = await connectOpen(fx.server, { autoPong: true });
		try {
			await subscribe(slow, ch, 2);
			await subscribe(normal, ch, 2);
			slow.pause();

			let received = 0;
			const receiveOne = async () => {
				const p = await normal.nextJson(10000);
				assert.equal(p.event, '#publish');
				assert.equal(p.data.channel, ch);
				assert.equal(p.data.data.seq, received, 'in order, nothing lost');
				received++;
			};
			for (let i = 0; i < N; i++) {
				await pub.sendJson({ event: '#publish', data: { channel: ch, data: { seq: i, pad } } });
				while (i + 1 - received > WINDOW) {
					await receiveOne();
				}
			}
			while (received < N) {
				await receiveOne();
			}

			// Now read what the slow reader got: a prefix, then the end.
			slow.resume();
			const deadline = Date.now() + 15000;
			let count = 0;
			let close = null;
			for (;;) {
				const f = await slow.nextFrame(Math.max(1, deadline - Date.now())).catch(() => null);
				assert.ok(f !== null, `the slow reader was not disconnected (it got ${count} of ${N} messages)`);
				if (f === EOF) {
					break;
				}
				if (f.opcode === OP.CLOSE) {
					close = f.closeCode;
					continue;
				}
				if (f.opcode === OP.TEXT && f.payload.length > 0) {
					const p = f.json;
					assert.equal(p.data.data.seq, count, 'what the slow reader got is an in-order prefix');
					count++;
				}
			}
			assert.ok(count < N, `the slow reader got all ${N} messages: it was never cut off`);
			if (close !== null) {
				assert.ok(close >= 1000, `close code ${close}`);
			}
			await normal.expectNothing(100);
			await assertServerServes(fx.server);
		} finally {
			await closeAll(slow, normal, pub);
		}
	});
});

describe('--max-connections=3', () => {
	const fx = useServer({ max_connections: 3 }, { skip: SKIP_ON_REFERENCE });

	/** Whether a new client can open a working session right now. */
	async function canConnect() {
		const res = await upgrade(fx.port, { timeout: 3000 });
		if (res.status !== 101) {
			return false;
		}
		try {
			await res.ws.sendJson({ event: '#handshake', data: { authToken: null }, cid: 1 });
			const f = await res.ws.nextMessage(2000);
			return f.json.rid === 1;
		} catch {
			return false;
		} finally {
			await res.ws.close();
		}
	}

	test('a connection over the limit gets no session; the others keep working; a freed slot is reusable', { skip: SKIP_ON_REFERENCE }, async () => {
		const open = [];
		try {
			for (let i = 0; i < 3; i++) {
				open.push(await connectOpen(fx.server));
			}
			assert.equal(await canConnect(), false, 'a 4th connection was served');
			for (const [i, ws] of open.entries()) {
				await subscribe(ws, uniqueChannel(), 2 + i);
			}
			await open.shift().close();
			await waitFor(canConnect, 5000, { interval: 50, what: 'a freed connection slot' });
			open.push(await connectOpen(fx.server));
			await subscribe(open.at(-1), uniqueChannel(), 9);
		} finally {
			await closeAll(open);
		}
	});
});
