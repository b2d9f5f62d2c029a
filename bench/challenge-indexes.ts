// A send's statements on `challenges` (the per-phone hourly count, then the insert), in group
// commits of 40 as the SQLite writer makes them, on the schema the migrations build and, as the
// same-run baseline, with `challenges_phone` (dropped by migration 0019) made again. Phones are
// drawn from San Francisco's exchanges, so the indexes keyed by phone are written at random.
// Usage: node --import tsx bench/challenge-indexes.ts [rows=300000] [rounds=2]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLikeOtpgate, sanFranciscoPhones, sqliteBenchFile } from './servers/bench-support.js';

const rows = Number(process.argv[2] ?? 300_000);
const rounds = Number(process.argv[3] ?? 2);
const BATCH = 40;
const dir = mkdtempSync(join(tmpdir(), 'otpgate-challenge-indexes-'));

const phones = sanFranciscoPhones(rows);

async function run(label: string, phoneIndex: boolean): Promise<{ label: string; cpuUs: number; wallUs: number }> {
  const file = join(dir, `${label}.db`);
  await sqliteBenchFile(file);
  const db = openLikeOtpgate(file);
  if (phoneIndex) db.exec('create index challenges_phone on challenges (tenant_id, phone, created_at)');
  const count = db.prepare('select count(*) as n from challenges where tenant_id = ? and phone = ? and created_at > ?');
  const insert = db.prepare(
    `insert into challenges (id, tenant_id, phone, purpose, code_hash, status, attempts, max_attempts, client_ip, is_test, message_id, created_at, expires_at, resend_available_at, verified_at, verification_id)
     values (?, 'ten_bench', ?, 'login', ?, 'pending', 0, 5, ?, 0, ?, ?, ?, ?, null, ?)`,
  );
  let t = Date.now();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < rows; i += BATCH) {
    db.exec('begin immediate');
    for (let j = i; j < Math.min(rows, i + BATCH); j++) {
      t++;
      const id = String(t).padStart(13, '0') + String(j).padStart(7, '0');
      count.get('ten_bench', phones[j], t - 3_600_000);
      insert.run(`chl_${id}`, phones[j], 'h'.repeat(43), `198.51.${j % 8}.${j % 250}`, `msg_${id}`, t, t + 600_000, t + 30_000, `ver_${id}`);
    }
    db.exec('commit');
  }
  const used = process.cpuUsage(cpu);
  const wallUs = ((performance.now() - started) * 1000) / rows;
  db.close();
  return { label, cpuUs: (used.user + used.system) / rows, wallUs };
}

const out: string[] = [];
for (let r = 1; r <= rounds; r++) {
  for (const [label, phoneIndex] of [['with challenges_phone (before 0019)', true], ['migrations as they are', false]] as const) {
    const m = await run(`${r}-${phoneIndex}`, phoneIndex);
    out.push(`| ${r} | ${label} | ${m.cpuUs.toFixed(1)} | ${m.wallUs.toFixed(1)} |`);
  }
}
rmSync(dir, { recursive: true, force: true });
console.log(`\n${rows} sends' count + insert on challenges, SQLite, commits of ${BATCH}, Node ${process.version}\n`);
console.log('| round | schema | µs CPU per send | µs wall per send |\n|---|---|---|---|');
console.log(out.join('\n'));
