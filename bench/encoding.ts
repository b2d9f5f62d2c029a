// analyzeSms (src/domain/encoding.ts) runs on every send and every template preview: how long one
// analysis of typical texts takes, against a same-run baseline that only reads each character
// code once (the least any segment count must do).
// Usage: node --import tsx bench/encoding.ts [iterations]   (default 200,000 per text)
import { analyzeSms } from '../src/domain/encoding.js';

const N = Number(process.argv[2] ?? 200_000);
const texts: Record<string, string> = {
  'OTP, GSM-7, 1 part': 'Acme: 123456 is your verification code. It expires in 10 minutes.',
  'GSM-7, 3 parts': 'Your verification code is 123456. It expires in 10 minutes. {Acme}'.repeat(6),
  'UCS-2, 1 part': 'Acme: 123456 は確認コードです。10分で期限切れになります。',
  'UCS-2 + emoji, 2 parts': 'Acme 🔐 123456 は確認コードです。'.repeat(4),
};

let sink = 0;
function baseline(text: string): number {
  let s = 0;
  for (let i = 0; i < text.length; i++) s += text.charCodeAt(i);
  return s;
}

function time(fn: () => void): number {
  const started = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - started) / N; // ns per call
}

console.log(`Node ${process.version}, ${N.toLocaleString('en')} calls per text, best of 3 rounds`);
console.log('| text | chars | analyzeSms ns/call | baseline ns/call | ratio |');
console.log('|---|---|---|---|---|');
for (const [name, text] of Object.entries(texts)) {
  let best = Infinity;
  let base = Infinity;
  for (let round = 0; round < 3; round++) {
    best = Math.min(best, time(() => { for (let i = 0; i < N; i++) sink += analyzeSms(text).segments; }));
    base = Math.min(base, time(() => { for (let i = 0; i < N; i++) sink += baseline(text); }));
  }
  console.log(`| ${name} | ${text.length} | ${best.toFixed(0)} | ${base.toFixed(0)} | ${(best / base).toFixed(1)} |`);
}
if (sink === 42) console.log('');
