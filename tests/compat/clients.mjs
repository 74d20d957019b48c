// The official clients behind one small interface, so that the same
// compatibility scenario runs with each of them:
//
//   socketcluster-client 20.0.2  (protocol v2, async-iterator API)
//   asyngular-client 6.2.4       (protocol v2, async-iterator API, path option)
//   socketcluster-client 14.3.2  (protocol v1, EventEmitter/callback API;
//                                 the server runs with --protocol-version=1)
//
// Every client records what it sees: `events` (connect, disconnect, close,
// connectAbort, error, removeAuthToken, subscribe, subscribeFail,
// unsubscribe; each with `at` = index in the list) and `messages` (every raw
// inbound WebSocket message, pings included), so tests can check what the
// server actually sent, not only what the client chose to surface.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A token store for the v20/asyngular clients (promise API), preloaded with `token`. */
export class MemoryAuthEngine {
	constructor(token = null) {
		this.token = token;
	}

	saveToken(name, token) {
		this.token = token;
		return Promise.resolve(token);
	}

	removeToken() {
		const old = this.token;
		this.token = null;
		return Promise.resolve(old);
	}

	loadToken() {
		return Promise.resolve(this.token);
	}
}

/** The same for socketcluster-client 14 (callback API). */
export class MemoryAuthEngineV14 {
	constructor(token = null) {
		this.token = token;
	}

	saveToken(name, token, options, callback) {
		this.token = token;
		callback?.(null, token);
	}

	removeToken(name, callback) {
		const old = this.token;
		this.token = null;
		callback?.(null, old);
	}

	loadToken(name, callback) {
		callback(null, this.token);
	}
}

function deferredTimeout(ms, what) {
	let timer;
	const p = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
	});
	return { p, cancel: () => clearTimeout(timer) };
}

/** What every adapter's client shares: the event log and waiting on it. */
class RecordingClient {
	constructor() {
		this.events = [];
		this.messages = [];
		this.eventWaiters = new Set();
	}

	record(type, data = {}) {
		const ev = { ...data, type, at: this.events.length };
		this.events.push(ev);
		for (const w of this.eventWaiters) {
			w(ev);
		}
	}

	/** Events of `type` (optionally only those with at >= from). */
	eventsOf(type, from = 0) {
		return this.events.filter((e) => e.type === type && e.at >= from);
	}

	/**
	 * Resolves with the first event of `type` (a name or a list of names)
	 * at index >= from that matches
	 * pred (also one already recorded); rejects after timeout ms.
	 */
	waitEvent(type, { from = 0, pred = () => true, timeout = 5000 } = {}) {
		const types = [type].flat();
		const match = (e) => types.includes(e.type) && e.at >= from && pred(e);
		const found = this.events.find(match);
		if (found) {
			return Promise.resolve(found);
		}
		const t = deferredTimeout(timeout, `client event "${types.join('" or "')}" (events so far: ${this.events.map((e) => e.type + (e.code ? `(${e.code})` : '')).join(', ')})`);
		let waiter;
		const p = new Promise((resolve) => {
			waiter = (e) => {
				if (match(e)) {
					resolve(e);
				}
			};
			this.eventWaiters.add(waiter);
		});
		return Promise.race([p, t.p]).finally(() => {
			t.cancel();
			this.eventWaiters.delete(waiter);
		});
	}

	/** The handshake status of the first connect (or the next after `from`). */
	async connected({ from = 0, timeout = 5000 } = {}) {
		return (await this.waitEvent('connect', { from, timeout })).status;
	}

	/** Raw inbound messages (strings) that are SocketCluster #publish packets for channel, from index `from`. */
	publishFramesFor(channel, from = 0) {
		return this.messages.slice(from).filter((m) => {
			try {
				const flat = [JSON.parse(m)].flat();
				return flat.some((p) => p && p.event === '#publish' && p.data?.channel === channel);
			} catch {
				return false;
			}
		});
	}
}

/** A channel subscription: what arrived, and whether the subscribe succeeded. */
class Subscription {
	constructor(client, channel, from) {
		this.client = client;
		this.channel = channel;
		this.from = from;
		this.received = [];
		this.waiters = [];
	}

	push(data) {
		this.received.push(data);
		for (const w of this.waiters.splice(0)) {
			w();
		}
	}

	/** Resolves when the server accepted the subscribe; rejects with the client's error on subscribeFail. */
	async ready(timeout = 5000) {
		const ev = await this.client.waitEvent(['subscribe', 'subscribeFail'], {
			from: this.from, pred: (e) => e.channel === this.channel, timeout,
		});
		if (ev.type === 'subscribeFail') {
			throw ev.error;
		}
	}

	/** Waits until `count` messages have arrived in total; returns them all. */
	async waitCount(count, timeout = 5000) {
		const deadline = Date.now() + timeout;
		while (this.received.length < count) {
			const left = deadline - Date.now();
			if (left <= 0) {
				throw new Error(`channel ${this.channel}: ${this.received.length} of ${count} messages after ${timeout} ms: ${JSON.stringify(this.received).slice(0, 300)}`);
			}
			await new Promise((resolve) => {
				const timer = setTimeout(resolve, left);
				this.waiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
		return this.received;
	}
}

// ---- socketcluster-client 20 and asyngular-client 6

class ModernClient extends RecordingClient {
	constructor(mod, server, opts) {
		super();
		const { authToken, ...rest } = opts;
		this.authEngine = new MemoryAuthEngine(authToken ?? null);
		this.socket = mod.create({
			hostname: server.host,
			port: server.port,
			path: server.path,
			authEngine: this.authEngine,
			// asyngular 6 arms an ackTimeout timer for transmits too, which keeps
			// the test process alive that long after the tests.
			ackTimeout: 3000,
			...rest,
		});
		const s = this.socket;
		const listen = async (name, fn) => {
			for await (const data of s.listener(name)) {
				fn(data);
			}
		};
		listen('connect', (status) => this.record('connect', { status }));
		listen('disconnect', ({ code, reason }) => this.record('disconnect', { code, reason }));
		listen('close', ({ code, reason }) => this.record('close', { code, reason }));
		listen('connectAbort', ({ code, reason }) => this.record('connectAbort', { code, reason }));
		listen('error', ({ error }) => this.record('error', { error }));
		listen('removeAuthToken', ({ oldAuthToken }) => this.record('removeAuthToken', { oldAuthToken }));
		listen('subscribe', ({ channel }) => this.record('subscribe', { channel }));
		listen('subscribeFail', ({ channel, error }) => this.record('subscribeFail', { channel, error }));
		listen('unsubscribe', ({ channel }) => this.record('unsubscribe', { channel }));
		listen('message', ({ message }) => this.messages.push(typeof message === 'string' ? message : String(message)));
	}

	get id() {
		return this.socket.id;
	}

	get state() {
		return this.socket.state; // 'connecting' | 'open' | 'closed'
	}

	subscribe(channel) {
		const sub = new Subscription(this, channel, this.events.length);
		const ch = this.socket.subscribe(channel);
		(async () => {
			for await (const data of ch) {
				sub.push(data);
			}
		})();
		return sub;
	}

	unsubscribe(channel) {
		this.socket.unsubscribe(channel);
	}

	invokePublish(channel, data) {
		return this.socket.invokePublish(channel, data);
	}

	transmitPublish(channel, data) {
		this.socket.transmitPublish(channel, data);
	}

	invoke(procedure, data) {
		return this.socket.invoke(procedure, data);
	}

	transmit(event, data) {
		this.socket.transmit(event, data);
	}

	/** Runs fn (which queues calls) inside startBatch()/flushBatch(): one WebSocket message. */
	batch(fn) {
		this.socket.startBatch();
		try {
			return fn();
		} finally {
			this.socket.flushBatch();
		}
	}

	disconnect() {
		this.socket.disconnect();
		this.socket.closeAllListeners();
		this.socket.closeAllChannels();
	}
}

function modernAdapter({ label, pkg, serverOptions = {} }) {
	const mod = require(pkg);
	return {
		name: `${label} ${mod.version}`,
		protocolVersion: 2,
		serverOptions,
		canBatch: true,
		create(server, opts = {}) {
			return new ModernClient(mod, server, opts);
		},
	};
}

// ---- socketcluster-client 14 (legacy, protocol v1)

class LegacyClient extends RecordingClient {
	constructor(mod, server, opts) {
		super();
		const { authToken, ...rest } = opts;
		this.authEngine = new MemoryAuthEngineV14(authToken ?? null);
		this.socket = mod.create({
			hostname: server.host,
			port: server.port,
			path: server.path,
			multiplex: false, // one socket per create(), like the other clients
			authEngine: this.authEngine,
			// v14 arms an ackTimeout timer for every emit, transmits included,
			// which keeps the test process alive that long after the tests.
			ackTimeout: 3000,
			...rest,
		});
		const s = this.socket;
		// v14 throws client errors that nobody listens to: always listen.
		s.on('error', (error) => this.record('error', { error }));
		s.on('connect', (status) => this.record('connect', { status }));
		s.on('disconnect', (code, reason) => this.record('disconnect', { code, reason }));
		s.on('close', (code, reason) => this.record('close', { code, reason }));
		s.on('connectAbort', (code, reason) => this.record('connectAbort', { code, reason }));
		s.on('removeAuthToken', (oldAuthToken) => this.record('removeAuthToken', { oldAuthToken }));
		s.on('subscribe', (channel) => this.record('subscribe', { channel }));
		s.on('subscribeFail', (error, channel) => this.record('subscribeFail', { channel, error }));
		s.on('unsubscribe', (channel) => this.record('unsubscribe', { channel }));
		s.on('message', (message) => this.messages.push(typeof message === 'string' ? message : String(message)));
	}

	get id() {
		return this.socket.id;
	}

	get state() {
		return this.socket.state; // 'connecting' | 'open' | 'closed'
	}

	subscribe(channel, options) {
		const sub = new Subscription(this, channel, this.events.length);
		const ch = this.socket.subscribe(channel, options);
		ch.watch((data) => sub.push(data));
		return sub;
	}

	unsubscribe(channel) {
		this.socket.unsubscribe(channel);
	}

	invokePublish(channel, data) {
		return new Promise((resolve, reject) => {
			this.socket.publish(channel, data, (err) => (err ? reject(err) : resolve()));
		});
	}

	transmitPublish(channel, data) {
		this.socket.publish(channel, data);
	}

	invoke(procedure, data) {
		return new Promise((resolve, reject) => {
			this.socket.emit(procedure, data, (err, res) => (err ? reject(err) : resolve(res)));
		});
	}

	transmit(event, data) {
		this.socket.emit(event, data);
	}

	disconnect() {
		this.socket.disconnect();
		this.socket.destroy();
		this.socket.off();
	}
}

function legacyAdapter() {
	const mod = require('sc14');
	const { version } = require('sc14/package.json');
	return {
		name: `socketcluster-client ${version}`,
		protocolVersion: 1,
		// A v14 client speaks protocol v1: the server must be configured so.
		serverOptions: { protocol_version: 1 },
		// v14 has no startBatch(); it batches only subscriptions made with {batch: true}.
		canBatch: false,
		create(server, opts = {}) {
			return new LegacyClient(mod, server, opts);
		},
	};
}

export const ADAPTERS = {
	sc20: () => modernAdapter({ label: 'socketcluster-client', pkg: 'sc20' }),
	asyngular: () => modernAdapter({ label: 'asyngular-client', pkg: 'asyngular-client' }),
	sc14: legacyAdapter,
};
