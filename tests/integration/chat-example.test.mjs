// The chat example (examples/chat) end to end, as its README runs it:
// examples/chat/run.sh starts agcluster with the example's login plugin, a
// demo user store and the channel rules; token-server.mjs signs tokens with
// jsonwebtoken; socketcluster-client 20 and the example's client.mjs talk
// to them. Everything is a real process on free ports; the store and the
// key live in a temporary directory.
//
// The programs: AG_CLUSTER_BIN (with AG_WORKER_BIN, AG_BROKER_BIN) as for
// the other tests, given to run.sh as AGCLUSTER_BIN; the plugin is the one
// meson builds next to them (examples/chat/meson.build), or AG_CHAT_PLUGIN.
// The example's npm packages are not installed: its scripts get
// socketcluster-client and jsonwebtoken from tests/compat/node_modules (a
// module resolve hook), after a test has checked that the versions are the
// ones examples/chat/package.json asks for.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import {
	BROKER_BIN, CLUSTER_BIN, COMPAT_DIR, REPO, SKIP_ON_REFERENCE, Server, WORKER_BIN, freePort, freePortRange,
	waitFor,
} from '../lib/harness.mjs';

const require = createRequire(path.join(COMPAT_DIR, 'package.json'));
const jwt = require('jsonwebtoken');
const sc = require('sc20');

const EXAMPLE = path.join(REPO, 'examples', 'chat');
const RUN_SH = path.join(EXAMPLE, 'run.sh');
const PLUGIN = path.resolve(process.env.AG_CHAT_PLUGIN
	|| path.join(path.dirname(WORKER_BIN), '..', 'examples', 'chat', 'login.so'));
const WORKERS = 2;
const EXPIRY = 86400; // agcluster's auth_default_expiry, and token-server.mjs's expiresIn

// run.sh's demo store.
const ALICE = { username: 'alice', password: 'alice-pw', channels: ['room:general'] };
const BOB = { username: 'bob', password: 'bob-pw', channels: ['room:general', 'room:bob'] };

const notAuthorized = (action, channel) => `You are not authorized to ${action} to the ${channel} channel`;

/** Rejects after ms unless promise settles first (and leaves no timer behind). */
function within(ms, promise, what) {
	let timer;
	const timeout = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * run.sh in place of the agcluster binary (Server's command(), with run.sh
 * as the command and the example's environment). It execs agcluster, so
 * the rest of the harness's Server applies unchanged: readiness (/health-check, then every
 * worker's broker link), waitLog, and stop()'s checks (exit status 0 after
 * SIGTERM, no sanitizer report from agcluster or its children).
 */
class ChatCluster extends Server {
	constructor(port, linkPort, env) {
		super({ workers: WORKERS, link_port: linkPort }, port, { kind: 'agcluster' });
		this.env = env;
	}

	command() {
		const args = [`--host=${this.host}`, `--workers=${WORKERS}`, `--link-port=${this.options.link_port}`];
		return { cmd: RUN_SH, args, env: this.env };
	}

	get stdout() {
		return Buffer.concat(this.stdoutChunks).toString('utf8');
	}
}

/** The environment of run.sh: the harness's for agcluster (no other AG_*, sanitizer options), and the example's variables. */
function clusterEnv(extra) {
	const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AG_')));
	const prepend = (name, ours) => (env[name] ? `${ours}:${env[name]}` : ours);
	env.ASAN_OPTIONS = prepend('ASAN_OPTIONS', 'detect_leaks=1:abort_on_error=0');
	env.UBSAN_OPTIONS = prepend('UBSAN_OPTIONS', 'print_stacktrace=1:halt_on_error=0');
	return {
		...env,
		AG_WORKER_BIN: path.resolve(WORKER_BIN),
		AG_BROKER_BIN: path.resolve(BROKER_BIN),
		AGCLUSTER_BIN: path.resolve(CLUSTER_BIN),
		CHAT_PLUGIN: PLUGIN,
		CHAT_SKIP_NPM: '1',
		...extra,
	};
}

/**
 * A module resolve hook (node --import) for the example's scripts:
 * socketcluster-client and jsonwebtoken, imported from examples/chat, come
 * from tests/compat/node_modules (where socketcluster-client 20 is "sc20").
 */
function writeResolveHook(dir) {
	const hooks = path.join(dir, 'resolve-hooks.mjs');
	fs.writeFileSync(hooks, `
const EXAMPLE = ${JSON.stringify(`${pathToFileURL(EXAMPLE).href}/`)};
const COMPAT = ${JSON.stringify(pathToFileURL(path.join(COMPAT_DIR, 'package.json')).href)};
const PACKAGES = { 'socketcluster-client': 'sc20', jsonwebtoken: 'jsonwebtoken' };
export async function resolve(specifier, context, nextResolve) {
	if (Object.hasOwn(PACKAGES, specifier) && context.parentURL?.startsWith(EXAMPLE)) {
		return nextResolve(PACKAGES[specifier], { ...context, parentURL: COMPAT });
	}
	return nextResolve(specifier, context);
}
`);
	const register = path.join(dir, 'register.mjs');
	fs.writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
	return register;
}

describe('the chat example (examples/chat)', { skip: SKIP_ON_REFERENCE }, () => {
	let tmp;
	let key;
	let cluster;
	let tokenServer;
	let tokenPort;
	let register;
	const sockets = [];

	/** Starts an example script with node; `done` resolves { code, signal, stdout, stderr } once it exits. */
	function runNode(script, args, env) {
		const child = spawn(process.execPath, ['--import', register, path.join(EXAMPLE, script), ...args], {
			env: { ...process.env, CHAT_AUTH_KEY: key, CHAT_USERS: path.join(tmp, 'users.txt'), ...env },
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		const out = { stdout: '', stderr: '' };
		child.stdout.on('data', (c) => {
			out.stdout += c;
		});
		child.stderr.on('data', (c) => {
			out.stderr += c;
		});
		const done = new Promise((resolve) => {
			child.on('close', (code, signal) => resolve({ code, signal, ...out }));
		});
		return { child, out, done };
	}

	/** client.mjs with these arguments, against the cluster and the token server. */
	async function runClient(...args) {
		const client = runNode('client.mjs', args, { PORT: String(cluster.port), TOKEN_PORT: String(tokenPort) });
		const r = await within(15000, client.done, `client.mjs ${args.join(' ')} to exit`).catch((err) => {
			client.child.kill('SIGKILL');
			throw new Error(`${err.message}\nstdout: ${client.out.stdout}\nstderr: ${client.out.stderr}`);
		});
		return { ...r, lines: r.stdout.split('\n').filter((l) => l !== '') };
	}

	async function connect(options = {}) {
		const socket = sc.create({ hostname: '127.0.0.1', port: cluster.port, autoReconnect: false, ...options });
		sockets.push(socket);
		const status = await within(5000, socket.listener('connect').once(), 'connect');
		return { socket, status };
	}

	/** The WebSocket flow: invoke('login'), then the token (#setAuthToken) that follows the answer. */
	async function logIn({ username, password }) {
		const { socket } = await connect();
		await socket.invoke('login', { username, password });
		if (socket.authState !== socket.AUTHENTICATED) {
			await within(5000, socket.listener('authenticate').once(), 'the token after login');
		}
		return socket;
	}

	/** Subscribes; resolves the list of what arrives on the channel, or rejects with the subscribeFail error. */
	async function subscribe(socket, name) {
		const channel = socket.subscribe(name);
		const error = await within(5000, Promise.race([
			channel.listener('subscribe').once().then(() => null),
			channel.listener('subscribeFail').once().then((e) => e.error),
		]), `subscribe ${name}`);
		if (error) {
			throw error;
		}
		const received = [];
		(async () => {
			for await (const data of channel) {
				received.push(data);
			}
		})();
		return received;
	}

	before(async () => {
		if (!fs.existsSync(PLUGIN)) {
			throw new Error(`the chat example's plugin is not at ${PLUGIN}: build it (meson: examples/chat/meson.build) or set AG_CHAT_PLUGIN`);
		}
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agchat-'));
		key = randomBytes(32).toString('hex');
		register = writeResolveHook(tmp);
		// As startServer(): another free port if one was taken meanwhile
		// (the process then exits before it is ready).
		for (let attempt = 1; ; attempt++) {
			const port = await freePort();
			// run.sh creates the demo store (alice, bob) in CHAT_USERS with
			// adduser.mjs, unless it exists already.
			fs.rmSync(path.join(tmp, 'users.txt'), { force: true });
			cluster = new ChatCluster(port, await freePortRange(WORKERS), clusterEnv({
				PORT: String(port),
				CHAT_AUTH_KEY: key,
				CHAT_USERS: path.join(tmp, 'users.txt'),
			}));
			cluster.start();
			try {
				await cluster.waitReady(20000);
				break;
			} catch (err) {
				if (cluster.alive || attempt === 3) {
					throw err;
				}
			}
		}
		for (let attempt = 1; ; attempt++) {
			tokenPort = await freePort();
			tokenServer = runNode('token-server.mjs', [], { TOKEN_PORT: String(tokenPort) });
			const server = tokenServer;
			const listening = await waitFor(() => {
				if (server.child.exitCode !== null) {
					return 'exited';
				}
				return server.out.stdout.includes(`token server: POST http://127.0.0.1:${tokenPort}/login`) && 'listening';
			}, 10000, { what: 'token-server.mjs to listen' });
			if (listening === 'listening') {
				break;
			}
			tokenServer = null;
			if (attempt === 3) {
				throw new Error(`token-server.mjs exited: ${server.out.stderr}`);
			}
		}
	});

	afterEach(() => {
		for (const socket of sockets.splice(0)) {
			socket.disconnect();
			socket.killAllChannels();
			socket.killAllListeners();
		}
	});

	after(async () => {
		const problems = [];
		if (tokenServer) {
			tokenServer.child.kill('SIGTERM');
			const r = await within(5000, tokenServer.done, 'token-server.mjs to exit').catch((err) => {
				tokenServer.child.kill('SIGKILL');
				return { code: null, signal: err.message };
			});
			if (r.code !== 0) {
				problems.push(`token-server.mjs ended with ${r.signal ?? `status ${r.code}`}: ${tokenServer.out.stderr}`);
			}
		}
		try {
			if (cluster) {
				await cluster.stop();
			}
		} catch (err) {
			problems.push(err.message);
		}
		if (tmp) {
			fs.rmSync(tmp, { recursive: true, force: true });
		}
		if (problems.length) {
			throw new Error(problems.join('\n'));
		}
	});

	test('the example asks for the client packages the suite installs', () => {
		const example = JSON.parse(fs.readFileSync(path.join(EXAMPLE, 'package.json'), 'utf8')).dependencies;
		const installed = (dir) => JSON.parse(fs.readFileSync(path.join(COMPAT_DIR, 'node_modules', dir, 'package.json'), 'utf8'));
		assert.deepEqual(Object.keys(example).sort(), ['jsonwebtoken', 'socketcluster-client']);
		assert.equal(installed('sc20').name, 'socketcluster-client');
		assert.equal(installed('sc20').version, example['socketcluster-client']);
		assert.equal(installed('jsonwebtoken').version, example.jsonwebtoken);
	});

	test('run.sh created the demo store, and built and installed nothing', () => {
		const lines = fs.readFileSync(path.join(tmp, 'users.txt'), 'utf8').trim().split('\n');
		assert.deepEqual(lines.map((l) => l.split(':')[0]), ['alice', 'bob']);
		assert.match(cluster.stdout, /creating demo users/);
		assert.doesNotMatch(cluster.stdout, /npm ci|building/);
	});

	test('login with the right password: a token signed with the key, its claims listing the channels', async () => {
		const socket = await logIn(BOB);
		assert.equal(socket.authState, 'authenticated');
		assert.deepEqual(socket.authToken.channels, BOB.channels);
		const claims = jwt.verify(socket.signedAuthToken, key);
		assert.equal(claims.username, 'bob');
		assert.deepEqual(claims.channels, BOB.channels);
		assert.equal(claims.exp, claims.iat + EXPIRY);
	});

	test('a wrong password, or an unknown user, gets LoginError and no token', async () => {
		for (const [username, password] of [['alice', 'bob-pw'], ['alice', ''], ['mallory', 'alice-pw']]) {
			const { socket } = await connect();
			await assert.rejects(socket.invoke('login', { username, password }), { name: 'LoginError', message: 'Invalid user credentials' });
			assert.equal(socket.authState, 'unauthenticated', `${username}/${password}`);
			assert.equal(socket.signedAuthToken, null);
		}
	});

	test('a publish to a channel of the token reaches another user; others get PublishError and SubscribeError', async () => {
		const alice = await logIn(ALICE);
		const bob = await logIn(BOB);
		const bobGeneral = await subscribe(bob, 'room:general');
		const bobPrivate = await subscribe(bob, 'room:bob');

		await alice.invokePublish('room:general', { from: 'alice', text: 'hello' });
		await waitFor(() => bobGeneral.length > 0, 5000, { what: "alice's message at bob" });
		assert.deepEqual(bobGeneral, [{ from: 'alice', text: 'hello' }]);

		// Bob's room works: his own publish arrives ...
		await bob.invokePublish('room:bob', { from: 'bob', text: 'mine' });
		await waitFor(() => bobPrivate.length > 0, 5000, { what: "bob's message on room:bob" });
		// ... but alice's token does not list it.
		await assert.rejects(alice.invokePublish('room:bob', { from: 'alice', text: 'psst' }), {
			name: 'PublishError',
			message: notAuthorized('publish', 'room:bob'),
		});
		await assert.rejects(subscribe(alice, 'room:bob'), { name: 'SubscribeError', message: 'You are not allowed to subscribe to room:bob' });
		// A socket without a token has no channels at all.
		const { socket: anonymous } = await connect();
		await assert.rejects(anonymous.invokePublish('room:general', 'anonymous'), {
			name: 'PublishError',
			message: notAuthorized('publish', 'room:general'),
		});
		// Nothing refused reached bob.
		await new Promise((r) => setTimeout(r, 300));
		assert.deepEqual(bobPrivate, [{ from: 'bob', text: 'mine' }]);
		assert.deepEqual(bobGeneral, [{ from: 'alice', text: 'hello' }]);
	});

	test('the HTTP flow: token-server.mjs signs the token, the next connection hands it over in its handshake', async () => {
		const post = async (body) => {
			const res = await fetch(`http://127.0.0.1:${tokenPort}/login`, { method: 'POST', body: JSON.stringify(body) });
			return { status: res.status, body: await res.json() };
		};
		const refused = await post({ username: 'bob', password: 'alice-pw' });
		assert.deepEqual(refused, { status: 401, body: { error: 'Invalid user credentials' } });
		const { status, body } = await post({ username: 'bob', password: 'bob-pw' });
		assert.equal(status, 200);
		const claims = jwt.verify(body.token, key);
		assert.deepEqual({ username: claims.username, channels: claims.channels }, { username: 'bob', channels: BOB.channels });
		assert.equal(claims.exp, claims.iat + EXPIRY);

		// What a browser does (token-server.mjs, README): the token stored in
		// localStorage under the key socketcluster-client 20 reads when it
		// connects. Node has no localStorage: a stand-in for this one test.
		const storage = new Map([[`socketcluster.authToken.127.0.0.1:${cluster.port}`, body.token]]);
		const saved = Object.getOwnPropertyDescriptor(globalThis, 'localStorage');
		Object.defineProperty(globalThis, 'localStorage', {
			configurable: true,
			value: {
				getItem: (k) => storage.get(k) ?? null,
				setItem: (k, v) => storage.set(k, String(v)),
				removeItem: (k) => storage.delete(k),
			},
		});
		let viaStorage;
		let forged;
		try {
			viaStorage = await connect();
			// A token signed with another key is refused at the handshake.
			storage.set(`socketcluster.authToken.127.0.0.1:${cluster.port}`, jwt.sign({ username: 'bob', channels: BOB.channels }, 'not-the-key'));
			forged = await connect();
		} finally {
			delete globalThis.localStorage;
			if (saved) {
				Object.defineProperty(globalThis, 'localStorage', saved);
			}
		}
		assert.equal(viaStorage.status.isAuthenticated, true);
		assert.equal(viaStorage.socket.authState, 'authenticated');
		assert.equal(viaStorage.socket.authToken.username, 'bob');
		assert.equal(forged.status.isAuthenticated, false);
		assert.equal(forged.status.authError?.name, 'AuthTokenInvalidError');

		// The HTTP token and login.so's are interchangeable: the rules read
		// the same claim.
		const listener = await logIn(BOB);
		const got = await subscribe(listener, 'room:bob');
		await viaStorage.socket.invokePublish('room:bob', { from: 'bob', text: 'via http' });
		await waitFor(() => got.length > 0, 5000, { what: 'the publish of the HTTP-token socket' });
		assert.deepEqual(got, [{ from: 'bob', text: 'via http' }]);
		await assert.rejects(viaStorage.socket.invokePublish('room:secret', 'x'), {
			name: 'PublishError',
			message: notAuthorized('publish', 'room:secret'),
		});
	});

	test("client.mjs: the README's session (login, publish, a refused publish)", async () => {
		const bob = await logIn(BOB);
		const got = await subscribe(bob, 'room:general');
		const r = await runClient('--try=room:bob', 'alice', 'alice-pw', 'hello');
		assert.equal(r.code, 0, r.stderr);
		assert.deepEqual(r.lines, [
			'logged in as alice (login procedure); channels: room:general',
			'subscribed to room:general',
			'[room:general] alice: hello',
			`publish to room:bob refused: PublishError: ${notAuthorized('publish', 'room:bob')}`,
		]);
		await waitFor(() => got.length > 0, 5000, { what: "client.mjs's message at bob" });
		assert.deepEqual(got, [{ from: 'alice', text: 'hello' }]);
	});

	test('client.mjs --http: the token from token-server.mjs', async () => {
		const r = await runClient('--http', '--room=room:bob', 'bob', 'bob-pw', 'hi');
		assert.equal(r.code, 0, r.stderr);
		assert.deepEqual(r.lines, [
			'logged in as bob (HTTP token); channels: room:general, room:bob',
			'subscribed to room:bob',
			'[room:bob] bob: hi',
			`publish to room:secret refused: PublishError: ${notAuthorized('publish', 'room:secret')}`,
		]);
	});

	test('client.mjs: a wrong password, either way, and a room the token does not list', async () => {
		const ws = await runClient('alice', 'wrong');
		assert.equal(ws.code, 1);
		assert.match(ws.stderr, /^error: LoginError: Invalid user credentials$/m);
		const http = await runClient('--http', 'alice', 'wrong');
		assert.equal(http.code, 1);
		assert.match(http.stderr, /^error: HTTP 401: Invalid user credentials$/m);
		const room = await runClient('--room=room:bob', 'alice', 'alice-pw', 'x');
		assert.equal(room.code, 1);
		assert.match(room.stderr, /^error: SubscribeError: You are not allowed to subscribe to room:bob$/m);
	});
});
