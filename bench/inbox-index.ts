// The Inbox provider's insert of a delivered message, in commits of 26 as the dispatcher's
// writes make them at full load, on the schema the migrations build (`inbox_messages_tenant_id`
// on tenant and id, migration 0029) and, as the same-run baseline, with `inbox_messages_tenant`
// (tenant, to_phone, id) made again in its place. Phones are drawn from San Francisco's
// exchanges, so an index keyed by phone is written at random. The log's frames are counted by
// checkpointing by hand every 100 commits.
// Usage: node --import tsx bench/inbox-index.ts [rows=200000] [rounds=2]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLikeOtpgate, sanFranciscoPhones, sqliteBenchFile } from './servers/bench-support.js';

const rows = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 2);
const BATCH = 26;
const dir = mkdtempSync(join(tmpdir(), 'otpgate-inbox-index-'));

const phones = sanFranciscoPhones(rows);
const body = 'b'.repeat(120);

async function run(label: string, phoneIndex: boolean): Promise<{ cpuUs: number; wallUs: number; frames: number }> {
  const file = join(dir, `${label}.db`);
  await sqliteBenchFile(file);
  const db = openLikeOtpgate(file);
  db.pragma('wal_autocheckpoint = 0');
  if (phoneIndex) {
    db.exec('drop index inbox_messages_tenant_id');
    db.exec('create index inbox_messages_tenant on inbox_messages (tenant_id, to_phone, id)');
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  const insert = db.prepare(`insert into inbox_messages (id, tenant_id, message_id, to_phone, body_sealed, created_at) values (?, 'ten_bench', ?, ?, ?, ?)`);
  let frames = 0;
  const checkpoint = () => {
    const [r] = db.pragma('wal_checkpoint(RESTART)') as Array<{ log: number }>;
    frames += r!.log;
  };
  let t = Date.now();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let commits = 0;
  for (let i = 0; i < rows; i += BATCH) {
    db.exec('begin immediate');
    for (let j = i; j < Math.min(rows, i + BATCH); j++) {
      t++;
      const id = String(t).padStart(13, '0') + String(j).padStart(7, '0');
      insert.run(`inb_${id}`, `msg_${id}`, phones[j], body, t);
    }
    db.exec('commit');
    if (++commits % 100 === 0) checkpoint();
  }
  checkpoint();
  const used = process.cpuUsage(cpu);
  const wallUs = ((performance.now() - started) * 1000) / rows;
  db.close();
  return { cpuUs: (used.user + used.system) / rows, wallUs, frames: frames / commits };
}

const out: string[] = [];
for (let r = 1; r <= rounds; r++) {
  for (const [label, phoneIndex] of [['inbox_messages_tenant (tenant, to_phone, id), before 0029', true], ['migrations as they are', false]] as const) {
    const m = await run(`${r}-${phoneIndex}`, phoneIndex);
    out.push(`| ${r} | ${label} | ${m.cpuUs.toFixed(1)} | ${m.wallUs.toFixed(1)} | ${m.frames.toFixed(1)} |`);
  }
}
rmSync(dir, { recursive: true, force: true });
console.log(`\n${rows} Inbox inserts, SQLite, commits of ${BATCH}, checkpointed every 100 commits, Node ${process.version}\n`);
console.log('| round | schema | µs CPU per insert, checkpoints included | µs wall per insert | log frames per commit |\n|---|---|---|---|---|');
console.log(out.join('\n'));
