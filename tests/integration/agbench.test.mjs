// agbench (tools/agbench*.c) against a real ag-worker: each scenario runs
// briefly and its JSON line must show traffic and no loss or error, and a
// publisher that reaches no subscriber must show every message as lost
// (so that "lost: 0" means something). The figures themselves are
// benchmarks (docs/benchmarks.md), never asserted here.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';

import { REPO, SANITIZER_PATTERNS, SKIP_ON_REFERENCE, useServer } from '../lib/harness.mjs';

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
