// agbench (tools/agbench*.c) against a real ag-worker: each scenario runs
// briefly and its JSON line must show traffic and no loss or error, and a
// publisher that reaches no subscriber must show every message as lost
// (so that "lost: 0" means something). The figures themselves are
// benchmarks (docs/benchmarks.md), never asserted here.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { REPO, SANITIZER_PATTERNS, SKIP_ON_REFERENCE, WORKER_BIN, freePortRange, useServer } from '../lib/harness.mjs';

const run = promisify(execFile);
const AGBENCH = process.env.AG_AGBENCH_BIN || path.join(REPO, 'build', 'tools', 'agbench');
const KEY = 'bench-key';
const opts = { skip: SKIP_ON_REFERENCE };

async function agbench(scenario, args) {
	assert.ok(fs.existsSync(AGBENCH), `agbench not found at ${AGBENCH}: build it or set AG_AGBENCH_BIN`);
	const { stdout, stderr } = await run(AGBENCH, [scenario, '--quiet', '--warmup=0', '--duration=1', '--drain=2', '--sources=2', ...args], { timeout: 30000 });
	// A sanitizer build of agbench reports on stderr (UBSan without exiting).
	for (const p of SANITIZER_PATTERNS) {
		assert.ok(!stderr.includes(p), `agbench: ${stderr}`);
	}
	return JSON.parse(stdout.trim().split('\n').pop());
}

function assertClean(r) {
	for (const k of ['lost', 'duplicated', 'misrouted', 'errors', 'err_handshake', 'err_subscribe', 'auth_failed']) {
		assert.equal(r[k], 0, `${k} in ${JSON.stringify(r)}`);
	}
}

describe('agbench', () => {
	const fx = useServer({ auth_key: KEY }, { skip: SKIP_ON_REFERENCE });
	const other = useServer({}, { skip: SKIP_ON_REFERENCE });

	test('fanout at a fixed rate: every subscriber gets every message', opts, async () => {
		const r = await agbench('fanout', [`--port=${fx.port}`, '--connections=20', '--rate=200', `--pid=${fx.server.pid}`]);
		assertClean(r);
		assert.ok(r.publishes > 100, JSON.stringify(r));
		// Messages in flight at the window's edges count on one side only.
		assert.ok(Math.abs(r.deliveries - r.publishes * 20) <= 20 * 20, JSON.stringify(r));
		assert.ok(r.pids_missing === 0 && r.server_rss_kb > 0, `server figures from /proc: ${JSON.stringify(r)}`);
		// The server's system calls (/proc/pid/io): at 200 publishes/s each
		// delivery is about one writev of its own.
		assert.ok(r.server_reads > 0 && r.server_writes >= r.deliveries / 8, JSON.stringify(r));
		assert.ok(r.deliveries_per_write > 0.5 && r.deliveries_per_write < 8, JSON.stringify(r));
	});

	test('channels, saturating: echoes on each client\'s own channel', opts, async () => {
		const r = await agbench('channels', [`--port=${fx.port}`, '--connections=20']);
		assertClean(r);
		assert.ok(r.deliveries > 1000, JSON.stringify(r));
		assert.ok(Math.abs(r.deliveries - r.publishes) <= 16 * 20, JSON.stringify(r));
	});

	test('channels with more frames in flight than the worker\'s small-buffer list', opts, async () => {
		// 200 clients x 16 in flight: a loop turn can queue more small
		// frames than rbuf's free list holds, and the worker then writes
		// what it queued before the turn ends (server_relieve). Nothing may
		// be lost, repeated or reordered by that.
		const r = await agbench('channels', [`--port=${fx.port}`, '--connections=200', '--window=16']);
		assertClean(r);
		assert.ok(r.deliveries > 1000, JSON.stringify(r));
		assert.ok(Math.abs(r.deliveries - r.publishes) <= 16 * 200, JSON.stringify(r));
	});

	test('storm with a JWT: handshakes authenticated, none refused', opts, async () => {
		const r = await agbench('storm', [`--port=${fx.port}`, '--connections=10', `--jwt-key=${KEY}`]);
		assertClean(r);
		assert.ok(r.handshakes > 100, JSON.stringify(r));
	});

	test('a wrong key shows as refused tokens', opts, async () => {
		const r = await agbench('storm', [`--port=${fx.port}`, '--connections=5', '--jwt-key=not-the-key']);
		assert.ok(r.auth_failed > 0, JSON.stringify(r));
	});

	test('publishers that reach no subscriber: every message counted lost', opts, async () => {
		// Two workers with no broker between them: nothing crosses.
		const r = await agbench('cluster', [`--port=${fx.port}`, `--pub-port=${other.port}`, '--connections=5', '--rate=100']);
		assert.ok(r.publishes > 50 && r.deliveries === 0, JSON.stringify(r));
		assert.equal(r.lost, r.publishes * 5);
	});
});

// agfloor (tools/agfloor.c) needs no server: it plays both ends itself.
describe('agfloor', () => {
	const AGFLOOR = path.join(path.dirname(AGBENCH), 'agfloor');
	const small = ['--pairs=20', '--rounds=5', '--storm=200', '--inflight=10', '--server-cpu=-1', '--client-cpu=-1'];

	test('measures every phase and derives the floors from its own figures', opts, async () => {
		assert.ok(fs.existsSync(AGFLOOR), `agfloor not found at ${AGFLOOR}`);
		const { stdout, stderr } = await run(AGFLOOR, small, { timeout: 30000 });
		for (const p of SANITIZER_PATTERNS) {
			assert.ok(!stderr.includes(p), `agfloor: ${stderr}`);
		}
		const r = JSON.parse(stdout.trim());
		const s = JSON.stringify(r);
		for (const k of ['send_us', 'batch_send_us', 'echo_event_us', 'storm_conn_us']) {
			assert.ok(Number.isFinite(r[k]) && r[k] > 0, `${k}: ${s}`);
		}
		assert.equal(r.pairs, 20);
		// Each echo read brings at least one message and at most the batch
		// the client sent before waiting.
		assert.ok(r.echo_messages_per_read >= 1 && r.echo_messages_per_read <= 16, s);
		// Within 1 %, or the last digit printed (3 decimals).
		const near = (a, b) => Math.abs(a - b) <= Math.max(0.001, b * 0.01);
		assert.ok(near(r.fanout_spread_ms, 20 * r.send_us / 1000), s);
		assert.ok(near(r.fanout_floor_per_cpu_s, 16e6 / r.batch_send_us), s);
		assert.ok(near(r.echo_floor_per_cpu_s, r.echo_messages_per_read * 1e6 / r.echo_event_us), s);
		assert.ok(near(r.storm_floor_per_cpu_s, 1e6 / r.storm_conn_us), s);
	});

	test('a bad option is refused with the usage', opts, async () => {
		for (const bad of ['--pairs=0', '--size=x', '--pairs=20000', '--nope=1', 'extra', '--server-cpu=',
			'--server-cpu=-2', '--inflight=20000', '--size=10000', '--rounds=1.5']) {
			await assert.rejects(run(AGFLOOR, [bad], { timeout: 10000 }), (e) => e.code === 2 && /Usage: agfloor/.test(e.stderr), bad);
		}
	});
});

// compare.mjs (tools/bench/compare.mjs), briefly, against one worker: the
// table of medians and the kernel's floor beside it.
describe('compare.mjs', () => {
	const COMPARE = path.join(REPO, 'tools', 'bench', 'compare.mjs');
	const build = path.dirname(path.dirname(path.resolve(WORKER_BIN)));

	const OUT = `/tmp/agbench-compare-test-${process.pid}.jsonl`;
	after(() => fs.rmSync(OUT, { force: true }));

	// Runs compare.mjs (--out: OUT, emptied first); its output.
	async function compare(args) {
		const port = await freePortRange(20);
		fs.rmSync(OUT, { force: true });
		const { stdout, stderr } = await run(process.execPath, [COMPARE, ...args, '--runs=1', '--targets=worker',
			`--build=${build}`, `--agbench=${path.resolve(AGBENCH)}`, `--base-port=${port}`, '--wait-idle=1',
			`--out=${OUT}`,
			'--', '--duration=1', '--warmup=0', '--connections=20', '--sources=2'], { timeout: 60000 });
		for (const p of SANITIZER_PATTERNS) {
			assert.ok(!stderr.includes(p), `compare.mjs: ${stderr}`);
		}
		return stdout;
	}

	/** The JSON lines the last compare() appended to --out. */
	function outLines() {
		return fs.readFileSync(OUT, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
	}

	test('fanout: the medians, then the floor and agcluster\'s share of it', opts, async () => {
		const out = await compare(['fanout']);
		const floor = /deliveries_per_cpu_s at most ([\d,]+); agcluster at (\d+) % of it/.exec(out);
		assert.ok(floor, out);
		const med = /^deliveries_per_cpu_s\s+([\d,]+)/m.exec(out);
		assert.ok(med, out);
		const n = (s) => Number(s.replaceAll(',', ''));
		assert.equal(Number(floor[2]), Math.round((100 * n(med[1])) / n(floor[1])), out);
		// --out holds the worker's run and the floor's, marked as such.
		const lines = outLines();
		assert.deepEqual(lines.map((l) => l.target).sort(), ['agfloor', 'worker'], JSON.stringify(lines));
		const fl = lines.find((l) => l.target === 'agfloor');
		assert.equal(fl.tool, 'agfloor');
		assert.equal(fl.pairs, 20);
		assert.equal(Math.round(fl.fanout_floor_per_cpu_s), n(floor[1]));
	});

	test('latency: the floor is the spread of one publish\'s sends', opts, async () => {
		const out = await compare(['latency']);
		assert.match(out, /reach the last of 20 subscribers [\d.]+ ms after the first/);
	});

	test('--floor=0 prints no floor; a bad --floor is refused', opts, async () => {
		const out = await compare(['channels', '--floor=0']);
		assert.match(out, /^deliveries_per_cpu_s/m);
		assert.doesNotMatch(out, /agfloor/);
		await assert.rejects(compare(['channels', '--floor=2']), (e) => e.code === 2 && /--floor: 0 or 1/.test(e.stderr));
	});
});
