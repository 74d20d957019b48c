// Auth tokens against the real npm jsonwebtoken 9.0.3, the package the
// reference server signs and verifies with (docs/auth.md, spec §8):
//   * for every algorithm, a token from jsonwebtoken verifies with
//     `agctl token verify`, and a token from `agctl token sign` verifies
//     with jsonwebtoken, carrying iat and exp = iat + auth_default_expiry
//     (or --expires-in);
//   * deterministic algorithms give byte-identical tokens;
//   * refused tokens get the error the reference server would send: its
//     mapping of jsonwebtoken's errors (serversocket.js _processTokenError)
//     is recomputed here and compared with agctl's `name: message`.
// EdDSA is an agcluster extension that jsonwebtoken 9 lacks: it is checked
// against node:crypto directly.
//
// The agctl binary: AG_AGCTL_BIN or <repo>/build/tools/agctl. It needs no
// server, so with AG_TARGET=reference (no C build) the file is skipped.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { IS_REFERENCE, REPO, SANITIZER_PATTERNS } from '../lib/harness.mjs';

const require = createRequire(path.join(REPO, 'tests', 'compat', 'package.json'));
const jwt = require('jsonwebtoken');

const AGCTL = process.env.AG_AGCTL_BIN || path.join(REPO, 'build', 'tools', 'agctl');
const SKIP = IS_REFERENCE ? 'agctl is agcluster\'s; the reference target has no C build' : false;

const ALGORITHMS = [
	'HS256', 'HS384', 'HS512',
	'RS256', 'RS384', 'RS512',
	'PS256', 'PS384', 'PS512',
	'ES256', 'ES384', 'ES512',
	'EdDSA',
];
// Deterministic signatures: the same claims give the same token.
const DETERMINISTIC = new Set(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'EdDSA']);
const CURVES = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

const b64u = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The environment of agctl: ours without AG_* (a stray AG_AUTH_KEY or AG_CONFIG would change the keys). */
function agctlEnv(extra = {}) {
	const env = {};
	for (const [k, v] of Object.entries(process.env)) {
		if (!k.startsWith('AG_')) {
			env[k] = v;
		}
	}
	env.ASAN_OPTIONS = env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=0';
	return { ...env, ...extra };
}

/** Runs agctl; fails the test if it printed a sanitizer report. */
function agctl(args, { env = {}, input } = {}) {
	const r = spawnSync(AGCTL, args, { env: agctlEnv(env), input, encoding: 'utf8', timeout: 30000 });
	if (r.error) {
		throw r.error;
	}
	for (const pattern of SANITIZER_PATTERNS) {
		assert.ok(!r.stderr.includes(pattern), `agctl printed a sanitizer report:\n${r.stderr}`);
	}
	return r;
}

/** Parses agctl's refusal: "name: message", then maybe "expiry: ISO" or "date: ISO". */
function refusal(r) {
	assert.equal(r.status, 1, `expected a refusal, got status ${r.status}: ${r.stdout}${r.stderr}`);
	assert.equal(r.stdout, '');
	const [first, second] = r.stderr.trimEnd().split('\n');
	const colon = first.indexOf(': ');
	const out = { name: first.slice(0, colon), message: first.slice(colon + 2) };
	if (second !== undefined) {
		const [field, value] = second.split(': ');
		out[field] = value === 'null' ? null : value;
	}
	return out;
}

/** What the reference server sends for a token: jsonwebtoken's verify, then serversocket.js's mapping. */
function referenceError(token, key, options = {}) {
	try {
		jwt.verify(token || '', key, options);
		return null;
	} catch (err) {
		const iso = (d) => JSON.parse(JSON.stringify(d));
		if (err.name === 'TokenExpiredError') {
			return { name: 'AuthTokenExpiredError', message: err.message, expiry: iso(err.expiredAt) };
		}
		if (err.name === 'JsonWebTokenError') {
			return { name: 'AuthTokenInvalidError', message: err.message };
		}
		if (err.name === 'NotBeforeError') {
			return { name: 'AuthTokenNotBeforeError', message: err.message, date: iso(err.date) };
		}
		return { name: 'AuthTokenError', message: err.message };
	}
}

/** jsonwebtoken has no EdDSA: sign and verify with node:crypto. */
function edSign(payload, privateKey) {
	const input = `${b64u({ alg: 'EdDSA', typ: 'JWT' })}.${b64u(payload)}`;
	return `${input}.${crypto.sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

function edVerify(token, publicKey) {
	const [h, p, s] = token.split('.');
	assert.ok(crypto.verify(null, Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url')), 'EdDSA signature');
	return JSON.parse(Buffer.from(p, 'base64url').toString());
}

/** Changes one character in the middle of the signature (not the last, whose low bits may be unused). */
function tamper(token) {
	const dot = token.lastIndexOf('.');
	const i = dot + Math.floor((token.length - dot) / 2);
	return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}

describe('jsonwebtoken 9 interop (agctl token)', { skip: SKIP }, () => {
	let dir;
	const keys = {};

	before(() => {
		assert.ok(fs.existsSync(AGCTL), `agctl not found at ${AGCTL}: build it (meson) or set AG_AGCTL_BIN`);
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jwt-interop-'));
		const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
		const ec = {};
		for (const [alg, namedCurve] of Object.entries(CURVES)) {
			ec[alg] = crypto.generateKeyPairSync('ec', { namedCurve });
		}
		const ed = crypto.generateKeyPairSync('ed25519');
		for (const alg of ALGORITHMS) {
			if (alg.startsWith('HS')) {
				const secret = crypto.randomBytes(32).toString('hex');
				keys[alg] = { sign: secret, verify: secret, flags: [`--auth-key=${secret}`] };
				continue;
			}
			const pair = alg.startsWith('ES') ? ec[alg] : alg === 'EdDSA' ? ed : rsa;
			const priv = path.join(dir, `${alg}.key`);
			const pub = path.join(dir, `${alg}.pub`);
			fs.writeFileSync(priv, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
			fs.writeFileSync(pub, pair.publicKey.export({ type: 'spki', format: 'pem' }));
			keys[alg] = {
				sign: pair.privateKey,
				verify: pair.publicKey,
				pem: pair.publicKey.export({ type: 'spki', format: 'pem' }),
				flags: [`--auth-private-key=${priv}`, `--auth-public-key=${pub}`],
			};
		}
	});

	after(() => {
		if (dir) {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	const flags = (alg) => [...keys[alg].flags, `--auth-algorithm=${alg}`];
	const sign = (alg, payload, options = {}) => (alg === 'EdDSA'
		? edSign(payload, keys[alg].sign)
		: jwt.sign(payload, keys[alg].sign, { algorithm: alg, ...options }));
	const verify = (alg, token) => (alg === 'EdDSA'
		? edVerify(token, keys[alg].verify)
		: jwt.verify(token, keys[alg].verify, { algorithms: [alg] }));

	for (const alg of ALGORITHMS) {
		test(`${alg}: a token from ${alg === 'EdDSA' ? 'node:crypto' : 'jsonwebtoken'} verifies with agctl`, () => {
			const claims = { username: 'alice', channels: ['allowed', 'private/alice'], n: { x: [1, 2.5, null, true] } };
			const token = sign(alg, { ...claims, iat: nowSeconds(), exp: nowSeconds() + 600 });
			const r = agctl(['token', 'verify', token, ...flags(alg)]);
			assert.equal(r.status, 0, r.stderr);
			assert.deepEqual(JSON.parse(r.stdout), JSON.parse(Buffer.from(token.split('.')[1], 'base64url')));
			assert.deepEqual(JSON.parse(r.stdout).n, claims.n);
		});

		test(`${alg}: a token from agctl verifies with ${alg === 'EdDSA' ? 'node:crypto' : 'jsonwebtoken'}, exp = iat + auth_default_expiry`, () => {
			const before = nowSeconds();
			const r = agctl(['token', 'sign', '{"username":"bob","channels":["a"]}', ...flags(alg)]);
			const afterwards = nowSeconds();
			assert.equal(r.status, 0, r.stderr);
			const token = r.stdout.trim();
			assert.deepEqual(JSON.parse(Buffer.from(token.split('.')[0], 'base64url')), { alg, typ: 'JWT' });
			const payload = verify(alg, token);
			assert.equal(payload.username, 'bob');
			assert.deepEqual(payload.channels, ['a']);
			assert.ok(payload.iat >= before && payload.iat <= afterwards, `iat ${payload.iat}`);
			assert.equal(payload.exp, payload.iat + 86400);
		});

		test(`${alg}: --expires-in and AG_AUTH_DEFAULT_EXPIRY set exp`, () => {
			let r = agctl(['token', 'sign', '{"u":1}', '--expires-in=120', ...flags(alg)]);
			assert.equal(r.status, 0, r.stderr);
			let payload = verify(alg, r.stdout.trim());
			assert.equal(payload.exp, payload.iat + 120);
			r = agctl(['token', 'sign', '{"u":1}', ...flags(alg)], { env: { AG_AUTH_DEFAULT_EXPIRY: '300' } });
			assert.equal(r.status, 0, r.stderr);
			payload = verify(alg, r.stdout.trim());
			assert.equal(payload.exp, payload.iat + 300);
		});

		test(`${alg}: a tampered signature is refused by both with "invalid signature"`, () => {
			const token = tamper(sign(alg, { username: 'mallory', exp: nowSeconds() + 600 }));
			assert.deepEqual(refusal(agctl(['token', 'verify', token, ...flags(alg)])),
				{ name: 'AuthTokenInvalidError', message: 'invalid signature' });
			if (alg !== 'EdDSA') {
				assert.deepEqual(referenceError(token, keys[alg].verify, { algorithms: [alg] }),
					{ name: 'AuthTokenInvalidError', message: 'invalid signature' });
			}
		});

		if (DETERMINISTIC.has(alg)) {
			test(`${alg}: the same claims give the same token as ${alg === 'EdDSA' ? 'node:crypto' : 'jsonwebtoken'}`, () => {
				const iat = nowSeconds() - 5;
				const r = agctl(['token', 'sign', `{"username":"alice","iat":${iat}}`, '--expires-in=3600', ...flags(alg)]);
				assert.equal(r.status, 0, r.stderr);
				const theirs = alg === 'EdDSA'
					? edSign({ username: 'alice', iat, exp: iat + 3600 }, keys[alg].sign)
					: jwt.sign({ username: 'alice', iat }, keys[alg].sign, { algorithm: alg, expiresIn: 3600 });
				assert.equal(r.stdout.trim(), theirs);
			});
		}
	}

	test('expired: a jsonwebtoken token past its exp is "jwt expired" with its expiry', () => {
		const exp = nowSeconds() - 10;
		const token = jwt.sign({ username: 'alice', exp }, keys.HS256.sign);
		const want = referenceError(token, keys.HS256.verify);
		assert.deepEqual(want, { name: 'AuthTokenExpiredError', message: 'jwt expired', expiry: new Date(exp * 1000).toISOString() });
		assert.deepEqual(refusal(agctl(['token', 'verify', token, ...keys.HS256.flags])), want);
	});

	test('expired: an agctl token with a negative --expires-in is refused by jsonwebtoken', () => {
		const r = agctl(['token', 'sign', '{"u":1}', '--expires-in=-10', ...flags('ES256')]);
		assert.equal(r.status, 0, r.stderr);
		const token = r.stdout.trim();
		assert.throws(() => verify('ES256', token), { name: 'TokenExpiredError', message: 'jwt expired' });
		assert.equal(refusal(agctl(['token', 'verify', token, ...flags('ES256')])).message, 'jwt expired');
	});

	test('HS512 is accepted by default for a secret, refused with auth_algorithm=HS256 (T05, T34)', () => {
		const token = jwt.sign({ username: 'alice' }, keys.HS256.sign, { algorithm: 'HS512', expiresIn: 600 });
		const r = agctl(['token', 'verify', token, ...keys.HS256.flags]);
		assert.equal(r.status, 0, r.stderr);
		assert.equal(JSON.parse(r.stdout).username, 'alice');
		const want = referenceError(token, keys.HS256.verify, { algorithms: ['HS256'] });
		assert.deepEqual(want, { name: 'AuthTokenInvalidError', message: 'invalid algorithm' });
		assert.deepEqual(refusal(agctl(['token', 'verify', token, ...keys.HS256.flags, '--auth-algorithm=HS256'])), want);
	});

	test('the token can come from stdin', () => {
		const token = jwt.sign({ username: 'stdin' }, keys.HS384.sign, { algorithm: 'HS384', expiresIn: 60 });
		const r = agctl(['token', 'verify', '-', ...keys.HS384.flags], { input: `${token}\n` });
		assert.equal(r.status, 0, r.stderr);
		assert.equal(JSON.parse(r.stdout).username, 'stdin');
	});

	// Hostile and odd tokens: agctl must give what the reference would send.
	describe('refused tokens get the reference\'s error', () => {
		const secret = 'secret';
		const hs = (header, payload, key = secret) => {
			const input = `${b64u(header)}.${b64u(payload)}`;
			return `${input}.${crypto.createHmac('sha256', key).update(input).digest('base64url')}`;
		};
		// The reference without authAlgorithm: jsonwebtoken picks the
		// algorithms from its key. agctl needs auth_algorithm with a key
		// pair, so auth_verify_algorithms restores the same list.
		const verifiers = {
			secret: { key: () => secret, flags: () => ['--auth-key=secret'] },
			rsa: {
				key: () => keys.RS256.pem,
				flags: () => [...flags('RS256'), '--auth-verify-algorithms=RS256,RS384,RS512,PS256,PS384,PS512'],
			},
			p256: { key: () => keys.ES256.pem, flags: () => flags('ES256') },
		};
		// Flips the lowest bit of the last character's value: for a 43-character
		// HMAC-SHA256 that bit is unused, so only the text changes.
		const lowBit = (token) => {
			const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
			return token.slice(0, -1) + abc[abc.indexOf(token.at(-1)) ^ 1];
		};
		const cases = () => {
			const now = nowSeconds();
			const valid = jwt.sign({ u: 1 }, secret);
			return [
				['an empty token', '', 'secret'],
				['not a JWT (T05)', 'garbage-token', 'secret'],
				['four parts', `${valid}.x`, 'secret'],
				['alg none without signature (T05)', `${b64u({ alg: 'none', typ: 'JWT' })}.${b64u({ u: 1 })}.`, 'secret'],
				['alg none with a signature', hs({ alg: 'none' }, { u: 1 }), 'secret'],
				['no alg', hs({ typ: 'JWT' }, { u: 1 }), 'secret'],
				['a padded signature', `${valid}=`, 'secret'],
				['a header that is not JSON', hs('{"alg":"HS256"', { u: 1 }), 'secret'],
				['a falsy header', hs('0', { u: 1 }), 'secret'],
				['an array header', hs('[]', { u: 1 }), 'secret'],
				['duplicate alg keys, the last wins', hs('{"alg":"none","alg":"HS\\u0032\\u00356"}', { u: 1, exp: now + 60 }), 'secret'],
				['exp as a string', hs({ alg: 'HS256' }, { exp: String(now + 60) }), 'secret'],
				['exp null', hs({ alg: 'HS256' }, '{"exp":null}'), 'secret'],
				['nbf in the future', hs({ alg: 'HS256', typ: 'JWT' }, { nbf: now + 600 }), 'secret'],
				['exp with milliseconds', hs({ alg: 'HS256' }, { exp: now - 100.5 }), 'secret'],
				['exp -1e400 (expiry null)', hs({ alg: 'HS256' }, '{"exp":-1e400}'), 'secret'],
				['exp 1e400 (never)', hs({ alg: 'HS256' }, '{"exp":1e400,"u":1}'), 'secret'],
				['an escaped exp', hs({ alg: 'HS256' }, '{"\\u0065xp":5}'), 'secret'],
				['unused low bits changed in an HMAC', lowBit(valid), 'secret'],
				['signed with another key (T04)', hs({ alg: 'HS256' }, { u: 1 }, 'other'), 'secret'],
				['HS256 with the RSA public key as its secret (algorithm confusion)',
					jwt.sign({ admin: true }, keys.RS256.pem, { algorithm: 'HS256' }), 'rsa'],
				['a short ES256 signature', jwt.sign({ u: 1 }, keys.ES256.sign, { algorithm: 'ES256' }).slice(0, -2), 'p256'],
			];
		};

		test('each case', () => {
			for (const [what, token, by] of cases()) {
				const want = referenceError(token, verifiers[by].key());
				const r = agctl(['token', 'verify', token, ...verifiers[by].flags()]);
				if (want === null) {
					assert.equal(r.status, 0, `${what}: ${r.stderr}`);
				} else {
					assert.deepEqual(refusal(r), want, what);
				}
			}
		});

		test('documented differences: a payload that is not a JSON object', () => {
			// typ JWT and a payload that is not JSON: the reference throws V8's
			// SyntaxError (an AuthTokenError with its message); agctl says "invalid token".
			const bad = hs({ alg: 'HS256', typ: 'JWT' }, '{"u":');
			assert.equal(referenceError(bad, secret).name, 'AuthTokenError');
			assert.deepEqual(refusal(agctl(['token', 'verify', bad, '--auth-key=secret'])),
				{ name: 'AuthTokenError', message: 'invalid token' });
			// A signed array: the reference accepts it; a server cannot use it.
			const array = hs({ alg: 'HS256' }, [1, 2]);
			assert.equal(referenceError(array, secret), null);
			assert.deepEqual(refusal(agctl(['token', 'verify', array, '--auth-key=secret'])),
				{ name: 'AuthTokenInvalidError', message: 'invalid token' });
		});
	});
});
