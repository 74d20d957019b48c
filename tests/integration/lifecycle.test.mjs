// The process: readiness, and SIGTERM/SIGINT closing every client socket
// and exiting with status 0 (checked by Server.stop()).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { startServer } from '../lib/harness.mjs';
import { EOF, OP } from '../lib/rawws.mjs';
import { closeAll, connect, connectOpen, subscribe, uniqueChannel } from '../lib/scraw.mjs';

/** Reads until the connection ends; returns the close code seen, or null. */
async function untilGone(ws, timeout) {
	const deadline = Date.now() + timeout;
	let code = null;
	for (;;) {
		const f = await ws.nextFrame(Math.max(1, deadline - Date.now())).catch(() => null);
		assert.ok(f !== null, `the client connection was still open ${timeout} ms after the signal`);
		if (f === EOF) {
			return code;
		}
		if (f.opcode === OP.CLOSE) {
			code = f.closeCode;
			await ws.sendClose(code === 1005 ? undefined : code).catch(() => {});
		}
	}
}

describe('process lifecycle', () => {
	for (const signal of ['SIGTERM', 'SIGINT']) {
		test(`${signal} closes every client socket and exits 0`, async () => {
			const server = await startServer();
			const clients = [];
			try {
				for (let i = 0; i < 3; i++) {
					const ws = await connectOpen(server);
					await subscribe(ws, uniqueChannel(), 2);
					clients.push(ws);
				}
				clients.push(await connect(server)); // not handshaken yet
				const gone = clients.map((ws) => untilGone(ws, 8000));
				await server.stop({ signal });
				const codes = await Promise.all(gone);
				for (const code of codes) {
					// A close frame, if any, must carry a code a client understands.
					assert.ok(code === null || (code >= 1000 && code < 5000), `close code ${code}`);
				}
			} finally {
				await closeAll(clients);
				await server.stop().catch(() => {});
			}
		});
	}

	test('two servers on different ports are independent', async () => {
		const a = await startServer();
		const b = await startServer();
		try {
			assert.notEqual(a.port, b.port);
			const wa = await connectOpen(a);
			const wb = await connectOpen(b);
			const ch = uniqueChannel();
			await subscribe(wa, ch, 2);
			await subscribe(wb, ch, 2);
			await wa.sendJson({ event: '#publish', data: { channel: ch, data: 'only a' } });
			assert.equal((await wa.nextJson()).data.data, 'only a');
			await wb.expectNothing(300);
			await closeAll(wa, wb);
		} finally {
			await a.stop();
			await b.stop();
		}
	});
});
