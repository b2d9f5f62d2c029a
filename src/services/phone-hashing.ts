import { hashPhone } from '../crypto/hmac.js';
import { idFloor, type IdPrefix } from '../domain/ids.js';
import {
  advanceMark,
  idBoundary,
  numberDecisionsInRange,
  phoneRowsInRange,
  readMark,
  replacePhone,
  rewriteDecision,
  type PhoneTable,
} from '../store/queries/lifecycle.js';
import type { Executor } from '../store/db.js';
import type { ServiceContext } from './context.js';

/** Each table with a phone column and the prefix of its ids. */
const tables: ReadonlyArray<[PhoneTable, IdPrefix]> = [
  ['challenges', 'chl'],
  ['verifications', 'ver'],
  ['messages', 'msg'],
  ['inbox_messages', 'inb'],
];

/** `text` with every whole occurrence of `e164` (not a longer number starting with it) replaced. */
export function replaceNumber(text: string, e164: string, by: string): string {
  return text.split(e164).reduce((out, part, i) => (i === 0 ? part : /^\d/.test(part) ? `${out}${e164}${part}` : `${out}${by}${part}`), '');
}

interface Candidate {
  id: string;
  created_at: number;
}

/**
 * Replaces the phone numbers of rows older than `keepMs` by their keyed hash (`h:…`,
 * src/crypto/hmac.ts), table by table in id order from the table's mark (migration 0008), so a
 * run reads only the rows that crossed the line since the last one. Rows erased or hashed
 * already are left as they are. Fraud-guard number blocks (`n:+…`) get the hash in their key
 * and reason. A row still too young stops its table's pass there (the mark stays before it).
 */
export function createPhoneHashing(
  ctx: Pick<ServiceContext, 'store' | 'clock'>,
  options: { key: Buffer; keepMs: number; batchSize: number; maxBatches: number },
) {
  const { key, keepMs, batchSize, maxBatches } = options;

  /** Batches of one table after its mark up to the rows created before the cutoff. */
  async function pass<R extends Candidate>(
    name: string,
    prefix: IdPrefix,
    boundaryTable: Parameters<typeof idBoundary>[1],
    read: (trx: Executor, from: string, before: string) => Promise<R[]>,
    change: (trx: Executor, row: R) => Promise<number>,
  ): Promise<number> {
    const cutoff = ctx.clock.now() - keepMs;
    const boundary = await idBoundary(ctx.store.db, boundaryTable, cutoff, (t) => idFloor(prefix, t));
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const r = await ctx.store.writes.write(async (trx) => {
        const from = await readMark(trx, name);
        if (from >= boundary) return { n: 0, done: true };
        const rows = await read(trx, from, boundary);
        let n = 0;
        // The mark is the last id done: the next batch reads after it.
        let mark = rows.length < batchSize ? boundary : rows[rows.length - 1]!.id;
        let done = rows.length < batchSize;
        for (const [i, row] of rows.entries()) {
          if (row.created_at >= cutoff) {
            mark = i === 0 ? from : rows[i - 1]!.id;
            done = true;
            break;
          }
          n += await change(trx, row);
        }
        if (mark > from) await advanceMark(trx, name, mark);
        return { n, done };
      });
      total += r.n;
      if (r.done) break;
    }
    return total;
  }

  return {
    /** One pass over every table; returns how many rows had a number replaced. */
    async run(): Promise<number> {
      let total = 0;
      for (const [table, prefix] of tables) {
        total += await pass(
          `phone:${table}`,
          prefix,
          table,
          (trx, from, before) => phoneRowsInRange(trx, table, from, before, batchSize),
          (trx, row) => (row.phone.startsWith('+') ? replacePhone(trx, table, row.id, row.phone, hashPhone(key, row.tenant_id, row.phone)) : Promise.resolve(0)),
        );
      }
      total += await pass(
        'phone:fraud_decisions',
        'fgb',
        'fraud_decisions',
        async (trx, from, before) => (await numberDecisionsInRange(trx, from, before, batchSize)).map((d) => ({ ...d, created_at: Number(d.created_at) })),
        (trx, row) => {
          const e164 = row.key.slice(2);
          if (!e164.startsWith('+')) return Promise.resolve(0);
          const hashed = hashPhone(key, row.tenant_id, e164);
          return rewriteDecision(trx, row.id, row.key, { key: `n:${hashed}`, reason: replaceNumber(row.reason, e164, hashed) });
        },
      );
      return total;
    },
  };
}
