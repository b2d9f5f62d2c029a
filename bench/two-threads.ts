// How much work two busy threads get done on this machine, each against one thread alone: the
// same CPU-bound loop (SHA-256 over 256 bytes) in one worker thread for `seconds`, then in two at
// once, alternated over `rounds`. A machine whose cores share a physical core, or whose host is
// busy, does less than twice the work with two: then moving work from one thread to another
// costs CPU in all, as the writer trials of docs/performance.md found.
// Usage: node --import tsx bench/two-threads.ts [seconds=3] [rounds=5]
import { Worker } from 'node:worker_threads';

/**
 * The thread's whole program, plain JavaScript: it needs no TypeScript loader. It posts how many
 * hashes it did in `workerData` ms of wall time.
 */
const spin = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const until = Date.now() + workerData;
const buf = Buffer.alloc(256, 7);
let n = 0;
while (Date.now() < until) {
  for (let i = 0; i < 100; i++) createHash('sha256').update(buf).digest();
  n += 100;
}
parentPort.postMessage(n);
`;

const seconds = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 5);
const run = (threads: number) =>
  Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((done, fail) => {
          const w = new Worker(spin, { eval: true, workerData: seconds * 1000 });
          w.once('message', done);
          w.once('error', fail);
        }),
    ),
  );
process.stdout.write(`\nSHA-256 of 256 bytes, ${seconds} s per pass, Node ${process.version}\n\n| round | one thread alone | two threads at once | each of the two ÷ one alone |\n|---|---|---|---|\n`);
const shares: number[] = [];
for (let round = 1; round <= rounds; round++) {
  const [alone] = await run(1);
  const [a, b] = await run(2);
  const share = (a! + b!) / 2 / alone!;
  shares.push(share);
  process.stdout.write(`| ${round} | ${alone} | ${a} + ${b} | ${(share * 100).toFixed(0)} % |\n`);
}
shares.sort((x, y) => x - y);
process.stdout.write(`\nmedian: each of two threads does ${(shares[Math.floor(shares.length / 2)]! * 100).toFixed(0)} % of what one alone does\n`);
