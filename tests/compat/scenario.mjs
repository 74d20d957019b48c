// The compatibility scenario, run once per official client (see
// clients.mjs): each *.test.mjs file in this folder calls compatSuite()
// with one adapter. cluster.test.mjs runs it again against agcluster.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { startServer, useServer, waitFor } from '../lib/harness.mjs';

let channelCounter = 0;
function uniqueChannel(prefix) {
	channelCounter++;
	return `${prefix}-${process.pid}-${channelCounter}`;
}

/** Fast reconnects for tests (the client defaults wait 10–20 s). */
const FAST_RECONNECT = { initialDelay: 200, randomness: 100, multiplier: 1, maxDelay: 1000 };

/**
 * Creates a client, tracks it for cleanup, and waits for its first connect.
 * Returns [client, status].
 */
async function open(adapter, server, clients, opts = {}) {
	const c = adapter.create(server, { autoReconnectOptions: FAST_RECONNECT, ...opts });
	clients.push(c);
	const status = await c.connected();
	return [c, status];
}

function cleanup(clients) {
	for (const c of clients.splice(0)) {
		try {
			c.disconnect();
		} catch {
			// already gone
		}
	}
}

function assertNoDisconnect(c) {
	const bad = c.events.filter((e) => ['disconnect', 'close', 'connectAbort'].includes(e.type));
	assert.deepEqual(bad.map((e) => `${e.type} ${e.code}`), [], 'the client lost its connection');
}

/**
 * The scenario for one adapter, against a lone ag-worker by default. kind
 * and serverOptions run it against another program (harness.mjs
 * startServer), e.g. { kind: 'agcluster', serverOptions: { workers: 2,
 * brokers: 2 } }; label is added to the suite names.
 */
export function compatSuite(adapter, { kind = 'worker', serverOptions = {}, label = '' } = {}) {
	const so = { ...adapter.serverOptions, ...serverOptions };
	const name = `${adapter.name}${label}`;

	describe(`${name}: connection, pub/sub, RPC`, () => {
		const fx = useServer(so, { kind });
		const clients = [];
		const afterEach = () => cleanup(clients);

		test('connects: the status has an id, the server pingTimeout and isAuthenticated false', async () => {
			try {
				const [c, status] = await open(adapter, fx.server, clients);
				assert.equal(typeof status.id, 'string');
				assert.ok(status.id.length > 0);
				assert.equal(c.id, status.id);
				assert.equal(status.pingTimeout, 30000);
				assert.equal(status.isAuthenticated, false);
				assert.ok(status.authError === undefined || status.authError === null, `authError: ${status.authError}`);
				assert.equal(c.state, 'open');
			} finally {
				afterEach();
			}
		});

		test('subscribe/publish/unsubscribe: the publisher and a second client receive; after unsubscribe nothing is sent', async () => {
			try {
				const ch = uniqueChannel('room');
				const [a] = await open(adapter, fx.server, clients);
				const [b] = await open(adapter, fx.server, clients);
				const subA = a.subscribe(ch);
				const subB = b.subscribe(ch);
				await subA.ready();
				await subB.ready();

				await a.invokePublish(ch, { msg: 'hello', n: [1, 2, 3] });
				assert.deepEqual(await subA.waitCount(1), [{ msg: 'hello', n: [1, 2, 3] }]);
				assert.deepEqual(await subB.waitCount(1), [{ msg: 'hello', n: [1, 2, 3] }]);
				assert.equal(b.publishFramesFor(ch).length, 1, 'the raw message log sees the delivery');

				b.unsubscribe(ch);
				// A round trip on b after the unsubscribe: once it is answered,
				// the server has processed the unsubscribe too.
				const sync = b.subscribe(uniqueChannel('sync'));
				await sync.ready();
				const mark = b.messages.length;
				await a.invokePublish(ch, 'after unsubscribe');
				await subA.waitCount(2);
				assert.deepEqual(subA.received[1], 'after unsubscribe');
				await new Promise((r) => setTimeout(r, 300));
				assert.deepEqual(b.publishFramesFor(ch, mark), [], 'the server still sent the channel to an unsubscribed client');
				assert.equal(subB.received.length, 1);
			} finally {
				afterEach();
			}
		});

		test('invokePublish resolves; transmitPublish is delivered; order is kept', async () => {
			try {
				const ch = uniqueChannel('order');
				const [pub] = await open(adapter, fx.server, clients);
				const [sub] = await open(adapter, fx.server, clients);
				const s = sub.subscribe(ch);
				await s.ready();
				const res = await pub.invokePublish(ch, 0);
				assert.ok(res === undefined || res === null, `invokePublish resolved with ${JSON.stringify(res)}`);
				for (let i = 1; i < 100; i++) {
					pub.transmitPublish(ch, i);
				}
				await pub.invokePublish(ch, 100);
				assert.deepEqual(await s.waitCount(101), Array.from({ length: 101 }, (_, i) => i));
				// The publisher is not subscribed: the server sent it no #publish.
				assert.deepEqual(pub.publishFramesFor(ch), []);
				assert.equal(sub.publishFramesFor(ch).length, 101);
			} finally {
				afterEach();
			}
		});

		test('batching: several packets in one WebSocket message are all processed', async () => {
			try {
				const chans = [uniqueChannel('b1'), uniqueChannel('b2'), uniqueChannel('b3')];
				const [c] = await open(adapter, fx.server, clients);
				let subs;
				if (adapter.canBatch) {
					subs = c.batch(() => chans.map((ch) => c.subscribe(ch)));
				} else {
					// v14: subscriptions with {batch: true} go out as one array.
					subs = chans.map((ch) => c.subscribe(ch, { batch: true }));
				}
				await Promise.all(subs.map((s) => s.ready()));
				if (adapter.canBatch) {
					let last;
					c.batch(() => {
						c.transmitPublish(chans[0], 'one');
						c.transmitPublish(chans[1], 'two');
						last = c.invokePublish(chans[2], 'three');
					});
					await last;
				} else {
					for (const [i, ch] of chans.entries()) {
						await c.invokePublish(ch, ['one', 'two', 'three'][i]);
					}
				}
				assert.deepEqual(await subs[0].waitCount(1), ['one']);
				assert.deepEqual(await subs[1].waitCount(1), ['two']);
				assert.deepEqual(await subs[2].waitCount(1), ['three']);
			} finally {
				afterEach();
			}
		});

		test('invoking a procedure nobody handles times out with TimeoutError', async () => {
			try {
				const [c] = await open(adapter, fx.server, clients, { ackTimeout: 500 });
				await assert.rejects(c.invoke('noSuchProcedure', { x: 1 }), (err) => {
					assert.equal(err.name, 'TimeoutError');
					assert.match(err.message, /noSuchProcedure/);
					return true;
				});
				// The connection is unharmed.
				c.transmit('noSuchReceiver', 'ignored');
				const s = c.subscribe(uniqueChannel('after'));
				await s.ready();
				assertNoDisconnect(c);
			} finally {
				afterEach();
			}
		});

		test('a garbage stored token: connect status authError "jwt malformed", then the client removes its token', async () => {
			try {
				const [c, status] = await open(adapter, fx.server, clients, { authToken: 'garbage-token' });
				assert.equal(status.isAuthenticated, false);
				assert.ok(status.authError, 'the connect status has an authError');
				assert.equal(status.authError.name, 'AuthTokenInvalidError');
				assert.equal(status.authError.message, 'jwt malformed');
				assert.equal(status.authError.isBadToken, true);
				const ev = await c.waitEvent('removeAuthToken');
				assert.equal(ev.oldAuthToken, 'garbage-token');
				assert.equal(c.authEngine.token, null, 'the token is gone from storage');
				// Still connected and usable.
				const s = c.subscribe(uniqueChannel('tok'));
				await s.ready();
				assertNoDisconnect(c);
			} finally {
				afterEach();
			}
		});
	});

	describe(`${name}: pings (--ping-interval=500 --ping-timeout=2000)`, () => {
		const fx = useServer({ ...so, ping_interval: 500, ping_timeout: 2000 }, { kind });
		const clients = [];

		test('stays connected across several ping intervals', async () => {
			try {
				const [c, status] = await open(adapter, fx.server, clients);
				assert.equal(status.pingTimeout, 2000);
				const mark = c.messages.length;
				await new Promise((r) => setTimeout(r, 3000));
				assertNoDisconnect(c);
				assert.equal(c.state, 'open');
				const ping = adapter.protocolVersion === 1 ? '#1' : '';
				const pings = c.messages.slice(mark).filter((m) => m === ping).length;
				assert.ok(pings >= 4, `${pings} pings in 3 s`);
				const s = c.subscribe(uniqueChannel('alive'));
				await s.ready();
			} finally {
				cleanup(clients);
			}
		});
	});

	describe(`${name}: --allow-client-publish=false`, () => {
		const fx = useServer({ ...so, allow_client_publish: false }, { kind });
		const clients = [];

		test('invokePublish rejects with InvalidActionError; nothing is delivered', async () => {
			try {
				const ch = uniqueChannel('nopub');
				const [c] = await open(adapter, fx.server, clients);
				const s = c.subscribe(ch);
				await s.ready();
				await assert.rejects(c.invokePublish(ch, 1), (err) => {
					assert.equal(err.name, 'InvalidActionError');
					assert.equal(err.message, 'Client publish feature is disabled');
					return true;
				});
				c.transmitPublish(ch, 2);
				await new Promise((r) => setTimeout(r, 300));
				assert.deepEqual(s.received, []);
				assertNoDisconnect(c);
			} finally {
				cleanup(clients);
			}
		});
	});

	describe(`${name}: --socket-channel-limit=2`, () => {
		const fx = useServer({ ...so, socket_channel_limit: 2 }, { kind });
		const clients = [];

		test('the third subscription fails (subscribeFail) with BrokerError', async () => {
			try {
				const [c] = await open(adapter, fx.server, clients);
				const subs = ['c1', 'c2', 'c3'].map((ch) => c.subscribe(ch));
				await subs[0].ready();
				await subs[1].ready();
				await assert.rejects(subs[2].ready(), (err) => {
					assert.equal(err.name, 'BrokerError');
					assert.equal(err.message, `Failed to subscribe socket to the c3 channel - InvalidActionError: Socket ${c.id} tried to exceed the channel subscription limit of 2`);
					return true;
				});
				assertNoDisconnect(c);
			} finally {
				cleanup(clients);
			}
		});
	});

	describe(`${name}: reconnect`, () => {
		const clients = [];

		test('after the server goes away, the client reconnects to a new one on the same port and resubscribes', async () => {
			let first = await startServer(so, { kind });
			const { port } = first;
			let second = null;
			try {
				const ch = uniqueChannel('re');
				const [c, status1] = await open(adapter, first, clients);
				const sub = c.subscribe(ch);
				await sub.ready();

				await first.stop();
				first = null;
				const down = await c.waitEvent('disconnect', { timeout: 5000 });
				assert.notEqual(down.code, 1000, 'a server shutdown is not a normal client close');
				assert.ok(down.code < 4500, `close code ${down.code} forbids the client to reconnect`);

				second = await startServer(so, { port, kind });
				const status2 = await c.connected({ from: down.at, timeout: 10000 });
				assert.equal(status2.isAuthenticated, false);
				assert.notEqual(status2.id, status1.id, 'a new session');
				await c.waitEvent('subscribe', { from: down.at, pred: (e) => e.channel === ch, timeout: 5000 });

				// The resubscription is real: another client's publish arrives.
				const [other] = await open(adapter, second, clients);
				await other.invokePublish(ch, 'after reconnect');
				await waitFor(() => sub.received.includes('after reconnect'), 5000, { what: 'the publish after reconnecting' });
			} finally {
				cleanup(clients);
				await first?.stop();
				await second?.stop();
			}
		});
	});
}
