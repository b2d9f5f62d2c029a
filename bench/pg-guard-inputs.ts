// The fraud guard's reads for a batch of concurrent first-code sends on PostgreSQL (the phone's
// latest code, the keys' decisions, the keys' hourly counters), as otpgate makes them, against
// the same reads made per element by `otpgate_guard_inputs` (migration 0021) as the same-run
// baseline. A store of `challenges` rows and a day of counters for every key the sends use.
// otpgate's read also brings each IP's countries (an IP–country key per IP); the baseline's
// function has no such part (otpgate read them in a query of its own), so it does less.
// Usage: npx tsx bench/pg-guard-inputs.ts [batches=3000] [batch size=16] [hours of counters=25]
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { createStore, migrateToLatest } from '../src/store/db.js';
import { withPgClient } from './servers/bench-support.js';

const batches = Number(process.argv[2] ?? 3000);
const size = Number(process.argv[3] ?? 16);
const hours = Number(process.argv[4] ?? 25);
const pgUrl = process.env.OTPGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let seed = 7;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const phone = () => `+1415${200 + Math.floor(rand() * 800)}${String(Math.floor(rand() * 10_000)).padStart(4, '0')}`;
const ip = () => `10.0.${Math.floor(rand() * 8)}.${Math.floor(rand() * 250)}`;

const name = `otpgate_bench_gi_${randomBytes(4).toString('hex')}`;
await withPgClient(pgUrl, (c) => c.query(`create database ${name}`));
const u = new URL(pgUrl);
u.pathname = `/${name}`;
try {
  const store = createStore(u.toString());
  await migrateToLatest(store);
  await store.close();
  const c = new pg.Client(u.toString());
  c.on('error', () => undefined);
  await c.connect();
  const now = Date.now();
  const bucket = Math.floor(now / HOUR) * HOUR;
  await c.query(`insert into tenants (id, name, settings, created_at, updated_at) values ('ten_b', 'B', '{}', 0, 0)`);
  // 200,000 codes over the last day, on phones of San Francisco's exchanges.
  const phones = Array.from({ length: 200_000 }, phone);
  for (let i = 0; i < phones.length; i += 10_000) {
    await c.query(
      `insert into challenges (id, tenant_id, phone, purpose, code_hash, status, attempts, max_attempts, client_ip, is_test, message_id, created_at, expires_at, resend_available_at, verified_at, verification_id)
       select 'chl_' || ($2::int + n), 'ten_b', p, 'login', 'h', 'verified', 1, 5, null, 0, null, $3::bigint - n * 400, $3::bigint - n * 400 + 300000, 0, $3::bigint - n * 400 + 1000, null
         from unnest($1::text[]) with ordinality as t(p, n)`,
      [phones.slice(i, i + 10_000), i, now],
    );
  }
  // A day of hourly counters for the country, every prefix and 2,000 IPs.
  const ips = Array.from({ length: 2000 }, (_, i) => `10.0.${Math.floor(i / 250)}.${i % 250}`);
  const keys = ['c:US', ...Array.from({ length: 800 }, (_, i) => `p:+1415${200 + i}`), ...ips.map((i) => `i:${i}`), ...ips.map((i) => `x:${i}|US`)];
  await c.query(
    `insert into fraud_counters (tenant_id, key, bucket, sent, verified, segments, cost_micros)
     select 'ten_b', k, $2::bigint - h * ${HOUR}, 10, 8, 10, 0 from unnest($1::text[]) k, generate_series(0, ${hours - 1}) h`,
    [keys, bucket],
  );
  await c.query('vacuum analyze');

  const batch = () =>
    Array.from({ length: size }, () => {
      const p = rand() < 0.5 ? phones[Math.floor(rand() * phones.length)]! : phone();
      const i = ip();
      return {
        tenant: 'ten_b',
        phone: p,
        purpose: 'login',
        decisionKeys: [`n:${p}`, 'c:US', `p:${p.slice(0, 8)}`, `i:${i}`],
        now,
        liftedSince: now - DAY,
        counterKeys: ['c:US', `p:${p.slice(0, 8)}`, `i:${i}`],
        since: bucket - DAY,
        pairs: { from: `x:${i}|`, to: `x:${i}}` },
      };
    });
  const work = Array.from({ length: batches }, batch);
  const perElement = `select coalesce(jsonb_agg(otpgate_guard_inputs(
            e->>'tenant', e->>'phone', e->>'purpose', array(select jsonb_array_elements_text(e->'decisionKeys')),
            (e->>'now')::bigint, (e->>'liftedSince')::bigint, array(select jsonb_array_elements_text(e->'counterKeys')),
            (e->>'since')::bigint) order by n), '[]') as r
     from jsonb_array_elements($1::jsonb) with ordinality as x(e, n)`;
  const { guardInputsManyText } = await import('../src/store/queries/fraud.js');
  const run = async (label: string, text: string) => {
    const cpu0 = backendCpuMs();
    const t0 = performance.now();
    for (const w of work) await c.query({ name: label, text, values: [JSON.stringify(w)] });
    return { wall: ((performance.now() - t0) * 1000) / (batches * size), cpu: ((backendCpuMs() - cpu0) * 1000) / (batches * size) };
  };
  // The backend's CPU time (utime + stime), read from /proc: the server runs on this machine.
  const pid = (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number;
  const tick = 1000 / 100;
  const backendCpuMs = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * tick;
  };
  const rounds: Array<Record<string, { wall: number; cpu: number }>> = [];
  for (let r = 0; r < 4; r++) {
    rounds.push({ perElement: await run('per_element', perElement), setBased: await run('set_based', guardInputsManyText) });
  }
  console.log(`${batches} batches of ${size}, ${hours} hours of counters, µs per send's reads, wall / PostgreSQL CPU (one connection, this machine):`);
  const f = (x: { wall: number; cpu: number }) => `${x.wall.toFixed(1)} / ${x.cpu.toFixed(1)}`;
  for (const [i, r] of rounds.entries()) console.log(`round ${i + 1}: per element ${f(r.perElement!)}, otpgate ${f(r.setBased!)}`);
  await c.end();
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await withPgClient(pgUrl, (c) => c.query(`drop database if exists ${name} with (force)`));
}
