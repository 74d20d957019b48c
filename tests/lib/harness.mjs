// Starts the server under test as a real process on 127.0.0.1 and a free
// port, waits for /health-check, and stops it with SIGTERM, checking that it
// exits with status 0 and printed no sanitizer report.
//
// Target (env AG_TARGET):
//   worker     (default) the C program, AG_WORKER_BIN or <repo>/build/worker/ag-worker
//   reference  tests/compat/reference-server.mjs (socketcluster-server 20), to
//              validate the tests themselves
//
// The cluster's other programs start the same way (`kind`):
//   broker     AG_BROKER_BIN or <repo>/build/broker/ag-broker; ready once it
//              logs "listening on"
//   agcluster  AG_CLUSTER_BIN or <repo>/build/tools/agcluster; ready once
//              /health-check answers on the shared port (and, by default,
//              every worker has logged its link to every broker)
// They have no reference equivalent. A clustered ag-worker (broker_addresses
// set) is ready once /health-check answers and it has logged its link to
// every broker (LINK_UP_LINE): before that its publishes are refused.
// kill9() and restart() (same flags, same ports) test crashes and recovery.
//
// Options are given as an object of ag-worker option names (snake_case);
// they become `--name=value` flags with dashes, understood by both targets.
// Env AG_TEST_VERBOSE=1 copies the server's stderr to ours as it comes.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { after, before } from 'node:test';

import { httpGet } from './rawws.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..');
export const COMPAT_DIR = path.join(REPO, 'tests', 'compat');
export const REFERENCE_SCRIPT = path.join(COMPAT_DIR, 'reference-server.mjs');

export const TARGET = process.env.AG_TARGET === 'reference' ? 'reference' : 'worker';
export const IS_REFERENCE = TARGET === 'reference';
export const WORKER_BIN = process.env.AG_WORKER_BIN || path.join(REPO, 'build', 'worker', 'ag-worker');
export const BROKER_BIN = process.env.AG_BROKER_BIN || path.join(REPO, 'build', 'broker', 'ag-broker');
export const CLUSTER_BIN = process.env.AG_CLUSTER_BIN || path.join(REPO, 'build', 'tools', 'agcluster');

/** What a clustered worker logs once its link to one broker is up and resynchronised. */
export const LINK_UP_LINE = 'connected; subscriptions resynchronised';

/** Pass as a test's `skip` option for tests of agcluster-only behaviour. */
export const SKIP_ON_REFERENCE = IS_REFERENCE ? 'agcluster-only behaviour; the reference server has no such feature' : false;

const VERBOSE = process.env.AG_TEST_VERBOSE === '1';

export const SANITIZER_PATTERNS = [
	'ERROR: AddressSanitizer',
	'ERROR: LeakSanitizer',
	'runtime error:',
	'SUMMARY: UndefinedBehaviorSanitizer',
];

/** Resolves when predicate() is truthy (awaited); rejects after timeoutMs. */
export async function waitFor(predicate, timeoutMs = 3000, { interval = 10, what = 'condition' } = {}) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await predicate();
		if (v) {
			return v;
		}
		if (Date.now() >= deadline) {
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		}
		await new Promise((r) => setTimeout(r, interval));
	}
}

/** A port that was free a moment ago on host (bind to 0, read it, close). */
export function freePort(host = '127.0.0.1') {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, host, () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

function canBind(port, host) {
	return new Promise((resolve) => {
		const srv = net.createServer();
		srv.unref();
		srv.once('error', () => resolve(false));
		srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
	});
}

// The kernel's range for outgoing connections' ports: a port in it can be
// taken by any connect() between the check and the bind.
function ephemeralRange() {
	try {
		const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
		if (Number.isInteger(lo) && Number.isInteger(hi)) {
			return [lo, hi];
		}
	} catch {
		// not Linux: no range to avoid
	}
	return null;
}

/**
 * The first of `count` consecutive ports, each bindable on host a moment
 * ago: a random base in 20000-60000, outside the ephemeral port range when
 * that leaves room. For link ports (a broker listens on its port + w for
 * every worker w).
 */
export async function freePortRange(count, { host = '127.0.0.1', min = 20000, max = 60000, attempts = 50 } = {}) {
	const last = max - count + 1;
	let segments = [[min, last]];
	const eph = ephemeralRange();
	if (eph) {
		const outside = [[min, Math.min(last, eph[0] - count)], [Math.max(min, eph[1] + 1), last]].filter(([a, b]) => a <= b);
		if (outside.length) {
			segments = outside;
		}
	}
	const total = segments.reduce((n, [a, b]) => n + b - a + 1, 0);
	for (let i = 0; i < attempts; i++) {
		let r = Math.floor(Math.random() * total);
		let base = segments[0][0];
		for (const [a, b] of segments) {
			if (r <= b - a) {
				base = a + r;
				break;
			}
			r -= b - a + 1;
		}
		let ok = true;
		for (let p = base; p < base + count && ok; p++) {
			ok = await canBind(p, host);
		}
		if (ok) {
			return base;
		}
	}
	throw new Error(`no ${count} consecutive free ports in ${min}-${max} after ${attempts} attempts`);
}

function toFlags(options) {
	const flags = [];
	for (const [name, value] of Object.entries(options)) {
		if (value === undefined || value === null) {
			continue;
		}
		flags.push(`--${name.replace(/_/g, '-')}=${value}`);
	}
	return flags;
}

function childEnv(extra = {}) {
	const env = { ...process.env };
	// The worker reads AG_* variables as configuration: keep the test's own
	// settings out of it so that only the flags decide.
	for (const k of Object.keys(env)) {
		if (k.startsWith('AG_')) {
			delete env[k];
		}
	}
	const add = (name, ours) => {
		env[name] = env[name] ? `${ours}:${env[name]}` : ours;
	};
	// Ours first: options already in the environment come later and win.
	add('ASAN_OPTIONS', 'detect_leaks=1:abort_on_error=0');
	add('UBSAN_OPTIONS', 'print_stacktrace=1:halt_on_error=0');
	return { ...env, ...extra };
}

const KINDS = {
	worker: { bin: () => WORKER_BIN, name: 'ag-worker', env: {} },
	broker: { bin: () => BROKER_BIN, name: 'ag-broker', env: {} },
	// agcluster finds its children through these (childEnv drops AG_*).
	agcluster: { bin: () => CLUSTER_BIN, name: 'agcluster', env: { AG_WORKER_BIN: path.resolve(WORKER_BIN), AG_BROKER_BIN: path.resolve(BROKER_BIN) } },
};

function kindOf(kind) {
	const k = KINDS[kind];
	if (!k) {
		throw new Error(`unknown kind ${kind}: worker, broker or agcluster`);
	}
	return k;
}

function commandFor(flags, kind = 'worker') {
	if (kind !== 'worker') {
		const k = kindOf(kind);
		if (IS_REFERENCE) {
			throw new Error(`${k.name} has no reference equivalent: skip this test with SKIP_ON_REFERENCE`);
		}
		if (!fs.existsSync(k.bin())) {
			throw new Error(`${k.name} not found at ${k.bin()}: build it (meson) or set ${kind === 'broker' ? 'AG_BROKER_BIN' : 'AG_CLUSTER_BIN'}`);
		}
		return [k.bin(), flags];
	}
	if (IS_REFERENCE) {
		if (!fs.existsSync(path.join(COMPAT_DIR, 'node_modules', 'socketcluster-server'))) {
			throw new Error(`AG_TARGET=reference needs the compat packages: run (cd ${COMPAT_DIR} && npm ci)`);
		}
		return [process.execPath, [REFERENCE_SCRIPT, ...flags]];
	}
	if (!fs.existsSync(WORKER_BIN)) {
		throw new Error(`ag-worker not found at ${WORKER_BIN}: build it (meson), set AG_WORKER_BIN, or run the tests with AG_TARGET=reference`);
	}
	return [WORKER_BIN, flags];
}

/** How many brokers a worker or agcluster with these options links to. */
function brokerCount(options) {
	const list = String(options.broker_addresses ?? '').split(',').filter((a) => a.trim() !== '');
	return list.length || Number(options.brokers ?? 1);
}

/**
 * A process under test: an ag-worker (or the reference server), an
 * ag-broker or agcluster. Create it with startServer() (or startBroker(),
 * startAgcluster()).
 */
export class Server {
	/**
	 * kind: 'worker' (default), 'broker' or 'agcluster'. waitLinks: for a
	 * clustered worker or agcluster, readiness also waits until every worker
	 * has logged its link to every broker (LINK_UP_LINE); default true.
	 */
	constructor(options, port, { kind = 'worker', waitLinks = true } = {}) {
		kindOf(kind);
		this.options = options;
		this.kind = kind;
		this.host = '127.0.0.1';
		this.port = kind === 'broker' ? null : port;
		this.path = options.path ?? '/socketcluster/';
		this.target = kind === 'worker' ? TARGET : kind;
		this.waitLinks = waitLinks;
		this.stderrChunks = [];
		this.stdoutChunks = [];
		this.exit = null; // { code, signal } once exited
		this.stopping = false;
		this.stopped = false;
		this.killedByTest = false;
		this.starts = 0; // processes run by this object: restart() runs another
		this.runStart = 0; // index in stderrChunks where the current process began
	}

	/** Everything every process of this object printed on stderr. */
	get stderr() {
		return Buffer.concat(this.stderrChunks).toString('utf8');
	}

	/** What the current (or last) process printed on stderr. */
	get runStderr() {
		return Buffer.concat(this.stderrChunks.slice(this.runStart)).toString('utf8');
	}

	get url() {
		return `ws://${this.host}:${this.port}${this.path}`;
	}

	/** Whether the process is still running. */
	get alive() {
		return this.exit === null;
	}

	get label() {
		if (this.kind === 'worker' && IS_REFERENCE) {
			return 'the reference server';
		}
		const id = this.options.broker_id ?? this.options.worker_id;
		return `${kindOf(this.kind).name}${id !== undefined ? ` ${id}` : ''}`;
	}

	/** Throws if the process has exited (while it was supposed to serve). */
	assertAlive() {
		if (!this.alive) {
			throw new Error(`${this.label} died unexpectedly (${this.#exitText()})\n${this.#stderrTail()}`);
		}
	}

	#exitText() {
		if (!this.exit) {
			return 'still running';
		}
		return this.exit.signal ? `killed by ${this.exit.signal}` : `exit status ${this.exit.code}`;
	}

	#stderrTail(n = 4000) {
		const s = this.stderr;
		return s ? `--- ${this.label} stderr (last ${Math.min(n, s.length)} chars) ---\n${s.slice(-n)}` : '(no stderr)';
	}

	/** The sanitizer report lines found in stderr so far (every process of this object). */
	sanitizerReports() {
		return this.stderr.split('\n').filter((l) => SANITIZER_PATTERNS.some((p) => l.includes(p)));
	}

	#flags() {
		if (this.kind === 'broker') {
			return toFlags(this.options);
		}
		return toFlags({ host: this.host, port: this.port, ...this.options });
	}

	/**
	 * The process's command line and environment: { cmd, args, env }. A
	 * subclass may run something else that execs the program (a script).
	 */
	command() {
		const [cmd, args] = commandFor(this.#flags(), this.kind);
		return { cmd, args, env: childEnv(kindOf(this.kind).env) };
	}

	start() {
		const { cmd, args, env } = this.command();
		this.argv = [cmd, ...args];
		this.exit = null;
		this.stopping = false;
		this.stopped = false;
		this.killedByTest = false;
		this.runStart = this.stderrChunks.length;
		this.starts++;
		this.child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
		this.pid = this.child.pid;
		const child = this.child;
		child.stderr.on('data', (c) => {
			this.stderrChunks.push(c);
			if (VERBOSE) {
				process.stderr.write(c);
			}
		});
		child.stdout.on('data', (c) => this.stdoutChunks.push(c));
		// 'close', not 'exit': it comes after stderr has been read to the
		// end, so a report printed while exiting (LeakSanitizer) is seen.
		this.exited = new Promise((resolve) => {
			child.on('close', (code, signal) => {
				this.exit = { code, signal };
				resolve(this.exit);
			});
			child.on('error', (err) => {
				this.exit = { code: null, signal: null, error: err };
				resolve(this.exit);
			});
		});
	}

	/**
	 * Waits until the current process's stderr has `count` lines containing
	 * `text` (a string or RegExp); returns those lines. Fails if the process
	 * exits first or after timeoutMs.
	 */
	async waitLog(text, { count = 1, timeoutMs = 10000 } = {}) {
		const matches = () => this.runStderr.split('\n').filter((l) => (typeof text === 'string' ? l.includes(text) : text.test(l)));
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const found = matches();
			if (found.length >= count) {
				return found;
			}
			if (!this.alive) {
				throw new Error(`${this.label} exited (${this.#exitText()}) before logging ${count} × ${JSON.stringify(String(text))}: ${this.argv.join(' ')}\n${this.#stderrTail()}`);
			}
			if (Date.now() >= deadline) {
				throw new Error(`${this.label} logged ${found.length} of ${count} × ${JSON.stringify(String(text))} within ${timeoutMs} ms: ${this.argv.join(' ')}\n${this.#stderrTail()}`);
			}
			await new Promise((r) => setTimeout(r, 10));
		}
	}

	/** Polls GET /health-check until it answers 200; fails if the process exits first. */
	async #waitHealth(deadline) {
		let last = 'no answer';
		while (Date.now() < deadline) {
			if (!this.alive) {
				throw new Error(`${this.label} exited before it was ready (${this.#exitText()}): ${this.argv.join(' ')}\n${this.#stderrTail()}`);
			}
			try {
				const res = await httpGet(this.port, '/health-check', { timeout: 1000 });
				if (res.status === 200) {
					return;
				}
				last = res.statusLine;
			} catch (err) {
				last = err.code ?? err.message;
			}
			await new Promise((r) => setTimeout(r, 25));
		}
		throw new Error(`${this.label} not ready within the deadline (last: ${last}): ${this.argv.join(' ')}\n${this.#stderrTail()}`);
	}

	/** The worker-to-broker links readiness waits for (0: none). */
	get linksExpected() {
		if (!this.waitLinks || this.kind === 'broker' || (this.kind === 'worker' && IS_REFERENCE)) {
			return 0;
		}
		if (this.kind === 'worker') {
			return this.options.broker_addresses ? brokerCount(this.options) : 0;
		}
		return brokerCount(this.options) * Number(this.options.workers);
	}

	/**
	 * Waits until the process serves: a broker has logged "listening on";
	 * a worker or agcluster answers /health-check, and then (linksExpected)
	 * its workers have logged their links to the brokers.
	 */
	async waitReady(timeoutMs) {
		const deadline = Date.now() + timeoutMs;
		if (this.kind === 'broker') {
			await this.waitLog('listening on', { timeoutMs });
			return;
		}
		await this.#waitHealth(deadline);
		const links = this.linksExpected;
		if (links > 0) {
			await this.waitLog(LINK_UP_LINE, { count: links, timeoutMs: Math.max(1, deadline - Date.now()) });
		}
	}

	/** SIGKILL, and wait for the process to be gone. stop() accepts the death. */
	async kill9() {
		if (!this.alive) {
			return;
		}
		this.killedByTest = true;
		this.child.kill('SIGKILL');
		await this.exited;
	}

	/**
	 * Runs the program again with the same flags (same port, same
	 * addresses) once the previous process is gone, and waits until it is
	 * ready. Its stderr is added to the same log, which stop() checks whole.
	 */
	async restart({ readyTimeoutMs = 15000 } = {}) {
		if (this.alive) {
			throw new Error(`${this.label} is still running: kill9() or stop() it first`);
		}
		this.start();
		await this.waitReady(readyTimeoutMs);
	}

	/**
	 * SIGTERM (or signal), wait for the exit, and check: status 0 (not a signal), no
	 * sanitizer report, no unexpected death earlier. Throws on any of them.
	 * A process ended with kill9() is not an unexpected death. Safe to call twice.
	 */
	async stop({ timeoutMs = this.kind === 'agcluster' ? 20000 : 10000, signal = 'SIGTERM' } = {}) {
		if (this.stopped) {
			return;
		}
		this.stopped = true;
		const problems = [];
		if (!this.alive) {
			if (!this.stopping && !this.killedByTest) {
				problems.push(`${this.label} died during the test (${this.#exitText()})`);
			}
		} else {
			this.stopping = true;
			this.child.kill(signal);
			let timer;
			const timeout = new Promise((r) => {
				timer = setTimeout(r, timeoutMs, 'timeout');
			});
			const outcome = await Promise.race([this.exited, timeout]);
			clearTimeout(timer);
			if (outcome === 'timeout') {
				this.child.kill('SIGKILL');
				await this.exited;
				problems.push(`${this.label} did not exit within ${timeoutMs} ms of ${signal} (killed)`);
			} else if (this.exit.signal || this.exit.code !== 0) {
				problems.push(`${this.label} ended with ${this.#exitText()}; expected exit status 0 after ${signal}`);
			}
		}
		const reports = this.sanitizerReports();
		if (reports.length) {
			problems.push(`sanitizer report(s) on stderr:\n  ${reports.join('\n  ')}`);
		}
		if (problems.length) {
			throw new Error(`${problems.join('\n')}\n${this.#stderrTail(8000)}`);
		}
	}
}

/**
 * Starts a server with the given options (ag-worker names, e.g.
 * { ping_interval: 1000, allow_client_publish: false }) and waits until it
 * serves. { port } pins the port (e.g. to restart on the same one); without
 * it a free port is picked, and picked again if the server could not bind.
 *
 * { kind: 'broker' } starts an ag-broker (its options must hold workers,
 * broker_addresses and broker_id; it has no client port); { kind:
 * 'agcluster' } starts the launcher, with free link ports from
 * freePortRange() unless options.link_port is given. { waitLinks: false }
 * skips waiting for the worker-to-broker links.
 */
export async function startServer(options = {}, { port, readyTimeoutMs = 15000, kind = 'worker', waitLinks = true } = {}) {
	const pinned = kind === 'broker' || port !== undefined;
	const attempts = pinned ? 1 : 3;
	let lastErr;
	for (let i = 0; i < attempts; i++) {
		let opts = options;
		if (kind === 'agcluster') {
			const workers = options.workers ?? os.availableParallelism();
			const brokers = brokerCount(options);
			opts = { ...options, workers };
			if (opts.link_port === undefined && !opts.broker_addresses) {
				opts.link_port = await freePortRange(brokers * workers);
			}
		}
		const s = new Server(opts, kind === 'broker' ? null : (port ?? (await freePort())), { kind, waitLinks });
		s.start();
		try {
			await s.waitReady(readyTimeoutMs);
			return s;
		} catch (err) {
			lastErr = err;
			if (s.alive) {
				// It runs but is not ready: stop it (checking it) rather than
				// leave it behind; another port will not help.
				s.child.kill('SIGKILL');
				await s.exited;
				break;
			}
		}
	}
	throw lastErr;
}

/** startServer() for an ag-broker. */
export function startBroker(options, opts = {}) {
	return startServer(options, { ...opts, kind: 'broker' });
}

/** startServer() for agcluster (e.g. { workers: 2, brokers: 2 }). */
export function startAgcluster(options, opts = {}) {
	return startServer(options, { ...opts, kind: 'agcluster' });
}

/**
 * For a test file or a describe(): starts a server before its tests and
 * stops it after them, so that a bad stop (exit status, sanitizer report,
 * earlier death) fails the suite. Returns a handle; handle.server is set
 * once started. With skip truthy (e.g. SKIP_ON_REFERENCE, for suites whose
 * tests are all skipped on this target) no server is started. { kind }
 * as for startServer().
 */
export function useServer(options = {}, { skip = false, kind = 'worker' } = {}) {
	const handle = {
		server: null,
		get port() {
			return this.server.port;
		},
	};
	before(async () => {
		if (!skip) {
			handle.server = await startServer(options, { kind });
		}
	});
	after(async () => {
		if (handle.server) {
			await handle.server.stop();
		}
	});
	return handle;
}
