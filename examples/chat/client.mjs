// A chat client with socketcluster-client 20.
//
//   node examples/chat/client.mjs [options] USER PASSWORD [MESSAGE]
//
// Logs in, subscribes to a room and prints what arrives there. With a
// MESSAGE it publishes it, waits for it to come back, then tries a room its
// token does not list (--try, default room:secret) and shows the
// PublishError, and exits; without one it listens until Ctrl-C.
//
//   --room=CH        the room (default room:general)
//   --try=CH         the room to be refused (default room:secret)
//   --http           get the token from token-server.mjs and pass it with
//                    socket.authenticate(token), instead of invoke('login')
//   env PORT         the cluster's port (8000); TOKEN_PORT the token server's (8001)
import { parseArgs } from 'node:util';
import socketClusterClient from 'socketcluster-client';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    room: { type: 'string', default: 'room:general' },
    try: { type: 'string', default: 'room:secret' },
    http: { type: 'boolean', default: false },
  },
});
const [username, password, message] = positionals;
if (!username || password === undefined) {
  console.error('usage: client.mjs [--room=CH] [--try=CH] [--http] USER PASSWORD [MESSAGE]');
  process.exit(2);
}

async function httpToken() {
  const url = `http://127.0.0.1:${process.env.TOKEN_PORT || 8001}/login`;
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ username, password }) });
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error), { name: `HTTP ${res.status}` });
  return body.token;
}

async function logIn(socket) {
  if (opt.http) {
    // What a browser gets from localStorage at connection, passed by hand.
    const status = await socket.authenticate(await httpToken());
    if (!status.isAuthenticated) throw status.authError;
  } else {
    await socket.invoke('login', { username, password });
    // login.so answers, then sends the token (#setAuthToken): usually in the
    // same read as the answer, but not necessarily.
    if (socket.authState !== socket.AUTHENTICATED) await socket.listener('authenticate').once(5000);
  }
  const { channels } = socket.authToken;
  console.log(`logged in as ${socket.authToken.username} (${opt.http ? 'HTTP token' : 'login procedure'}); channels: ${channels.join(', ')}`);
}

// Prints every message of the room; resolves `echo` when ours comes back.
function listen(channel, echo) {
  (async () => {
    for await (const data of channel) {
      console.log(`[${channel.name}] ${data.from}: ${data.text}`);
      if (data.from === username && data.text === message) echo();
    }
  })();
}

async function tryForbidden(socket) {
  try {
    await socket.invokePublish(opt.try, { from: username, text: message });
    console.log(`publish to ${opt.try}: accepted (it is in the token's channels)`);
  } catch (err) {
    console.log(`publish to ${opt.try} refused: ${err.name}: ${err.message}`);
  }
}

async function main() {
  const socket = socketClusterClient.create({ hostname: 'localhost', port: Number(process.env.PORT || 8000) });
  await logIn(socket);
  const channel = socket.subscribe(opt.room);
  await Promise.race([
    channel.listener('subscribe').once(),
    channel.listener('subscribeFail').once().then(({ error }) => Promise.reject(error)),
  ]);
  console.log(`subscribed to ${opt.room}`);
  if (message === undefined) {
    listen(channel, () => {});
    return;
  }
  const echoed = new Promise((resolve) => listen(channel, resolve));
  await socket.invokePublish(opt.room, { from: username, text: message });
  await Promise.race([echoed, new Promise((_, reject) => setTimeout(() => reject(new Error('no echo in 5 s')), 5000))]);
  await tryForbidden(socket);
  socket.disconnect();
  process.exit(0);
}

main().catch((err) => {
  console.error(`error: ${err.name}: ${err.message}`);
  process.exit(1);
});
