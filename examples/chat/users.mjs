// The user store shared with login.c: one user a line,
//   username:iterations:salt_hex:hash_hex:channel1,channel2
// hash = PBKDF2-HMAC-SHA256(password, salt, iterations, 32 bytes).
import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const storePath = process.env.CHAT_USERS || fileURLToPath(new URL('users.txt', import.meta.url));

const SAFE = /^[A-Za-z0-9_.:@-]+$/; // what login.c accepts in names and channels
const ITERATIONS = 100000;

export function userLine(username, password, channels) {
  if (!SAFE.test(username) || !channels.every((c) => SAFE.test(c))) {
    throw new Error('names and channels may only use A-Z a-z 0-9 _ . : @ -');
  }
  const salt = randomBytes(16);
  const hash = pbkdf2Sync(password, salt, ITERATIONS, 32, 'sha256');
  return `${username}:${ITERATIONS}:${salt.toString('hex')}:${hash.toString('hex')}:${channels.join(',')}\n`;
}

export function addUser(path, username, password, channels) {
  appendFileSync(path, userLine(username, password, channels), { mode: 0o600 });
}

// Returns {username, channels} when the password is right, else null.
export function checkUser(path, username, password) {
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    // Channel names contain ':', so only the first four colons split.
    const parts = line.split(':');
    const [name, iter, salt, hash] = parts;
    if (line.startsWith('#') || name !== username || parts.length < 5) continue;
    const channels = parts.slice(4).join(':');
    const want = Buffer.from(hash, 'hex');
    const got = pbkdf2Sync(String(password), Buffer.from(salt, 'hex'), Number(iter), 32, 'sha256');
    if (want.length !== got.length || !timingSafeEqual(got, want)) return null;
    return { username, channels: channels ? channels.split(',') : [] };
  }
  return null;
}
