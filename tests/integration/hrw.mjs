// Which broker owns a channel: the cluster's rendezvous hashing
// (common/hrw.h, docs/envelopes.md), recomputed here so that tests can pick
// channels of a given broker and predict which publishes a dead broker
// refuses. Every worker computes the same answer from the same broker list.
//
//   node id = SipHash-2-4(key "agcluster-nid-v1", "host:port")
//   weight  = SipHash-2-4(key "agcluster-hrw-v1", node id as 8 bytes LE || channel)
//   owner   = the highest weight; equal weights go to the larger node id

const MASK = (1n << 64n) - 1n;

function rotl(x, b) {
	return ((x << BigInt(b)) | (x >> BigInt(64 - b))) & MASK;
}

function le64(buf, off) {
	let x = 0n;
	for (let i = 7; i >= 0; i--) {
		x = (x << 8n) | BigInt(buf[off + i]);
	}
	return x;
}

/** SipHash-2-4 of bytes (Buffer) under a 16-byte key; a BigInt. */
export function siphash24(key, bytes) {
	const k0 = le64(key, 0);
	const k1 = le64(key, 8);
	let v0 = k0 ^ 0x736f6d6570736575n;
	let v1 = k1 ^ 0x646f72616e646f6dn;
	let v2 = k0 ^ 0x6c7967656e657261n;
	let v3 = k1 ^ 0x7465646279746573n;
	const round = () => {
		v0 = (v0 + v1) & MASK;
		v1 = rotl(v1, 13);
		v1 ^= v0;
		v0 = rotl(v0, 32);
		v2 = (v2 + v3) & MASK;
		v3 = rotl(v3, 16);
		v3 ^= v2;
		v0 = (v0 + v3) & MASK;
		v3 = rotl(v3, 21);
		v3 ^= v0;
		v2 = (v2 + v1) & MASK;
		v1 = rotl(v1, 17);
		v1 ^= v2;
		v2 = rotl(v2, 32);
	};
	const compress = (m) => {
		v3 ^= m;
		round();
		round();
		v0 ^= m;
	};
	const n = bytes.length;
	const whole = n - (n % 8);
	for (let i = 0; i < whole; i += 8) {
		compress(le64(bytes, i));
	}
	let last = BigInt(n & 0xff) << 56n;
	for (let i = 0; i < n - whole; i++) {
		last |= BigInt(bytes[whole + i]) << BigInt(8 * i);
	}
	compress(last);
	v2 ^= 0xffn;
	for (let i = 0; i < 4; i++) {
		round();
	}
	return (v0 ^ v1 ^ v2 ^ v3) & MASK;
}

const NID_KEY = Buffer.from('agcluster-nid-v1', 'ascii');
const HRW_KEY = Buffer.from('agcluster-hrw-v1', 'ascii');

export function nodeId(name) {
	return siphash24(NID_KEY, Buffer.from(name, 'utf8'));
}

export function weight(id, channel) {
	const chan = Buffer.from(channel, 'utf8');
	const buf = Buffer.alloc(8 + chan.length);
	buf.writeBigUInt64LE(id, 0);
	chan.copy(buf, 8);
	return siphash24(HRW_KEY, buf);
}

/** The index in addresses (["host:port", ...], as in broker_addresses) of the owner of channel. */
export function ownerOf(addresses, channel) {
	let best = 0;
	let bestW = 0n;
	let bestId = 0n;
	addresses.forEach((addr, i) => {
		const id = nodeId(addr);
		const w = weight(id, channel);
		if (i === 0 || w > bestW || (w === bestW && id > bestId)) {
			best = i;
			bestW = w;
			bestId = id;
		}
	});
	return best;
}

/**
 * `count` channel names (prefix-0, prefix-1, ...) owned by broker `index`
 * of addresses.
 */
export function channelsOwnedBy(addresses, index, count, prefix) {
	const out = [];
	for (let i = 0; out.length < count; i++) {
		const ch = `${prefix}-${i}`;
		if (ownerOf(addresses, ch) === index) {
			out.push(ch);
		}
		if (i > 100000) {
			throw new Error(`no ${count} channels of broker ${index} among 100000 names`);
		}
	}
	return out;
}
