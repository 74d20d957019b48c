// The HTTP flow of the SocketCluster authentication guide: a backend of your
// own checks the password and signs the token; agcluster only verifies it.
//
//   node examples/chat/token-server.mjs        (TOKEN_PORT, default 8001)
//   curl -d '{"username":"alice","password":"alice-pw"}' localhost:8001/login
//   -> {"token":"eyJ..."}
//
// A browser page would then store the token where socketcluster-client 20
// looks for it when it connects (the key names the cluster's host and port):
//
//   localStorage.setItem('socketcluster.authToken.localhost:8000', token);
//   const socket = socketClusterClient.create({ hostname: 'localhost', port: 8000 });
//   // the #handshake carries the token: socket.authState === 'authenticated'
//
// Node has no localStorage: a script passes it with socket.authenticate(token)
// (client.mjs --http does this).
import { createServer } from 'node:http';
import jwt from 'jsonwebtoken';
import { authKey } from './authkey.mjs';
import { checkUser, storePath } from './users.mjs';

const key = authKey();
const port = Number(process.env.TOKEN_PORT || 8001);
const EXPIRY = 86400; // agcluster's auth_default_expiry, as login.so's tokens

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function login(body) {
  let req;
  try {
    req = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof req?.username !== 'string' || typeof req?.password !== 'string') return null;
  return checkUser(storePath, req.username, req.password);
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/login') return reply(res, 404, { error: 'POST /login' });
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    body += chunk;
    if (body.length > 4096) req.destroy();
  });
  req.on('end', () => {
    const user = login(body);
    if (!user) return reply(res, 401, { error: 'Invalid user credentials' });
    reply(res, 200, { token: jwt.sign(user, key, { expiresIn: EXPIRY }) });
  });
});

server.listen(port, '127.0.0.1', () => console.log(`token server: POST http://127.0.0.1:${port}/login`));
process.on('SIGTERM', () => server.close());
