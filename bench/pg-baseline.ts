// The same-run baseline of bench/pg-send.ts: Fastify + `pg` (pool of 10, like otpgate's
// default) doing just what a send and a verify must do in PostgreSQL, nothing else:
//   POST /v1/otp/send    the two inserts (challenge + outbox message) in one transaction
//   POST /v1/otp/verify  read the challenge, mark it verified if still pending
// No auth, no validation, no policy checks, no sealing, no dispatch.
// Usage: node --import tsx bench/pg-baseline.ts <database-url>   (prints "listening <url>")
import { createHash, randomBytes, randomInt } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';

const url = process.argv[2];
if (!url) throw new Error('usage: pg-baseline.ts <database-url>');
const pool = new pg.Pool({ connectionString: url, max: Number(process.env.OTPGATE_PG_POOL_SIZE ?? 10) });
await pool.query(`create table if not exists challenges (id text primary key, phone text not null, code_hash text not null, status text not null, created_at bigint not null);
                  create table if not exists messages (id text primary key, challenge_id text not null, body text not null, status text not null, created_at bigint not null)`);

const app = Fastify();
app.post('/v1/otp/send', async (req, reply) => {
  const phone = (req.body as { phone_number: string }).phone_number;
  const id = randomBytes(12).toString('hex');
  const code = String(randomInt(1e6)).padStart(6, '0');
  const now = Date.now();
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('insert into challenges values ($1, $2, $3, $4, $5)', [id, phone, createHash('sha256').update(code).digest('base64url'), 'pending', now]);
    await client.query('insert into messages values ($1, $2, $3, $4, $5)', [`m${id}`, id, `${code} is your code`, 'queued', now]);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
  return reply.code(202).send({ challenge_id: id, code });
});
app.post('/v1/otp/verify', async (req, reply) => {
  const { challenge_id: id, code } = req.body as { challenge_id: string; code: string };
  const row = (await pool.query<{ code_hash: string; status: string }>('select code_hash, status from challenges where id = $1', [id])).rows[0];
  const ok = row?.status === 'pending' && row.code_hash === createHash('sha256').update(code).digest('base64url');
  const won = ok && (await pool.query(`update challenges set status = 'verified' where id = $1 and status = 'pending'`, [id])).rowCount === 1;
  return reply.code(won ? 200 : 400).send({ verified: won });
});
await app.listen({ host: '127.0.0.1', port: 0 });
const a = app.server.address();
process.stdout.write(`listening http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}\n`);
process.on('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
