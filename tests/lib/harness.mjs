// Starts the server under test as a real process on 127.0.0.1 and a free
// port, waits for /health-check, and stops it with SIGTERM, checking that it
// exits with status 0 and printed no sanitizer report.
//
// Target (env AG_TARGET):
//   worker     (default) the C program, AG_WORKER_BIN or <repo>/build/worker/ag-worker
//   reference  tests/compat/reference-server.mjs (socketcluster-server 20), to
//              validate the tests themselves
//
// Options are given as an object of ag-worker option names (snake_case);
// they become `--name=value` flags with dashes, understood by both targets.
// Env AG_TEST_VERBOSE=1 copies the server's stderr to ours as it comes.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
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

function childEnv() {
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
	return env;
}

function commandFor(flags) {
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

/** A server process under test. Create it with startServer(). */
export class Server {
	constructor(options, port) {
		this.options = options;
		this.host = '127.0.0.1';
		this.port = port;
		this.path = options.path ?? '/socketcluster/';
		this.target = TARGET;
		this.stderrChunks = [];
		this.stdoutChunks = [];
		this.exit = null; // { code, signal } once exited
		this.stopping = false;
		this.stopped = false;
	}

	get stderr() {
		return Buffer.concat(this.stderrChunks).toString('utf8');
	}

	get url() {
		return `ws://${this.host}:${this.port}${this.path}`;
	}

	/** Whether the process is still running. */
	get alive() {
		return this.exit === null;
	}

	/** Throws if the process has exited (while it was supposed to serve). */
	assertAlive() {
		if (!this.alive) {
			throw new Error(`server died unexpectedly (${this.#exitText()})\n${this.#stderrTail()}`);
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
		return s ? `--- server stderr (last ${Math.min(n, s.length)} chars) ---\n${s.slice(-n)}` : '(no stderr)';
	}

	/** The sanitizer report lines found in stderr so far. */
	sanitizerReports() {
		return this.stderr.split('\n').filter((l) => SANITIZER_PATTERNS.some((p) => l.includes(p)));
	}

	start() {
		const [cmd, args] = commandFor(toFlags({ host: this.host, port: this.port, ...this.options }));
		this.argv = [cmd, ...args];
		this.child = spawn(cmd, args, { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
		this.pid = this.child.pid;
		this.child.stderr.on('data', (c) => {
			this.stderrChunks.push(c);
			if (VERBOSE) {
				process.stderr.write(c);
			}
		});
		this.child.stdout.on('data', (c) => this.stdoutChunks.push(c));
		// 'close', not 'exit': it comes after stderr has been read to the
		// end, so a report printed while exiting (LeakSanitizer) is seen.
		this.exited = new Promise((resolve) => {
			this.child.on('close', (code, signal) => {
				this.exit = { code, signal };
				resolve(this.exit);
			});
			this.child.on('error', (err) => {
				this.exit = { code: null, signal: null, error: err };
				resolve(this.exit);
			});
		});
	}

	/** Polls GET /health-check until it answers 200; fails if the process exits first. */
	async waitReady(timeoutMs) {
		const deadline = Date.now() + timeoutMs;
		let last = 'no answer';
		while (Date.now() < deadline) {
			if (!this.alive) {
				throw new Error(`server exited before it was ready (${this.#exitText()}): ${this.argv.join(' ')}\n${this.#stderrTail()}`);
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
		throw new Error(`server not ready within ${timeoutMs} ms (last: ${last}): ${this.argv.join(' ')}\n${this.#stderrTail()}`);
	}

	/**
	 * SIGTERM (or signal), wait for the exit, and check: status 0 (not a signal), no
	 * sanitizer report, no unexpected death earlier. Throws on any of them.
	 * Safe to call twice.
	 */
	async stop({ timeoutMs = 10000, signal = 'SIGTERM' } = {}) {
		if (this.stopped) {
			return;
		}
		this.stopped = true;
		const diedEarly = !this.alive && !this.stopping;
		const problems = [];
		if (diedEarly) {
			problems.push(`the server died during the test (${this.#exitText()})`);
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
				problems.push(`the server did not exit within ${timeoutMs} ms of ${signal} (killed)`);
			} else if (this.exit.signal || this.exit.code !== 0) {
				problems.push(`the server ended with ${this.#exitText()}; expected exit status 0 after ${signal}`);
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
 */
export async function startServer(options = {}, { port, readyTimeoutMs = 15000 } = {}) {
	const attempts = port ? 1 : 3;
	let lastErr;
	for (let i = 0; i < attempts; i++) {
		const s = new Server(options, port ?? (await freePort()));
		s.start();
		try {
			await s.waitReady(readyTimeoutMs);
			return s;
		} catch (err) {
			lastErr = err;
			if (s.alive) {
				s.child.kill('SIGKILL');
				await s.exited;
				break; // it runs but does not answer: another port will not help
			}
		}
	}
	throw lastErr;
}

/**
 * For a test file or a describe(): starts a server before its tests and
 * stops it after them, so that a bad stop (exit status, sanitizer report,
 * earlier death) fails the suite. Returns a handle; handle.server is set
 * once started. With skip truthy (e.g. SKIP_ON_REFERENCE, for suites whose
 * tests are all skipped on this target) no server is started.
 */
export function useServer(options = {}, { skip = false } = {}) {
	const handle = {
		server: null,
		get port() {
			return this.server.port;
		},
	};
	before(async () => {
		if (!skip) {
			handle.server = await startServer(options);
		}
	});
	after(async () => {
		if (handle.server) {
			await handle.server.stop();
		}
	});
	return handle;
}
