// The readiness endpoint: GET /ready answers 200 while the worker takes new
// clients, 503 with the reason while a broker is unreachable (and while it
// drains). /health-check stays 200: the process is alive either way.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { SKIP_ON_REFERENCE, freePort, startServer, useServer } from '../lib/harness.mjs';
import { httpGet } from '../lib/rawws.mjs';

describe('/ready on a lone worker', () => {
	const fx = useServer({}, { skip: SKIP_ON_REFERENCE });

	test('answers 200', { skip: SKIP_ON_REFERENCE }, async () => {
		const res = await httpGet(fx.port, '/ready');
		assert.equal(res.status, 200, res.statusLine);
		assert.equal(res.body, 'OK');
	});
});

describe('/ready with a broker that is not there', () => {
	const fx = useServer({}, { skip: SKIP_ON_REFERENCE });

	test('answers 503 naming the broker, while /health-check answers 200', { skip: SKIP_ON_REFERENCE }, async () => {
		const brokerPort = await freePort();
		// A worker of its own, pointed at a broker nobody runs.
		const w = await startServer({ workers: 1, worker_id: 0, broker_addresses: `127.0.0.1:${brokerPort}` }, { waitLinks: false });
		try {
			const ready = await httpGet(w.port, '/ready');
			assert.equal(ready.status, 503, ready.statusLine);
			assert.equal(ready.body, `Not ready: broker 127.0.0.1:${brokerPort} unreachable`);
			const health = await httpGet(w.port, '/health-check');
			assert.equal(health.status, 200, health.statusLine);
		} finally {
			await w.stop();
		}
		// The shared lone worker is unaffected.
		assert.equal((await httpGet(fx.port, '/ready')).status, 200);
	});
});
