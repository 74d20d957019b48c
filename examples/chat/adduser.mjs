// Appends a user to the store (env CHAT_USERS, default examples/chat/users.txt):
//   node examples/chat/adduser.mjs alice secret room:general,room:random
// Restart the cluster afterwards: login.so reads the store once, at startup.
import { addUser, storePath } from './users.mjs';

const [username, password, channels] = process.argv.slice(2);
if (!username || !password || channels === undefined) {
  console.error('usage: adduser.mjs USERNAME PASSWORD CHANNEL[,CHANNEL...]');
  process.exit(2);
}
addUser(storePath, username, password, channels ? channels.split(',') : []);
console.log(`added ${username} to ${storePath}`);
