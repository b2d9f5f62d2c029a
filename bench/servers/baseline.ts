// The same-run baseline: Fastify + better-sqlite3 (WAL) doing just the two inserts of a send
// (challenge + outbox message) in one transaction. No auth, no validation, no dispatch.
import Fastify from 'fastify';
import Database from '../../src/store/sqlite-driver.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';

const db = new Database(join(mkdtempSync(join(tmpdir(), 'otpgate-bench-base-')), 'b.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`create table challenges (id text primary key, phone text not null, code_hash text not null, created_at integer not null);
         create table messages (id text primary key, challenge_id text not null, body text not null, status text not null, created_at integer not null)`);
const insC = db.prepare('insert into challenges values (?, ?, ?, ?)');
const insM = db.prepare('insert into messages values (?, ?, ?, ?, ?)');
const tx = db.transaction((phone: string) => {
  const id = randomBytes(12).toString('hex');
  const now = Date.now();
  insC.run(id, phone, randomBytes(32).toString('base64url'), now);
  insM.run(`m${id}`, id, `${randomInt(1e6)} is your code`, 'queued', now);
  return id;
});
const app = Fastify();
app.post('/v1/otp/send', async (req, reply) => {
  const id = tx((req.body as { phone_number: string }).phone_number);
  return reply.code(202).send({ challenge_id: id });
});
await app.listen({ host: '127.0.0.1', port: 0 });
const a = app.server.address();
process.stdout.write(`listening http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}\n`);
