// A raw WebSocket client over node:net, for tests that the official clients
// cannot express: the HTTP upgrade is written by hand (rejections come back
// with their status line, headers and body), frames can be masked or not,
// carry any opcode, RSV bits or fragmentation, arbitrary bytes can be sent,
// and reading can be paused to act as a slow reader.
//
// Nothing here answers anything by itself unless asked: with autoPong the
// client replies to SocketCluster protocol pings (an empty text frame in
// protocol v2, "#1" in v1) the way the official client does. WebSocket
// control pings are never answered automatically, so tests can see them.

import net from 'node:net';
import crypto from 'node:crypto';

export const OP = Object.freeze({
	CONT: 0x0,
	TEXT: 0x1,
	BINARY: 0x2,
	CLOSE: 0x8,
	PING: 0x9,
	PONG: 0xa,
});

const OP_NAMES = {
	0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong',
};

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** base64(SHA-1(key + GUID)), the Sec-WebSocket-Accept for key. */
export function acceptFor(key) {
	return crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
}

/**
 * Encodes one frame. payload: Buffer or string (UTF-8). mask: true for a
 * random key, false for an unmasked (client-illegal) frame, or a 4-byte
 * Buffer to use as the key. rsv: 3 bits (RSV1 = 4, RSV2 = 2, RSV3 = 1).
 */
export function encodeFrame({
	opcode = OP.TEXT, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true,
} = {}) {
	const data = Buffer.isBuffer(payload) ? payload : Buffer.from(String(payload), 'utf8');
	const len = data.length;
	let header;
	if (len < 126) {
		header = Buffer.alloc(2);
		header[1] = len;
	} else if (len < 65536) {
		header = Buffer.alloc(4);
		header[1] = 126;
		header.writeUInt16BE(len, 2);
	} else {
		header = Buffer.alloc(10);
		header[1] = 127;
		header.writeBigUInt64BE(BigInt(len), 2);
	}
	header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
	if (!mask) {
		return Buffer.concat([header, data]);
	}
	const key = Buffer.isBuffer(mask) ? mask : crypto.randomBytes(4);
	header[1] |= 0x80;
	const body = Buffer.alloc(len);
	for (let i = 0; i < len; i++) {
		body[i] = data[i] ^ key[i & 3];
	}
	return Buffer.concat([header, key, body]);
}

/** A close frame body: 2-byte code then a UTF-8 reason; empty if code is undefined. */
export function closeBody(code, reason = '') {
	if (code === undefined) {
		return Buffer.alloc(0);
	}
	const r = Buffer.from(reason, 'utf8');
	const b = Buffer.alloc(2 + r.length);
	b.writeUInt16BE(code, 0);
	r.copy(b, 2);
	return b;
}

/** One received frame. */
export class Frame {
	constructor(fin, rsv, opcode, masked, payload) {
		this.fin = fin;
		this.rsv = rsv;
		this.opcode = opcode;
		this.masked = masked;
		this.payload = payload;
	}

	get kind() {
		return OP_NAMES[this.opcode] ?? `opcode-${this.opcode}`;
	}

	get text() {
		return this.payload.toString('utf8');
	}

	/** The payload parsed as JSON (throws with the text if it is not JSON). */
	get json() {
		try {
			return JSON.parse(this.text);
		} catch (e) {
			throw new Error(`frame is not JSON: ${JSON.stringify(this.text.slice(0, 200))}`);
		}
	}

	/** For close frames: the status code (1005 when the body is empty). */
	get closeCode() {
		return this.payload.length >= 2 ? this.payload.readUInt16BE(0) : 1005;
	}

	get closeReason() {
		return this.payload.length > 2 ? this.payload.subarray(2).toString('utf8') : '';
	}

	toString() {
		if (this.opcode === OP.CLOSE) {
			return `close(${this.closeCode}${this.closeReason ? `, ${JSON.stringify(this.closeReason)}` : ''})`;
		}
		if (this.opcode === OP.TEXT) {
			const t = this.text;
			return `text(${JSON.stringify(t.length > 300 ? `${t.slice(0, 300)}…` : t)})`;
		}
		return `${this.kind}(${this.payload.length} bytes${this.fin ? '' : ', not fin'})`;
	}
}

/** The pseudo-frame returned once the TCP connection has ended. */
export const EOF = Object.freeze({ kind: 'eof', eof: true, toString: () => 'eof' });

class FrameParser {
	constructor() {
		this.buf = Buffer.alloc(0);
	}

	push(chunk) {
		this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
		const out = [];
		for (;;) {
			const f = this.#one();
			if (!f) {
				break;
			}
			out.push(f);
		}
		return out;
	}

	#one() {
		const b = this.buf;
		if (b.length < 2) {
			return null;
		}
		const fin = (b[0] & 0x80) !== 0;
		const rsv = (b[0] >> 4) & 7;
		const opcode = b[0] & 0x0f;
		const masked = (b[1] & 0x80) !== 0;
		let len = b[1] & 0x7f;
		let off = 2;
		if (len === 126) {
			if (b.length < 4) {
				return null;
			}
			len = b.readUInt16BE(2);
			off = 4;
		} else if (len === 127) {
			if (b.length < 10) {
				return null;
			}
			len = Number(b.readBigUInt64BE(2));
			off = 10;
		}
		let key = null;
		if (masked) {
			if (b.length < off + 4) {
				return null;
			}
			key = b.subarray(off, off + 4);
			off += 4;
		}
		if (b.length < off + len) {
			return null;
		}
		let payload = Buffer.from(b.subarray(off, off + len));
		if (key) {
			for (let i = 0; i < payload.length; i++) {
				payload[i] ^= key[i & 3];
			}
		}
		this.buf = b.subarray(off + len);
		return new Frame(fin, rsv, opcode, masked, payload);
	}
}

/** Raised by RawWs.connect() when the server does not answer 101. */
export class UpgradeRejected extends Error {
	constructor(res) {
		super(`upgrade rejected: ${res.statusLine}`);
		this.response = res;
	}
}

function parseHead(head) {
	const lines = head.split('\r\n');
	const statusLine = lines.shift();
	const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
	const headers = {};
	for (const l of lines) {
		const i = l.indexOf(':');
		if (i > 0) {
			const name = l.slice(0, i).trim().toLowerCase();
			const value = l.slice(i + 1).trim();
			headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
		}
	}
	return { statusLine, status: m ? Number(m[1]) : NaN, statusText: m ? (m[2] ?? '') : '', headers };
}

function decodeChunked(buf) {
	// Returns the decoded body, or null when the terminating chunk has not arrived.
	const parts = [];
	let off = 0;
	for (;;) {
		const eol = buf.indexOf('\r\n', off);
		if (eol < 0) {
			return null;
		}
		const size = parseInt(buf.subarray(off, eol).toString('latin1'), 16);
		if (Number.isNaN(size)) {
			throw new Error('bad chunked encoding');
		}
		off = eol + 2;
		if (size === 0) {
			return Buffer.concat(parts);
		}
		if (buf.length < off + size + 2) {
			return null;
		}
		parts.push(buf.subarray(off, off + size));
		off += size + 2;
	}
}

function defaultHeaders(host, port, key) {
	return {
		Host: `${host}:${port}`,
		Upgrade: 'websocket',
		Connection: 'Upgrade',
		'Sec-WebSocket-Key': key,
		'Sec-WebSocket-Version': '13',
	};
}

/**
 * Opens a TCP connection, sends request (string or Buffer) as is, and reads
 * one HTTP response head. Resolves to { status, statusText, statusLine,
 * headers (lower-case names), body (string), socket, rest } where rest holds
 * the bytes after the head of a 101 response (the start of the WebSocket
 * stream) and socket is left open only for a 101.
 */
export function rawHttp(port, request, { host = '127.0.0.1', timeout = 5000 } = {}) {
	return new Promise((resolve, reject) => {
		const socket = net.connect({ host, port });
		socket.setNoDelay(true);
		let buf = Buffer.alloc(0);
		let head = null;
		let ended = false;
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new Error(`no complete HTTP response within ${timeout} ms; got ${JSON.stringify(buf.toString('latin1').slice(0, 500))}`));
		}, timeout);
		const finish = (res) => {
			clearTimeout(timer);
			socket.removeAllListeners('data');
			socket.removeAllListeners('end');
			socket.removeAllListeners('error');
			resolve(res);
		};
		const tryComplete = () => {
			if (!head) {
				const i = buf.indexOf('\r\n\r\n');
				if (i < 0) {
					if (ended) {
						clearTimeout(timer);
						reject(new Error(`connection closed before a response head; got ${JSON.stringify(buf.toString('latin1'))}`));
					}
					return;
				}
				head = parseHead(buf.subarray(0, i).toString('latin1'));
				buf = buf.subarray(i + 4);
			}
			if (head.status === 101) {
				socket.pause();
				finish({ ...head, body: '', socket, rest: buf });
				return;
			}
			let body = null;
			const te = head.headers['transfer-encoding'];
			const cl = head.headers['content-length'];
			if (te && /chunked/i.test(te)) {
				body = decodeChunked(buf);
			} else if (cl !== undefined) {
				if (buf.length >= Number(cl)) {
					body = buf.subarray(0, Number(cl));
				}
			} else if (ended) {
				body = buf;
			}
			if (body === null && ended) {
				clearTimeout(timer);
				reject(new Error(`connection closed in the middle of the body of ${head.statusLine}`));
				return;
			}
			if (body !== null) {
				socket.destroy();
				finish({ ...head, body: body.toString('utf8'), socket: null, rest: Buffer.alloc(0) });
			}
		};
		socket.on('data', (chunk) => {
			buf = Buffer.concat([buf, chunk]);
			tryComplete();
		});
		socket.on('end', () => {
			ended = true;
			tryComplete();
		});
		socket.on('error', (err) => {
			if (err.code === 'ECONNRESET' && head) {
				ended = true;
				tryComplete();
				return;
			}
			clearTimeout(timer);
			reject(err);
		});
		socket.write(request);
	});
}

/**
 * Sends an upgrade request built from the options and resolves to the
 * response (see rawHttp) with ws set to an open RawWs on 101.
 * Options: host, path ('/socketcluster/'), method ('GET'), key (random),
 * headers (added or overriding the defaults; a null value removes a default),
 * httpVersion ('1.1'), timeout, and RawWs options (autoPong, pingString).
 */
export async function upgrade(port, opts = {}) {
	const host = opts.host ?? '127.0.0.1';
	const key = opts.key ?? crypto.randomBytes(16).toString('base64');
	const headers = { ...defaultHeaders(host, port, key) };
	for (const [k, v] of Object.entries(opts.headers ?? {})) {
		for (const existing of Object.keys(headers)) {
			if (existing.toLowerCase() === k.toLowerCase()) {
				delete headers[existing];
			}
		}
		if (v !== null && v !== undefined) {
			headers[k] = v;
		}
	}
	let req = `${opts.method ?? 'GET'} ${opts.path ?? '/socketcluster/'} HTTP/${opts.httpVersion ?? '1.1'}\r\n`;
	for (const [k, v] of Object.entries(headers)) {
		req += `${k}: ${v}\r\n`;
	}
	req += '\r\n';
	const res = await rawHttp(port, req, { host, timeout: opts.timeout });
	res.key = key;
	if (res.status === 101) {
		res.ws = new RawWs(res.socket, res.rest, opts);
	}
	return res;
}

/** Plain HTTP request without an upgrade (Connection: close). */
export function httpGet(port, path, { host = '127.0.0.1', method = 'GET', headers = {}, timeout } = {}) {
	let req = `${method} ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n`;
	for (const [k, v] of Object.entries(headers)) {
		req += `${k}: ${v}\r\n`;
	}
	return rawHttp(port, `${req}\r\n`, { host, timeout });
}

/**
 * A raw WebSocket connection (client side). Create it with RawWs.connect()
 * or upgrade().
 */
export class RawWs {
	/**
	 * Upgrades and returns an open RawWs; throws UpgradeRejected (with
	 * .response) if the server answers anything but 101.
	 */
	static async connect(port, opts = {}) {
		const res = await upgrade(port, opts);
		if (res.status !== 101) {
			throw new UpgradeRejected(res);
		}
		res.ws.upgradeResponse = res;
		return res.ws;
	}

	constructor(socket, rest, { autoPong = false, pingString = '' } = {}) {
		this.socket = socket;
		this.parser = new FrameParser();
		this.queue = [];
		this.waiters = [];
		this.ended = false;
		this.error = null;
		this.autoPong = autoPong;
		this.pingString = pingString;
		this.pingsReceived = 0;
		this.bytesReceived = 0;
		socket.on('data', (chunk) => this.#onData(chunk));
		socket.on('end', () => this.#onEnd());
		socket.on('close', () => this.#onEnd());
		socket.on('error', (err) => {
			this.error = err;
			this.#onEnd();
		});
		if (rest && rest.length) {
			this.#onData(rest);
		}
		socket.resume();
	}

	#onData(chunk) {
		this.bytesReceived += chunk.length;
		for (const f of this.parser.push(chunk)) {
			if (this.autoPong && f.opcode === OP.TEXT && f.fin && f.text === this.pingString) {
				this.pingsReceived++;
				if (!this.socket.destroyed) {
					this.sendText(this.pingString === '#1' ? '#2' : '');
				}
				continue;
			}
			this.#deliver(f);
		}
	}

	#onEnd() {
		if (this.ended) {
			return;
		}
		this.ended = true;
		this.#deliver(EOF);
	}

	#deliver(item) {
		const w = this.waiters.shift();
		if (w) {
			w(item);
		} else {
			this.queue.push(item);
		}
	}

	/** Whether the TCP connection has ended (EOF, reset or destroyed). */
	get closed() {
		return this.ended;
	}

	// ---- writing

	/** Writes bytes as they are; resolves when they have been handed to the kernel. */
	sendRaw(bytes) {
		return new Promise((resolve, reject) => {
			if (this.socket.destroyed) {
				reject(new Error('socket destroyed'));
				return;
			}
			this.socket.write(bytes, (err) => (err ? reject(err) : resolve()));
		});
	}

	/** Sends one frame; see encodeFrame for the fields. */
	sendFrame(frame) {
		return this.sendRaw(encodeFrame(frame));
	}

	sendText(text, opts = {}) {
		return this.sendFrame({ ...opts, opcode: OP.TEXT, payload: Buffer.from(text, 'utf8') });
	}

	sendBinary(buf, opts = {}) {
		return this.sendFrame({ ...opts, opcode: OP.BINARY, payload: buf });
	}

	sendJson(obj, opts = {}) {
		return this.sendText(JSON.stringify(obj), opts);
	}

	sendPing(payload = '') {
		return this.sendFrame({ opcode: OP.PING, payload });
	}

	sendPong(payload = '') {
		return this.sendFrame({ opcode: OP.PONG, payload });
	}

	sendClose(code, reason = '') {
		return this.sendFrame({ opcode: OP.CLOSE, payload: closeBody(code, reason) });
	}

	// ---- reading

	/** Stops reading from the socket: the kernel buffers fill and the server sees a slow reader. */
	pause() {
		this.socket.pause();
	}

	resume() {
		this.socket.resume();
	}

	/** Next frame, including control frames and protocol pings; EOF when the connection ended. */
	nextFrame(timeout = 3000) {
		if (this.queue.length) {
			return Promise.resolve(this.queue.shift());
		}
		if (this.ended) {
			return Promise.resolve(EOF);
		}
		return new Promise((resolve, reject) => {
			const waiter = (item) => {
				clearTimeout(timer);
				resolve(item);
			};
			const timer = setTimeout(() => {
				const i = this.waiters.indexOf(waiter);
				if (i >= 0) {
					this.waiters.splice(i, 1);
				}
				reject(new Error(`no frame within ${timeout} ms`));
			}, timeout);
			this.waiters.push(waiter);
		});
	}

	#isProtocolPing(f) {
		return f.opcode === OP.TEXT && f.fin && f.text === this.pingString;
	}

	// A protocol ping (counted) or a WebSocket ping/pong: what the waiting
	// helpers skip.
	#skippable(f) {
		if (f.opcode === OP.PING || f.opcode === OP.PONG) {
			return true;
		}
		if (this.#isProtocolPing(f)) {
			this.pingsReceived++;
			return true;
		}
		return false;
	}

	/**
	 * Next text or binary message. Protocol pings (skipped and counted
	 * unless skipPings is false) and WebSocket ping/pong frames are skipped.
	 * Throws if a close frame or EOF comes first.
	 */
	async nextMessage(timeout = 3000, { skipPings = true } = {}) {
		const deadline = Date.now() + timeout;
		for (;;) {
			const f = await this.nextFrame(Math.max(1, deadline - Date.now()));
			if (f === EOF) {
				throw new Error('connection ended while waiting for a message');
			}
			if (f.opcode === OP.CLOSE) {
				throw new Error(`got ${f} while waiting for a message`);
			}
			if (f.opcode === OP.PING || f.opcode === OP.PONG) {
				continue;
			}
			if (skipPings && this.#isProtocolPing(f)) {
				this.pingsReceived++;
				continue;
			}
			return f;
		}
	}

	/** Next message parsed as JSON. An array (a server batch) is returned as is. */
	async nextJson(timeout = 3000) {
		return (await this.nextMessage(timeout)).json;
	}

	/**
	 * Next `count` packets, flattening server batches (arrays) into their
	 * elements, in order.
	 */
	async nextPackets(count, timeout = 3000) {
		const deadline = Date.now() + timeout;
		const out = [];
		while (out.length < count) {
			const j = await this.nextJson(Math.max(1, deadline - Date.now()));
			if (Array.isArray(j)) {
				out.push(...j);
			} else {
				out.push(j);
			}
		}
		return out;
	}

	/**
	 * Asserts that no frame arrives within ms (protocol pings and WebSocket
	 * pings are ignored unless ignorePings is false). EOF counts as
	 * something arriving.
	 */
	async expectNothing(ms = 300, { ignorePings = true } = {}) {
		const deadline = Date.now() + ms;
		for (;;) {
			const left = deadline - Date.now();
			if (left <= 0) {
				return;
			}
			let f;
			try {
				f = await this.nextFrame(left);
			} catch {
				return; // timed out: nothing arrived
			}
			if (ignorePings && f !== EOF && this.#skippable(f)) {
				continue;
			}
			throw new Error(`expected nothing within ${ms} ms, got ${f}`);
		}
	}

	/**
	 * Waits for the server's close frame and checks its code (if code is not
	 * undefined). Data frames before it are an error unless allowData; pings
	 * are skipped. Then echoes the close (unless echo is false) and waits for
	 * the server to end the TCP connection. Returns { code, reason, frames }.
	 */
	async expectClose(code, timeout = 3000, { allowData = false, echo = true, eofTimeout = 3000 } = {}) {
		const deadline = Date.now() + timeout;
		const frames = [];
		let close;
		for (;;) {
			const f = await this.nextFrame(Math.max(1, deadline - Date.now())).catch(() => {
				throw new Error(`no close frame within ${timeout} ms (expected ${code}); got ${frames.join(', ') || 'nothing'}`);
			});
			if (f === EOF) {
				throw new Error(`connection ended without a close frame (expected ${code}); got ${frames.join(', ') || 'nothing'}`);
			}
			if (f.opcode === OP.CLOSE) {
				close = f;
				break;
			}
			if (this.#skippable(f)) {
				continue;
			}
			if (!allowData) {
				throw new Error(`expected close ${code}, got ${f} first`);
			}
			frames.push(f);
		}
		if (code !== undefined && close.closeCode !== code) {
			throw new Error(`expected close code ${code}, got ${close}`);
		}
		if (close.masked) {
			throw new Error('the server sent a masked close frame');
		}
		if (echo && !this.socket.destroyed) {
			await this.sendClose(close.closeCode === 1005 ? undefined : close.closeCode).catch(() => {});
		}
		await this.waitEnd(eofTimeout);
		return { code: close.closeCode, reason: close.closeReason, frames };
	}

	/** Waits until the server has ended the TCP connection, discarding frames. */
	async waitEnd(timeout = 3000) {
		const deadline = Date.now() + timeout;
		while (!this.ended || this.queue.length) {
			const f = await this.nextFrame(Math.max(1, deadline - Date.now())).catch(() => {
				throw new Error(`the server did not end the TCP connection within ${timeout} ms`);
			});
			if (f === EOF) {
				return;
			}
		}
	}

	/** Closes the TCP connection abruptly. */
	destroy() {
		this.socket.destroy();
	}

	/** Sends a close frame and waits (briefly) for the server to end the connection. */
	async close(code = 1000) {
		if (this.ended || this.socket.destroyed) {
			this.socket.destroy();
			return;
		}
		try {
			await this.sendClose(code);
			await this.waitEnd(1000);
		} catch {
			// the test is over; an unclean end is not this method's business
		} finally {
			this.socket.destroy();
		}
	}
}
