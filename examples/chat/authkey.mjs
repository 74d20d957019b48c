// The cluster's auth_key, as run.sh passes it to agcluster: env CHAT_AUTH_KEY,
// else the key run.sh generated in examples/chat/.auth_key.
import { readFileSync } from 'node:fs';

export function authKey() {
  if (process.env.CHAT_AUTH_KEY) return process.env.CHAT_AUTH_KEY;
  return readFileSync(new URL('.auth_key', import.meta.url), 'utf8').trim();
}
