// The cluster with real processes: ag-broker and ag-worker started one by
// one (2 brokers × 2 workers, each worker on its own client port so that a
// client picks its worker), and agcluster, the launcher.
//
// What a user of the cluster would notice: publishes cross workers for
// channels of every broker, in order; a broker forwards a publish only to
// the workers with subscribers (proved by the counters ag-broker logs when
// it stops: "stopped: publishes P, deliveries D, to nobody N, ..."); the
// last local unsubscribe reaches the broker; a dead broker's channels are
// refused with BrokerError and work again soon after it restarts; the
// official client survives a worker's death; SIGTERM drains with 1001.
// A subscribe is answered once the owner broker has the subscription (it
// confirms with a SUBSCRIBED envelope), so a publish from any worker after
// the reply reaches the new subscriber; one test checks exactly that. Other
// tests still "settle" a channel with probes (see settle()), which costs
// little and keeps them independent of that guarantee.

import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';

import {
	LINK_UP_LINE, SKIP_ON_REFERENCE, freePortRange, startAgcluster, startBroker, startServer, waitFor,
} from '../lib/harness.mjs';
import { EOF, OP } from '../lib/rawws.mjs';
import { closeAll, connectOpen, publishPacket, subscribe } from '../lib/scraw.mjs';
import { ADAPTERS } from '../compat/clients.mjs';
import { channelsOwnedBy, ownerOf } from './hrw.mjs';

/** Fast reconnects for the official client (its defaults wait 10–20 s). */
const FAST_RECONNECT = { initialDelay: 100, randomness: 50, multiplier: 1, maxDelay: 300 };

// ---- processes

const STATS_RE = /stopped: publishes (\d+), deliveries (\d+), to nobody (\d+), skipped[^,]*?(\d+), resyncs (\d+)/;

/** The counters the broker's current process logged when it stopped. */
function brokerStats(broker) {
	const lines = broker.runStderr.split('\n').filter((l) => STATS_RE.test(l));
	assert.ok(lines.length > 0, `${broker.label} logged no "stopped: publishes ..." line:\n${broker.runStderr.slice(-2000)}`);
	const m = STATS_RE.exec(lines.at(-1));
	return {
		publishes: Number(m[1]), deliveries: Number(m[2]), toNobody: Number(m[3]), skipped: Number(m[4]), resyncs: Number(m[5]),
	};
}

/** Brokers and workers started one by one, each worker on its own client port. */
class Cluster {
	constructor(addresses, brokers, workers) {
		this.addresses = addresses; // ["127.0.0.1:port", ...], broker j at index j
		this.brokers = brokers;
		this.workers = workers;
		this.stats = null;
	}

	/** Index of the broker that owns channel. */
	owner(channel) {
		return ownerOf(this.addresses, channel);
	}

	/** `count` channel names owned by broker j. */
	channelsOf(j, count, prefix) {
		return channelsOwnedBy(this.addresses, j, count, `${prefix}-${process.pid}`);
	}

	/**
	 * Stops the workers, then the brokers (so that the brokers' counters
	 * are final), checking every exit (status 0, no sanitizer report).
	 * Returns the brokers' counters, in broker order. Safe to call twice.
	 */
	async stop() {
		if (this.stopping) {
			await this.stopping;
			return this.stats;
		}
		this.stopping = (async () => {
			const errors = [];
			for (const group of [this.workers, this.brokers]) {
				for (const r of await Promise.allSettled(group.map((s) => s.stop()))) {
					if (r.status === 'rejected') {
						errors.push(r.reason.message);
					}
				}
			}
			if (errors.length) {
				throw new Error(errors.join('\n\n'));
			}
			this.stats = this.brokers.map(brokerStats);
		})();
		await this.stopping;
		return this.stats;
	}
}

/**
 * Starts `brokers` ag-broker processes on free link ports (broker j at
 * base + j × workers), then `workers` ag-worker processes, each on a free
 * client port; ready once every worker has its links to every broker.
 */
async function startCluster({ brokers = 2, workers = 2, workerOptions = {} } = {}) {
	let lastErr;
	for (let attempt = 0; attempt < 3; attempt++) {
		const base = await freePortRange(brokers * workers);
		const addresses = Array.from({ length: brokers }, (_, j) => `127.0.0.1:${base + j * workers}`);
		const common = { workers, broker_addresses: addresses.join(',') };
		const started = [];
		try {
			const bs = [];
			for (let j = 0; j < brokers; j++) {
				bs.push(await startBroker({ ...common, broker_id: j }));
				started.push(bs[j]);
			}
			const ws = [];
			for (let i = 0; i < workers; i++) {
				ws.push(await startServer({ ...workerOptions, ...common, worker_id: i }));
				started.push(ws[i]);
			}
			return new Cluster(addresses, bs, ws);
		} catch (err) {
			lastErr = err;
			await Promise.allSettled(started.map((s) => s.stop()));
			// A broker that could not bind its link ports exits: try other ports.
		}
	}
	throw lastErr;
}

/** Runs fn(cluster) on a fresh cluster; stops it afterwards (fn may stop it itself to read the counters). */
async function withCluster(opts, fn) {
	const cluster = await startCluster(opts);
	try {
		await fn(cluster);
	} catch (err) {
		await cluster.stop().catch(() => {});
		throw err;
	}
	await cluster.stop();
}

// ---- raw clients

/** A handshaken raw client on server (a worker or agcluster) that answers pings. */
function openRaw(server) {
	return connectOpen(server, { autoPong: true });
}

let cidCounter = 1000;
function nextCid() {
	cidCounter++;
	return cidCounter;
}

/** #publish without cid: no reply. */
function publish(ws, channel, data) {
	return ws.sendJson({ event: '#publish', data: { channel, data } });
}

/** #publish with a cid; returns the reply. ws must receive nothing else meanwhile. */
async function publishAck(ws, channel, data, timeout = 3000) {
	const cid = nextCid();
	await ws.sendJson({ event: '#publish', data: { channel, data }, cid });
	const reply = await ws.nextJson(timeout);
	assert.equal(reply.rid, cid, `reply to the publish: ${JSON.stringify(reply)}`);
	return reply;
}

/** #unsubscribe with a cid; expects {"rid"}. */
async function unsubscribe(ws, channel) {
	const cid = nextCid();
	await ws.sendJson({ event: '#unsubscribe', data: channel, cid });
	assert.deepEqual(await ws.nextJson(), { rid: cid }, `unsubscribe ${channel}`);
}

/** The next packet ws receives (server batches flattened), or null after ms. */
async function nextPacket(ws, ms) {
	if (!ws.pending?.length) {
		let j;
		try {
			j = await ws.nextJson(ms);
		} catch (err) {
			if (/no frame within/.test(err.message)) {
				return null;
			}
			throw err;
		}
		ws.pending = [j].flat();
	}
	return ws.pending.shift();
}

/** The next `count` packets of ws (using what nextPacket() has put aside). */
async function packets(ws, count, timeout = 5000) {
	const deadline = Date.now() + timeout;
	const out = [];
	while (out.length < count) {
		const p = await nextPacket(ws, Math.max(1, deadline - Date.now()));
		if (p === null) {
			throw new Error(`${out.length} of ${count} packets within ${timeout} ms; last: ${JSON.stringify(out.at(-1))}`);
		}
		out.push(p);
	}
	return out;
}

function isPublishOf(p, channel) {
	return p && p.event === '#publish' && p.data?.channel === channel;
}

/**
 * Makes sure every subscriber's worker is known to channel's broker:
 * pub publishes probes ({probe: k}, no cid) until every ws of subs has
 * received one, then an end marker, and reads each ws up to the marker.
 * Publishes of one client to one channel keep their order, so nothing of
 * the probes comes after. Returns { sent, received[] } (received: probes and
 * marker each ws got) for the broker's counters.
 */
async function settle(pub, channel, subs, timeout = 5000) {
	const deadline = Date.now() + timeout;
	const received = subs.map(() => 0);
	let sent = 0;
	while (received.some((n) => n === 0)) {
		if (Date.now() > deadline) {
			throw new Error(`channel ${channel}: ${sent} probes in ${timeout} ms, and subscriber(s) ${received.map((n, i) => (n ? null : i)).filter((i) => i !== null)} got none`);
		}
		sent++;
		await publish(pub, channel, { probe: sent });
		for (const [i, ws] of subs.entries()) {
			if (received[i] === 0) {
				const p = await nextPacket(ws, 20);
				if (p !== null) {
					assert.ok(isPublishOf(p, channel) && p.data.data.probe, `expected a probe of ${channel}, got ${JSON.stringify(p)}`);
					received[i]++;
				}
			}
		}
	}
	sent++;
	await publish(pub, channel, { probeEnd: true });
	for (const [i, ws] of subs.entries()) {
		for (;;) {
			const [p] = await packets(ws, 1);
			assert.ok(isPublishOf(p, channel), `expected a probe of ${channel}, got ${JSON.stringify(p)}`);
			received[i]++;
			if (p.data.data.probeEnd) {
				break;
			}
		}
	}
	return { sent, received };
}

/** Reads `count` packets of ws and returns the data of the #publish ones of channel; anything else fails. */
async function publishedData(ws, channel, count, timeout = 5000) {
	const got = await packets(ws, count, timeout);
	for (const p of got) {
		assert.ok(isPublishOf(p, channel), `expected a publish of ${channel}, got ${JSON.stringify(p)}`);
	}
	return got.map((p) => p.data.data);
}

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

// ---- official client

const sc20 = ADAPTERS.sc20();

function openSc20(server, clients) {
	const c = sc20.create(server, { autoReconnectOptions: FAST_RECONNECT });
	clients.push(c);
	return c;
}

function disconnectAll(clients) {
	for (const c of clients.splice(0)) {
		try {
			c.disconnect();
		} catch {
			// already gone
		}
	}
}

// ---- tests

describe('cluster of 2 brokers × 2 workers: pub/sub across workers', { skip: SKIP_ON_REFERENCE }, () => {
	let cluster;
	before(async () => {
		cluster = await startCluster();
	});
	after(async () => {
		await cluster?.stop();
	});

	test('a publish crosses workers both ways, for channels of both brokers', async () => {
		const channels = Array.from({ length: 12 }, (_, i) => `cross-${process.pid}-${i}`);
		const owners = new Set(channels.map((ch) => cluster.owner(ch)));
		assert.deepEqual([...owners].sort(), [0, 1], 'both brokers own some of the channels');
		const [w0, w1] = cluster.workers;
		const sub0 = await openRaw(w0);
		const sub1 = await openRaw(w1);
		const pub0 = await openRaw(w0);
		const pub1 = await openRaw(w1);
		try {
			for (const [i, ch] of channels.entries()) {
				await subscribe(sub0, ch, 10 + i);
				await subscribe(sub1, ch, 10 + i);
			}
			for (const ch of channels) {
				await settle(pub0, ch, [sub0, sub1]);
			}
			for (const ch of channels) {
				assert.deepEqual(await publishAck(pub0, ch, { from: 0, ch }), { rid: cidCounter });
				assert.deepEqual(await publishAck(pub1, ch, { from: 1, ch }), { rid: cidCounter });
			}
			const expected = channels.flatMap((ch) => [0, 1].map((from) => JSON.stringify(publishPacket(ch, { from, ch })))).sort();
			for (const [name, ws] of [['worker 0', sub0], ['worker 1', sub1]]) {
				const got = (await packets(ws, expected.length)).map((p) => JSON.stringify(p)).sort();
				assert.deepEqual(got, expected, `the subscriber on ${name} gets every publish of both workers`);
			}
			// Nobody published twice, and the publishers are not subscribed.
			await Promise.all([sub0, sub1, pub0, pub1].map((ws) => ws.expectNothing(200)));
		} finally {
			await closeAll(sub0, sub1, pub0, pub1);
		}
	});

	test('the publisher gets its own publish, and so does a subscriber on the other worker', async () => {
		for (const j of [0, 1]) {
			const [ch] = cluster.channelsOf(j, 1, 'self');
			const self = await openRaw(cluster.workers[1]);
			const other = await openRaw(cluster.workers[0]);
			try {
				await subscribe(self, ch, 2);
				await subscribe(other, ch, 2);
				await settle(self, ch, [self, other]);
				const cid = nextCid();
				await self.sendJson({ event: '#publish', data: { channel: ch, data: 'mine' }, cid });
				const got = await packets(self, 2);
				assert.deepEqual(
					new Set(got.map((p) => JSON.stringify(p))),
					new Set([JSON.stringify({ rid: cid }), JSON.stringify(publishPacket(ch, 'mine'))]),
					`broker ${j}'s channel: the publisher gets the reply and its own message`,
				);
				assert.deepEqual(await publishedData(other, ch, 1), ['mine']);
				await self.expectNothing(100);
			} finally {
				await closeAll(self, other);
			}
		}
	});

	// The reference (and SocketCluster's own brokers) answer a #subscribe only
	// once the broker engine has the subscription, so an application may
	// publish from anywhere as soon as the reply is in. ag-worker waits for
	// the owner broker's SUBSCRIBED before it answers.
	test('a publish from the other worker right after the subscribe reply reaches the new subscriber', async () => {
		const N = 100;
		for (const [ws, wp] of [[1, 0], [0, 1]]) {
			const subs = [];
			const pubs = [];
			try {
				// What an application does: two clients join a room, one on each
				// worker, and the first speaks as soon as the second is in.
				for (let i = 0; i < N; i++) {
					const ch = `ack-${process.pid}-${ws}-${i}`;
					const pub = await openRaw(cluster.workers[wp]);
					const sub = await openRaw(cluster.workers[ws]);
					pubs.push(pub);
					subs.push(sub);
					await subscribe(pub, ch, 2);
					await subscribe(sub, ch, 2);
					await publish(pub, ch, 'first');
				}
				// A channel of each broker, subscribed to on the subscribers' worker
				// and settled: the broker-to-worker links keep their order, so once a
				// probe of each has arrived, that worker has handled every earlier
				// delivery.
				const last = await openRaw(cluster.workers[ws]);
				subs.push(last);
				const probe = await openRaw(cluster.workers[wp]);
				pubs.push(probe);
				for (const j of [0, 1]) {
					const f = cluster.channelsOf(j, 1, `ack-final-${ws}`)[0];
					await subscribe(last, f, 2);
					await settle(probe, f, [last]);
				}
				const missing = [];
				for (const [i, sub] of subs.slice(0, N).entries()) {
					const p = await nextPacket(sub, 100);
					if (p === null) {
						missing.push(i);
					} else {
						assert.ok(isPublishOf(p, `ack-${process.pid}-${ws}-${i}`) && p.data.data === 'first', `got ${JSON.stringify(p)}`);
					}
				}
				assert.deepEqual(missing, [], `${missing.length} of ${N} subscribers on worker ${ws} missed the publish from worker ${wp} sent right after their subscribe reply`);
			} finally {
				await closeAll(subs, pubs);
			}
		}
	});

	test('subscribe, unsubscribe and subscribe again in one batch: both answered, then a publish from the other worker arrives', async () => {
		// The worker sends SUB, UNSUB, SUB for the channel before the broker
		// answers the first SUB; that answer must not confirm the second
		// (worker/subq.c), and the second's answer must.
		const N = 20;
		const subs = [];
		const pubs = [];
		try {
			for (let i = 0; i < N; i++) {
				const ch = `resub-${process.pid}-${i}`;
				const sub = await openRaw(cluster.workers[1]);
				const pub = await openRaw(cluster.workers[0]);
				subs.push(sub);
				pubs.push(pub);
				await sub.sendText(JSON.stringify([
					{ event: '#subscribe', data: { channel: ch }, cid: 11 },
					{ event: '#unsubscribe', data: ch, cid: 12 },
					{ event: '#subscribe', data: { channel: ch }, cid: 13 },
				]));
				const rids = [];
				while (rids.length < 3) {
					const p = await nextPacket(sub, 3000);
					assert.ok(p !== null, `channel ${i}: answers so far ${JSON.stringify(rids)}`);
					assert.ok(p.rid !== undefined && p.error === undefined, `got ${JSON.stringify(p)}`);
					rids.push(p.rid);
				}
				assert.deepEqual(rids, [11, 12, 13]);
				await publish(pub, ch, 'after');
				const p = await nextPacket(sub, 3000);
				assert.ok(isPublishOf(p, ch) && p.data.data === 'after', `channel ${i}: got ${JSON.stringify(p)}`);
			}
		} finally {
			await closeAll(subs, pubs);
		}
	});

	test('a burst to 1,200 channels reaches every subscriber on the other worker', async () => {
		// 1,200 channels' publishes from the brokers, held up while the
		// worker is stopped and then taken in as a backlog: nothing may be
		// lost or land on the wrong socket.
		const SUBS = 40;
		const PER = 30;
		const [w0, w1] = cluster.workers;
		const pub = await openRaw(w0);
		const subs = [];
		try {
			for (let i = 0; i < SUBS; i++) {
				subs.push(await openRaw(w1));
			}
			const names = subs.map((_, i) => Array.from({ length: PER }, (__, k) => `burst-${process.pid}-${i}-${k}`));
			for (const [i, ws] of subs.entries()) {
				for (const [k, ch] of names[i].entries()) {
					await subscribe(ws, ch, 10 + k); // answered once its broker has it
				}
			}
			// Worker 1 is stopped while the burst goes out, so that the
			// brokers' batches wait for it and come in together.
			w1.child.kill('SIGSTOP');
			try {
				for (const [i, list] of names.entries()) {
					for (const ch of list) {
						publish(pub, ch, { i, ch });
					}
				}
				await new Promise((r) => setTimeout(r, 300));
			} finally {
				w1.child.kill('SIGCONT');
			}
			for (const [i, ws] of subs.entries()) {
				const got = (await packets(ws, PER, 15000)).map((p) => JSON.stringify(p)).sort();
				const want = names[i].map((ch) => JSON.stringify(publishPacket(ch, { i, ch }))).sort();
				assert.deepEqual(got, want, `subscriber ${i} gets exactly its channels' publishes`);
			}
			await Promise.all(subs.map((ws) => ws.expectNothing(100)));
		} finally {
			await closeAll(pub, ...subs);
		}
	});

	test('2,000 publishes of one client to one channel arrive in order on both workers', async () => {
		const N = 2000;
		for (const j of [0, 1]) {
			const [ch] = cluster.channelsOf(j, 1, 'order');
			const pub = await openRaw(cluster.workers[j]); // the publisher's worker varies too
			const subs = [await openRaw(cluster.workers[0]), await openRaw(cluster.workers[1])];
			try {
				for (const ws of subs) {
					await subscribe(ws, ch, 2);
				}
				await settle(pub, ch, subs);
				for (let i = 0; i < N - 1; i++) {
					publish(pub, ch, i);
				}
				assert.deepEqual(await publishAck(pub, ch, N - 1, 10000), { rid: cidCounter });
				const want = Array.from({ length: N }, (_, i) => i);
				for (const [w, ws] of subs.entries()) {
					const got = await publishedData(ws, ch, N, 15000);
					assert.deepEqual(got, want, `broker ${j}'s channel, publisher on worker ${j}: order on worker ${w}`);
				}
				await Promise.all(subs.map((ws) => ws.expectNothing(100)));
			} finally {
				await closeAll(pub, subs);
			}
		}
	});
});

describe('cluster: the broker sends a channel only to the workers that want it', { skip: SKIP_ON_REFERENCE }, () => {
	test('100 publishes from worker 0 to a channel with a subscriber on worker 1 only: 100 deliveries, none to worker 0', async () => {
		await withCluster({}, async (cluster) => {
			const [w0, w1] = cluster.workers;
			const chans = [0, 1].map((j) => cluster.channelsOf(j, 1, 'only')[0]);
			const others = [0, 1].map((j) => cluster.channelsOf(j, 1, 'bystander')[0]);
			const sub1 = await openRaw(w1);
			const bystander0 = await openRaw(w0);
			const pub0 = await openRaw(w0);
			const probes = [];
			try {
				for (const ch of chans) {
					await subscribe(sub1, ch, 2);
				}
				// Worker 0 has subscribers, to channels of both brokers, just not this one.
				for (const ch of others) {
					await subscribe(bystander0, ch, 3);
				}
				for (const ch of chans) {
					probes.push(await settle(pub0, ch, [sub1]));
				}
				for (const ch of chans) {
					for (let i = 0; i < 100; i++) {
						assert.deepEqual(await publishAck(pub0, ch, i), { rid: cidCounter });
					}
					assert.deepEqual(await publishedData(sub1, ch, 100), Array.from({ length: 100 }, (_, i) => i));
				}
				await Promise.all([bystander0.expectNothing(300), pub0.expectNothing(50), sub1.expectNothing(50)]);
			} finally {
				await closeAll(sub1, bystander0, pub0);
			}
			const stats = await cluster.stop();
			for (const j of [0, 1]) {
				const { sent, received } = probes[j];
				assert.deepEqual(stats[j], {
					publishes: sent + 100,
					// One per publish that found worker 1 subscribed: had worker 0
					// been sent them too, this would be about twice as many.
					deliveries: received[0] + 100,
					toNobody: sent - received[0],
					skipped: 0,
					resyncs: 2,
				}, `broker ${j}'s counters`);
			}
		});
	});

	test('after the last local subscriber unsubscribes, the broker counts publishes as "to nobody"', async () => {
		await withCluster({}, async (cluster) => {
			const [w0, w1] = cluster.workers;
			const chans = [0, 1].map((j) => cluster.channelsOf(j, 1, 'unsub')[0]);
			const subA = await openRaw(w1);
			const subB = await openRaw(w1);
			// Publishing from worker 1 too keeps the order with its unsubscribe:
			// both travel on worker 1's link to the broker.
			const pub1 = await openRaw(w1);
			const bystander0 = await openRaw(w0);
			const probes = [];
			try {
				await subscribe(bystander0, `elsewhere-${process.pid}`, 2);
				for (const ch of chans) {
					await subscribe(subA, ch, 2);
					await subscribe(subB, ch, 2);
					probes.push(await settle(pub1, ch, [subA, subB]));
					// subB is still subscribed: worker 1 keeps the channel.
					await unsubscribe(subA, ch);
					assert.deepEqual(await publishAck(pub1, ch, 'one left'), { rid: cidCounter });
					assert.deepEqual(await publishedData(subB, ch, 1), ['one left']);
					// The last one: worker 1 tells the broker.
					await unsubscribe(subB, ch);
					for (let i = 0; i < 50; i++) {
						assert.deepEqual(await publishAck(pub1, ch, { gone: i }), { rid: cidCounter });
					}
					await Promise.all([subA.expectNothing(300), subB.expectNothing(50), bystander0.expectNothing(50)]);
					// And a new subscriber brings the channel back.
					await subscribe(subA, ch, 4);
					assert.deepEqual(await publishAck(pub1, ch, 'back'), { rid: cidCounter });
					assert.deepEqual(await publishedData(subA, ch, 1), ['back']);
					await subB.expectNothing(100);
				}
			} finally {
				await closeAll(subA, subB, pub1, bystander0);
			}
			const stats = await cluster.stop();
			for (const j of [0, 1]) {
				const { sent, received } = probes[j];
				assert.equal(received[0], received[1], 'both subscribers on worker 1 saw the same probes');
				assert.deepEqual(stats[j], {
					publishes: sent + 1 + 50 + 1,
					deliveries: received[0] + 1 + 1,
					toNobody: sent - received[0] + 50,
					skipped: 0,
					resyncs: 2,
				}, `broker ${j}'s counters: the 50 publishes after the last unsubscribe went to nobody`);
			}
		});
	});
});

describe('cluster: a broker killed with SIGKILL and restarted', { skip: SKIP_ON_REFERENCE }, () => {
	test('its channels are refused with BrokerError while it is down; within 2 s of its restart they reach the other worker again', async () => {
		await withCluster({}, async (cluster) => {
			const [w0, w1] = cluster.workers;
			const [b0] = cluster.brokers;
			const [c0] = cluster.channelsOf(0, 1, 'down'); // the victim's
			const [c1] = cluster.channelsOf(1, 1, 'up'); // the survivor's
			const sub1 = await openRaw(w1);
			const pub0 = await openRaw(w0);
			const pub1 = await openRaw(w1);
			try {
				await subscribe(sub1, c0, 2);
				await subscribe(sub1, c1, 3);
				await settle(pub0, c0, [sub1]);
				await settle(pub0, c1, [sub1]);

				await b0.kill9();
				const refused = (ch) => ({
					rid: cidCounter,
					error: { name: 'BrokerError', message: `Failed to publish to the ${ch} channel - its broker is unreachable` },
				});
				// The workers notice the dead link quickly; until then a publish may
				// still be accepted: it waits in the link's outbox (see below).
				await waitFor(async () => (await publishAck(pub0, c0, 'while down')).error, 3000, { what: 'a BrokerError for a dead broker\'s channel on worker 0' });
				assert.deepEqual(await publishAck(pub0, c0, 'while down'), refused(c0));
				await waitFor(async () => (await publishAck(pub1, c0, 'while down')).error, 3000, { what: 'a BrokerError on worker 1' });
				assert.deepEqual(await publishAck(pub1, c0, 'while down'), refused(c0));
				// The other broker's channels are unaffected.
				assert.deepEqual(await publishAck(pub0, c1, 'survivor'), { rid: cidCounter });
				assert.deepEqual(await publishedData(sub1, c1, 1), ['survivor']);
				await sub1.expectNothing(100);

				await b0.restart();
				const ready = Date.now();
				// Publish until one reaches the subscriber on worker 1: both workers
				// must have reconnected and worker 1 resubscribed. A publish
				// accepted just before worker 0 saw the broker die waits in the
				// link's outbox and may arrive now: any publish of c0 counts.
				let n = 0;
				let arrived = null;
				while (arrived === null && Date.now() - ready < 2000) {
					n++;
					const reply = await publishAck(pub0, c0, { again: n }, 1000);
					assert.ok(!reply.error || reply.error.name === 'BrokerError', `reply ${JSON.stringify(reply)}`);
					arrived = await nextPacket(sub1, 20);
				}
				const took = Date.now() - ready;
				assert.ok(arrived !== null, `no publish to ${c0} reached worker 1 within 2 s of the broker's restart (${n} tries)`);
				assert.ok(isPublishOf(arrived, c0), `got ${JSON.stringify(arrived)}`);
				assert.ok(took <= 2000, `${took} ms after the restart`);
				// From here on everything arrives, in order, after whatever of the
				// earlier tries is still on its way.
				for (let i = 0; i < 20; i++) {
					assert.deepEqual(await publishAck(pub0, c0, { after: i }), { rid: cidCounter });
				}
				const after = [];
				while (after.length < 20) {
					const [d] = await publishedData(sub1, c0, 1);
					if (d.after !== undefined || after.length > 0) {
						after.push(d);
					} else {
						assert.ok(d === 'while down' || d.again, `unexpected ${JSON.stringify(d)}`);
					}
				}
				assert.deepEqual(after, Array.from({ length: 20 }, (_, i) => ({ after: i })));
				await sub1.expectNothing(100);
			} finally {
				await closeAll(sub1, pub0, pub1);
			}
			const stats = await cluster.stop();
			assert.equal(stats[0].resyncs, 2, 'both workers resynchronised with the restarted broker');
		});
	});
});

describe('cluster: a worker killed with SIGKILL and restarted on the same port', { skip: SKIP_ON_REFERENCE }, () => {
	test('the official client reconnects by itself, resubscribes, and receives publishes from the other worker again', async () => {
		const clients = [];
		await withCluster({}, async (cluster) => {
			const [w0, w1] = cluster.workers;
			const chans = [cluster.channelsOf(0, 1, 'wk')[0], cluster.channelsOf(1, 1, 'wk')[0]];
			const pub0 = await openRaw(w0);
			try {
				const c = openSc20(w1, clients);
				const first = await c.connected();
				const subs = chans.map((ch) => c.subscribe(ch));
				await Promise.all(subs.map((s) => s.ready()));
				const reach = async (tag) => {
					// Publishes until a message tagged `tag` reaches every subscription.
					let k = 0;
					await waitFor(async () => {
						k++;
						for (const ch of chans) {
							await publishAck(pub0, ch, { tag, k });
						}
						return subs.every((s) => s.received.some((d) => d.tag === tag));
					}, 5000, { interval: 20, what: `publishes tagged ${tag} at the sc20 client on worker 1` });
				};
				await reach('before');

				await w1.kill9();
				const down = await c.waitEvent('disconnect', { timeout: 5000 });
				assert.ok(down.code !== 1000 && down.code < 4500, `close code ${down.code} lets the client reconnect`);
				await w1.restart();
				const again = await c.connected({ from: down.at, timeout: 10000 });
				assert.notEqual(again.id, first.id, 'a new session on the new worker process');
				for (const ch of chans) {
					await c.waitEvent('subscribe', { from: down.at, pred: (e) => e.channel === ch, timeout: 5000 });
				}
				await reach('after');
			} finally {
				disconnectAll(clients);
				await closeAll(pub0);
			}
		});
	});
});

describe('cluster: SIGTERM drains', { skip: SKIP_ON_REFERENCE }, () => {
	test('workers then brokers: clients get close code 1001, the official client tries to reconnect, every process exits 0', async () => {
		const clients = [];
		await withCluster({}, async (cluster) => {
			const raws = [];
			try {
				const officials = [];
				for (const [i, w] of cluster.workers.entries()) {
					const ws = await openRaw(w);
					await subscribe(ws, cluster.channelsOf(i, 1, 'drain')[0], 2);
					raws.push(ws);
					const c = openSc20(w, clients);
					await c.connected();
					await c.subscribe(`drain-sc-${i}`).ready();
					officials.push(c);
				}
				const gone = raws.map((ws) => untilGone(ws, 10000));
				// Cluster.stop() stops the workers, then the brokers, and checks that
				// each one exits with status 0 and no sanitizer report.
				const stopped = cluster.stop();
				assert.deepEqual(await Promise.all(gone), [1001, 1001], 'raw clients: close codes');
				for (const c of officials) {
					const ev = await c.waitEvent('disconnect', { timeout: 10000 });
					assert.equal(ev.code, 1001, 'the official client sees 1001 (going away), which it reconnects on');
					// 1001 is not a final close for the client: it schedules a reconnect.
					await waitFor(() => c.state === 'connecting' || c.eventsOf('connectAbort', ev.at).length > 0, 3000, { what: 'the client to try to reconnect' });
				}
				await stopped;
			} finally {
				disconnectAll(clients);
				await closeAll(raws);
			}
		});
	});
});

describe('agcluster --workers=2 --brokers=2', { skip: SKIP_ON_REFERENCE }, () => {
	/** The pids of every worker process agcluster has run, from their "listening on" log lines. */
	function workerPids(server) {
		return [...server.runStderr.matchAll(/ag-worker\[(\d+)\] listening on /g)].map((m) => Number(m[1]));
	}

	test('serves pub/sub on the shared port; restarts a worker killed with SIGKILL', async () => {
		const ac = await startAgcluster({ workers: 2, brokers: 2 });
		const raws = [];
		try {
			// Clients spread over the two workers (SO_REUSEPORT); whichever
			// worker each one got, every subscriber receives.
			const ch = `ac-${process.pid}`;
			for (let i = 0; i < 6; i++) {
				const ws = await openRaw(ac);
				await subscribe(ws, ch, 2);
				raws.push(ws);
			}
			const pub = await openRaw(ac);
			raws.push(pub);
			await settle(pub, ch, raws.slice(0, 6));
			assert.deepEqual(await publishAck(pub, ch, 'all'), { rid: cidCounter });
			for (const ws of raws.slice(0, 6)) {
				assert.deepEqual(await publishedData(ws, ch, 1), ['all']);
			}

			const pids = workerPids(ac);
			assert.equal(pids.length, 2, `two workers logged "listening on": ${pids}`);
			const linesBefore = ac.runStderr.split('\n').filter((l) => l.includes(LINK_UP_LINE)).length;
			process.kill(pids[0], 'SIGKILL');
			await ac.waitLog(new RegExp(`worker \\d+ \\(pid ${pids[0]}\\) was killed by signal 9`), { timeoutMs: 5000 });
			// A new worker process, linked to both brokers again.
			await ac.waitLog(LINK_UP_LINE, { count: linesBefore + 2, timeoutMs: 5000 });
			assert.equal(workerPids(ac).length, 3, 'a third worker process started');
			ac.assertAlive();
			// New clients are served (by either worker) and pub/sub works.
			const a = await openRaw(ac);
			const b = await openRaw(ac);
			raws.push(a, b);
			const ch2 = `ac2-${process.pid}`;
			await subscribe(b, ch2, 2);
			await settle(a, ch2, [b]);
			assert.deepEqual(await publishAck(a, ch2, 'after restart'), { rid: cidCounter });
			assert.deepEqual(await publishedData(b, ch2, 1), ['after restart']);
		} finally {
			await closeAll(raws);
			await ac.stop();
		}
	});

	test('SIGTERM: every client gets 1001, every child exits 0, agcluster exits 0', async () => {
		const ac = await startAgcluster({ workers: 2, brokers: 2 });
		const raws = [];
		const clients = [];
		try {
			for (let i = 0; i < 6; i++) {
				const ws = await openRaw(ac);
				await subscribe(ws, `term-${i}`, 2);
				raws.push(ws);
			}
			const c = openSc20(ac, clients);
			await c.connected();
			const gone = raws.map((ws) => untilGone(ws, 15000));
			// stop() checks agcluster's exit status and the sanitizer reports of
			// every child (they write to agcluster's stderr).
			const stopped = ac.stop();
			assert.deepEqual(await Promise.all(gone), raws.map(() => 1001));
			assert.equal((await c.waitEvent('disconnect', { timeout: 15000 })).code, 1001);
			await stopped;
			const ends = ac.runStderr.split('\n').filter((l) => /(worker|broker) \d+ \(pid \d+\) (exited|was killed)/.test(l));
			assert.equal(ends.length, 4, `agcluster reported the end of 4 children:\n${ends.join('\n')}`);
			for (const l of ends) {
				assert.match(l, /exited with status 0$/, 'every child exited with status 0');
			}
			assert.deepEqual(ends.map((l) => /(worker|broker) \d+ \(pid/.exec(l)[1]), ['worker', 'worker', 'broker', 'broker'], 'workers first, brokers last');
		} finally {
			disconnectAll(clients);
			await closeAll(raws);
			await ac.stop();
		}
	});
});
