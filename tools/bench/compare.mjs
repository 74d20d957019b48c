#!/usr/bin/env node
// Runs one agbench scenario against agcluster and against the reference
// server (socketcluster-server 20) in the same run, on the same machine,
// with every server process pinned to the same core(s) and agbench to
// others, and prints the medians of several runs and the ratios.
//
//   node tools/bench/compare.mjs SCENARIO [options] [-- agbench options]
//
// SCENARIO: idle | fanout | channels | storm | cluster | latency |
//           channels-latency | cluster-latency
//   latency: for each target, a fan-out run with one message in flight
//   (--window=1) finds its peak publish rate, then a run at half that rate
//   measures the latency.
//   channels-latency: the same with the many-channels echo.
//   cluster-latency: the same through a broker, publishers on one worker
//   and subscribers on another (agcluster only).
//
// Options (default):
//   --runs=N            runs of each target; medians are printed (3)
//   --targets=A,B       among worker (one ag-worker), agcluster (agcluster
//                       --workers=W with one broker), cluster (ag-broker and
//                       two ag-workers on two ports), reference (Node, key as
//                       a KeyObject), reference-string (key as a string),
//                       baseline (one ag-worker from --baseline's build)
//                       (worker,reference; storm adds reference-string;
//                       cluster scenarios: cluster)
//   --workers=W         workers of the agcluster target (1)
//   --build=DIR         agcluster's build directory (build)
//   --baseline=DIR      another build, for --targets=baseline,worker: an
//                       A/B of two commits, alternating, with the ratio
//                       worker ÷ baseline (what a change is worth, within
//                       one run of this machine's drift)
//   --agbench=PATH      (DIR/tools/agbench)
//   --server-cpus=LIST  taskset list for every server process (0)
//   --client-cpus=LIST  taskset list for agbench (1)
//   --base-port=P       first port to use; each server start takes new ones
//                       (18400)
//   --jwt-key=SECRET    the HS256 key given to both servers (bench-secret)
//   --server-args=ARGS  more options for every agcluster process (worker,
//                       agcluster and cluster targets), split at spaces,
//                       e.g. "--ping-interval=30000 --ping-timeout=60000"
//   --out=FILE          where every agbench JSON line is appended
//                       (/tmp/agbench-SCENARIO-<time>.jsonl)
//   --wait-idle=S       before each run, wait up to S seconds for the rest
//                       of the machine to use under 10 % of a core (120);
//                       others_cpu_pct in the report says how busy it was
//                       during the measurement
//   --floor=0|1         in fanout, channels, storm and latency, also run
//                       agfloor (beside agbench) once per run, pinned as
//                       the servers and agbench are, and print the kernel's
//                       floor: the best figure any server could reach on
//                       this host, the best ratio to the reference that
//                       allows, and agcluster's share of it (1)
// Everything after `--` goes to agbench as it is, after the scenario's own
// defaults (so it overrides them).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

// Each scenario: agbench's arguments, the figures to print (higher or
// lower is better), and the figure whose ratio is the headline.
const SCENARIOS = {
	idle: {
		agbench: ['idle', '--connections=10000', '--warmup=3', '--duration=10'],
		jwt: true,
		figures: ['connections', 'connections_wanted', 'setup_s-', 'setup_handshakes_per_s',
			'rss_per_conn_b-', 'anon_per_conn_b-',
			'server_rss_kb-', 'cpu_us_per_conn_s-', 'slab_per_conn_b-', 'errors-'],
	},
	fanout: {
		agbench: ['fanout', '--connections=1000', '--warmup=2', '--duration=10'],
		floor: { field: 'fanout_floor_per_cpu_s', figure: 'deliveries_per_cpu_s' },
		figures: ['deliveries_per_s', 'deliveries_per_cpu_s', 'publishes_per_s', 'server_cpu_pct',
			'client_cpu_pct', 'deliveries_per_write', 'publishes_per_read', 'lat_p50_us-', 'lat_p99_us-', 'lat_p999_us-', 'lat_max_us-', 'lost-',
			'duplicated-', 'errors-'],
	},
	channels: {
		agbench: ['channels', '--connections=1000', '--warmup=2', '--duration=10'],
		floor: { field: 'echo_floor_per_cpu_s', figure: 'deliveries_per_cpu_s' },
		figures: ['deliveries_per_s', 'deliveries_per_cpu_s', 'server_cpu_pct', 'client_cpu_pct',
			'deliveries_per_write', 'publishes_per_read',
			'lat_p50_us-', 'lat_p99_us-', 'lat_p999_us-', 'lat_max_us-', 'lost-', 'duplicated-',
			'errors-'],
	},
	storm: {
		agbench: ['storm', '--connections=200', '--warmup=2', '--duration=10'],
		jwt: true,
		targets: 'worker,reference,reference-string',
		floor: { field: 'storm_floor_per_cpu_s', figure: 'handshakes_per_cpu_s' },
		figures: ['handshakes_per_s', 'handshakes_per_cpu_s', 'server_cpu_pct', 'client_cpu_pct',
			'hs_p50_ms-', 'hs_p99_ms-', 'auth_failed-', 'errors-'],
	},
	cluster: {
		agbench: ['cluster', '--connections=1000', '--warmup=2', '--duration=10'],
		cluster: true,
		figures: ['deliveries_per_s', 'deliveries_per_cpu_s', 'server_cpu_pct', 'client_cpu_pct',
			'lat_p50_us-', 'lat_p99_us-', 'lat_p999_us-', 'lat_max_us-', 'lost-', 'duplicated-',
			'errors-'],
	},
};
const LATENCY_FIGURES = ['peak_publishes_per_s', 'publishes_per_s', 'deliveries_per_s',
	'server_cpu_pct', 'lat_p50_us-', 'lat_p99_us-', 'lat_p999_us-', 'lat_max_us-', 'lost-', 'errors-'];
// The latency's floor: how long one publish's sends to every subscriber
// take, from the first to the last.
SCENARIOS.latency = { ...SCENARIOS.fanout, halfPeak: true, figures: LATENCY_FIGURES,
	floor: { field: 'fanout_spread_ms', figure: 'lat_p99_us', spread: true } };
SCENARIOS['channels-latency'] = { ...SCENARIOS.channels, halfPeak: true, figures: LATENCY_FIGURES,
	floor: undefined };
SCENARIOS['cluster-latency'] = { ...SCENARIOS.cluster, halfPeak: true, figures: LATENCY_FIGURES };
// Every scenario also shows how busy the rest of the machine was.
for (const sc of Object.values(SCENARIOS)) {
	sc.figures = [...sc.figures, 'others_cpu_pct-', 'steal_pct-'];
}

// Every server process started and not yet stopped: fail() ends them, so
// that none is left holding a port (or our stderr).
const running = new Set();

function fail(msg) {
	process.stderr.write(`compare: ${msg}\n`);
	for (const p of running) {
		p.kill('SIGKILL');
	}
	process.exit(2);
}

function parseArgs(argv) {
	const o = { runs: 3, build: 'build', 'server-cpus': '0', 'client-cpus': '1',
		'base-port': 18400, 'jwt-key': 'bench-secret', workers: 1, 'wait-idle': 120 };
	const dash = argv.indexOf('--');
	const own = dash < 0 ? argv : argv.slice(0, dash);
	o.extra = dash < 0 ? [] : argv.slice(dash + 1);
	o.scenario = own[0];
	if (!SCENARIOS[o.scenario]) {
		fail(`scenario: one of ${Object.keys(SCENARIOS).join(', ')}`);
	}
	for (const a of own.slice(1)) {
		const m = /^--([a-z-]+)=(.*)$/.exec(a);
		if (!m || !['runs', 'targets', 'workers', 'build', 'baseline', 'agbench', 'server-cpus',
			'client-cpus', 'base-port', 'jwt-key', 'out', 'wait-idle', 'server-args',
			'floor'].includes(m[1])) {
			fail(`bad option ${a}`);
		}
		o[m[1]] = m[2];
	}
	const sc = SCENARIOS[o.scenario];
	o.targets = (o.targets ?? sc.targets ?? (sc.cluster ? 'cluster' : 'worker,reference'))
		.split(',');
	o.build = path.resolve(root, o.build);
	if (o.targets.includes('baseline')) {
		if (!o.baseline) {
			fail('--targets=baseline needs --baseline=DIR');
		}
		o.baseline = path.resolve(root, o.baseline);
	}
	o.agbench = o.agbench ?? path.join(o.build, 'tools/agbench');
	o.agfloor = path.join(path.dirname(o.agbench), 'agfloor');
	if (!['0', '1'].includes(String(o.floor ?? '1'))) {
		fail('--floor: 0 or 1');
	}
	o.floor = String(o.floor ?? '1') === '1' && sc.floor !== undefined;
	o.runs = Number(o.runs);
	o.port = Number(o['base-port']);
	o.out = o.out ?? `/tmp/agbench-${o.scenario}-${Date.now()}.jsonl`;
	return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function healthy(port) {
	return new Promise((resolve) => {
		const req = http.get({ host: '127.0.0.1', port, path: '/health-check', timeout: 500 },
			(res) => { res.resume(); resolve(res.statusCode === 200); });
		req.on('error', () => resolve(false));
		req.on('timeout', () => { req.destroy(); resolve(false); });
	});
}

async function waitHealthy(ports, procs) {
	const deadline = Date.now() + 20000;
	while (Date.now() < deadline) {
		if (procs.some((p) => p.exitCode !== null)) {
			fail('a server exited while starting');
		}
		const ok = await Promise.all(ports.map(healthy));
		if (ok.every(Boolean)) {
			return;
		}
		await sleep(100);
	}
	fail(`servers on ${ports.join(', ')} not healthy after 20 s`);
}

function pinned(o, cmd, args) {
	const p = spawn('taskset', ['-c', o['server-cpus'], cmd, ...args],
		{ stdio: ['ignore', 'ignore', 'inherit'] });
	running.add(p);
	p.on('exit', () => running.delete(p));
	return p;
}

function childrenOf(pid) {
	try {
		return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)
			.filter(Boolean).map(Number);
	} catch {
		return [];
	}
}

// Starts a target; returns { procs, pids, ports, pubPorts }.
async function startTarget(o, target) {
	const key = o['jwt-key'];
	const port = o.port;
	const bin = (p) => path.join(o.build, p);
	const ag = ['--log-level=warn', `--auth-key=${key}`,
		...(o['server-args'] ?? '').split(/\s+/).filter(Boolean)];
	let procs, ports = [port], pubPorts = [];
	o.port += 10;
	if (target === 'worker' || target === 'baseline') {
		const dir = target === 'worker' ? o.build : o.baseline;
		procs = [pinned(o, path.join(dir, 'worker/ag-worker'), [...ag, `--port=${port}`])];
	} else if (target === 'agcluster') {
		procs = [pinned(o, bin('tools/agcluster'), [...ag, `--port=${port}`,
			`--workers=${o.workers}`, '--brokers=1', `--link-port=${port + 1}`])];
	} else if (target === 'cluster') {
		const common = [...ag, '--workers=2', `--broker-addresses=127.0.0.1:${port + 2}`];
		procs = [pinned(o, bin('broker/ag-broker'), [...common, '--broker-id=0'])];
		await sleep(100);
		procs.push(pinned(o, bin('worker/ag-worker'), [...common, '--worker-id=0', `--port=${port}`]));
		procs.push(pinned(o, bin('worker/ag-worker'), [...common, '--worker-id=1',
			`--port=${port + 1}`]));
		ports = [port];
		pubPorts = [port + 1];
	} else if (target === 'reference' || target === 'reference-string') {
		const args = [path.join(here, 'reference-server.mjs'), `--port=${port}`, `--auth-key=${key}`];
		if (target === 'reference') {
			args.push('--auth-key-object');
		}
		procs = [pinned(o, process.execPath, args)];
	} else {
		fail(`unknown target ${target}`);
	}
	await waitHealthy([...ports, ...pubPorts], procs);
	if (target === 'cluster') {
		await waitReady([...ports, ...pubPorts]);
	}
	// taskset execs the server in place, so its pid is the server's
	let pids = procs.map((p) => p.pid);
	if (target === 'agcluster') {
		await sleep(300);
		pids = [...pids, ...childrenOf(pids[0])];
	}
	return { procs, pids, ports, pubPorts };
}

async function waitReady(ports) {
	const deadline = Date.now() + 20000;
	const ready = (port) => new Promise((resolve) => {
		const req = http.get({ host: '127.0.0.1', port, path: '/ready', timeout: 500 },
			(res) => { res.resume(); resolve(res.statusCode === 200); });
		req.on('error', () => resolve(false));
	});
	while (Date.now() < deadline) {
		if ((await Promise.all(ports.map(ready))).every(Boolean)) {
			return;
		}
		await sleep(100);
	}
	fail('cluster workers not ready (broker links) after 20 s');
}

async function stopTarget(t) {
	for (const p of t.procs) {
		p.kill('SIGTERM');
	}
	await Promise.all(t.procs.map((p) => (p.exitCode !== null ? null
		: new Promise((r) => p.on('exit', r)))));
}

function agbench(o, t, args) {
	const full = [...args, `--port=${t.ports.join(',')}`, `--pid=${t.pids.join(',')}`];
	if (t.pubPorts.length) {
		full.push(`--pub-port=${t.pubPorts.join(',')}`);
	}
	full.push(...o.extra, '--quiet');
	const r = spawnSync('taskset', ['-c', o['client-cpus'], o.agbench, ...full],
		{ encoding: 'utf8', maxBuffer: 1 << 24 });
	if (r.status !== 0) {
		fail(`agbench ${full.join(' ')} failed (${r.status}): ${r.stderr}`);
	}
	const line = r.stdout.trim().split('\n').pop();
	return { json: JSON.parse(line), cmd: `agbench ${full.join(' ')}` };
}

// The value of agbench option name in the scenario's arguments and the
// user's (theirs win), or def.
function agbenchOption(o, sc, name, def) {
	let v = def;
	for (const a of [...sc.agbench, ...o.extra]) {
		if (a.startsWith(`--${name}=`)) {
			v = a.slice(name.length + 3);
		}
	}
	return v;
}

// One agfloor run with the scenario's subscribers (at most 5,000: agfloor
// opens both ends of each pair before it forks), window and message size
// (agbench's payload and about 50 bytes of envelope and frame, at least
// agfloor's 120); its JSON line.
function agfloor(o, sc) {
	const cpu = (list) => String(list).split(/[,-]/)[0];
	const pairs = Math.min(5000, Number(agbenchOption(o, sc, 'connections', 1000)));
	const size = Math.max(120, Number(agbenchOption(o, sc, 'size', 0)) + 50);
	// agfloor's batches are at most 64 KiB.
	const batch = sc.halfPeak ? 1 : Math.max(1, Math.min(Math.floor(65536 / size),
		Number(agbenchOption(o, sc, 'window', 16))));
	const args = [`--pairs=${pairs}`, `--batch=${batch}`, `--size=${size}`,
		`--server-cpu=${cpu(o['server-cpus'])}`, `--client-cpu=${cpu(o['client-cpus'])}`];
	const r = spawnSync(o.agfloor, args, { encoding: 'utf8', timeout: 300000 });
	if (r.status !== 0) {
		fail(`agfloor ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
	}
	return JSON.parse(r.stdout.trim());
}

function machineBusy() {
	const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1)
		.map(Number);
	return v[0] + v[1] + v[2] + v[5] + v[6];
}

// Waits until the machine (nothing of ours runs now) stays under a tenth of
// a core for a second, for at most --wait-idle seconds.
async function waitIdle(o) {
	const hz = 100;
	const deadline = Date.now() + Number(o['wait-idle']) * 1000;
	for (;;) {
		const b0 = machineBusy();
		await sleep(1000);
		const busy = (machineBusy() - b0) / hz;
		if (busy < 0.1) {
			return;
		}
		if (Date.now() > deadline) {
			process.stderr.write(`compare: the machine is still busy (${busy.toFixed(2)} cores); ` +
				'measuring anyway\n');
			return;
		}
	}
}

async function runOnce(o, sc, target) {
	await waitIdle(o);
	const t = await startTarget(o, target);
	const args = [...sc.agbench];
	if (sc.jwt) {
		args.push(`--jwt-key=${o['jwt-key']}`);
	}
	try {
		if (!sc.halfPeak) {
			return agbench(o, t, args);
		}
		// the peak with one message in flight per channel: each publish
		// then goes out on its own, as at any rate below the peak
		const peak = agbench(o, t, [...args, '--window=1']);
		const rate = Math.max(1, Math.round(peak.json.publishes_per_s / 2));
		const half = agbench(o, t, [...args, `--rate=${rate}`]);
		half.json.peak_publishes_per_s = peak.json.publishes_per_s;
		return half;
	} finally {
		await stopTarget(t);
	}
}

function median(xs) {
	const s = [...xs].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(v) {
	if (v === undefined || Number.isNaN(v)) {
		return '-';
	}
	if (Math.abs(v) >= 100 || Number.isInteger(v)) {
		return Math.round(v).toLocaleString('en-US');
	}
	return v.toPrecision(3);
}

function machine() {
	const cpu = os.cpus()[0]?.model ?? '?';
	let commit = '?';
	const g = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
	if (g.status === 0) {
		commit = g.stdout.trim();
	}
	return `${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ` +
		`${os.release()}, node ${process.version}; repository at ${commit}`;
}

// The kernel's floor beside the medians: ag and ref are the headline
// figure's medians (or undefined).
function reportFloor(sc, floors, ag, ref) {
	const f = median(floors.map((j) => j[sc.floor.field]));
	const all = floors.map((j) => fmt(j[sc.floor.field])).join(', ');
	console.log(`\nfloor (agfloor, the kernel alone, no server code; median of ${floors.length}: ${all})`);
	if (sc.floor.spread) {
		console.log(`  one publish's sends reach the last of ${floors[0].pairs} subscribers ` +
			`${f.toFixed(2)} ms after the first: no p99 much below that`);
		return;
	}
	console.log(`  ${sc.floor.figure} at most ${fmt(f)}` +
		(ref ? `, ${(f / ref).toFixed(1)}x the reference` : '') +
		(ag ? `; agcluster at ${Math.round((100 * ag) / f)} % of it` : ''));
}

function report(o, sc, results, floors) {
	const targets = o.targets;
	// the ratio: agcluster ÷ the reference, or a build ÷ the baseline
	const agName = targets.find((t) => !t.startsWith('reference') && t !== 'baseline');
	const refName = targets.find((t) => t.startsWith('reference'))
		?? targets.find((t) => t === 'baseline');
	const w = 24;
	const row = (cells) => cells.map((c, i) => String(c).padEnd(i ? 18 : w)).join('');
	console.log(`\n${o.scenario}: medians of ${o.runs} run(s); server on cpu ${o['server-cpus']}, ` +
		`agbench on cpu ${o['client-cpus']}`);
	console.log(machine());
	console.log(`servers from ${o.build}${o.baseline ? ` (baseline ${o.baseline})` : ''}, ` +
		`agbench ${o.agbench}`);
	console.log(row(['figure', ...targets, ...(agName && refName ? ['ratio'] : [])]));
	for (const f of sc.figures) {
		const lower = f.endsWith('-');
		const name = lower ? f.slice(0, -1) : f;
		const med = targets.map((t) => median(results[t].map((r) => r.json[name])));
		const cells = [name, ...med.map(fmt)];
		if (agName && refName) {
			const a = med[targets.indexOf(agName)];
			const b = med[targets.indexOf(refName)];
			const ratio = lower ? b / a : a / b;
			cells.push(Number.isFinite(ratio) && (a || b) ? `${ratio.toFixed(1)}x` : '-');
		}
		console.log(row(cells));
	}
	if (floors.length) {
		reportFloor(sc, floors, agName && median(results[agName].map((r) => r.json[sc.floor.figure])),
			refName && refName !== 'baseline'
				&& median(results[refName].map((r) => r.json[sc.floor.figure])));
	}
	console.log('\nper run:');
	for (const t of targets) {
		for (const r of results[t]) {
			const j = r.json;
			console.log(`  ${t}: ${sc.figures.map((f) => f.replace(/-$/, ''))
				.map((f) => `${f}=${fmt(j[f])}`).join(' ')}`);
		}
	}
	console.log(`\ncommands (last run):`);
	for (const t of targets) {
		console.log(`  ${t}: ${results[t].at(-1).cmd}`);
	}
	console.log(`JSON lines: ${o.out}`);
}

async function main() {
	const o = parseArgs(process.argv.slice(2));
	const sc = SCENARIOS[o.scenario];
	if (!fs.existsSync(o.agbench)) {
		fail(`no agbench at ${o.agbench} (build it, or give --build or --agbench)`);
	}
	const results = Object.fromEntries(o.targets.map((t) => [t, []]));
	const floors = [];
	if (o.floor && !fs.existsSync(o.agfloor)) {
		process.stderr.write(`compare: no agfloor at ${o.agfloor}: no floor printed\n`);
		o.floor = false;
	}
	for (let run = 0; run < o.runs; run++) {
		// alternate the order, so that a drift of the machine hits both
		const order = run % 2 ? [...o.targets].reverse() : o.targets;
		for (const target of order) {
			const r = await runOnce(o, sc, target);
			r.json.target = target;
			r.json.run = run;
			fs.appendFileSync(o.out, `${JSON.stringify(r.json)}\n`);
			results[target].push(r);
			process.stderr.write(`compare: run ${run + 1}/${o.runs} ${target} done\n`);
		}
		if (o.floor) {
			await waitIdle(o);
			const j = agfloor(o, sc);
			j.target = 'agfloor';
			j.run = run;
			fs.appendFileSync(o.out, `${JSON.stringify(j)}\n`);
			floors.push(j);
		}
	}
	report(o, sc, results, floors);
}

main().catch((e) => fail(e.stack));
