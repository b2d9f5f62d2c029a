import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSms, isGsm7 } from '../../src/domain/encoding.js';

const basic =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const extension = ['\f', '^', '{', '}', '\\', '[', '~', ']', '|', '€'];

test('the whole GSM basic table (127 characters, both Ç and ç) is GSM-7 at 1 septet each', () => {
  assert.equal([...basic].length, 127);
  assert.ok(isGsm7(basic));
  for (const c of basic) {
    const a = analyzeSms(c);
    assert.equal(a.encoding, 'GSM-7', JSON.stringify(c));
    assert.equal(a.units, 1, JSON.stringify(c));
  }
  assert.ok(isGsm7('ç'));
  assert.ok(isGsm7('Ç'));
  assert.equal(analyzeSms('ç').units, 1);
});

test('extension characters are GSM-7 and cost 2 septets', () => {
  for (const c of extension) {
    assert.ok(isGsm7(c), JSON.stringify(c));
    assert.deepEqual(analyzeSms(c), { encoding: 'GSM-7', characters: 1, units: 2, segments: 1, unitsPerSegment: 160 }, JSON.stringify(c));
  }
  assert.equal(analyzeSms('{code} costs 5€').units, 15 + 3);
});

test('characters outside GSM-7 switch the whole message to UCS-2', () => {
  for (const c of ['`', 'á', 'í', 'ó', 'ú', 'ê', 'ã', 'õ', 'ş', 'ğ', '“', '”', '’', '…', 'ä\u0308', '中', '😀', '\u001b', '\t', '\u00a0']) {
    assert.equal(isGsm7(`Code 1234 ${c}`), false, JSON.stringify(c));
    assert.equal(analyzeSms(`Code 1234 ${c}`).encoding, 'UCS-2', JSON.stringify(c));
  }
  const a = analyzeSms('Ваш код 1234');
  assert.deepEqual(a, { encoding: 'UCS-2', characters: 12, units: 12, segments: 1, unitsPerSegment: 70 });
});

test('empty text is GSM-7 with 0 segments', () => {
  assert.ok(isGsm7(''));
  assert.deepEqual(analyzeSms(''), { encoding: 'GSM-7', characters: 0, units: 0, segments: 0, unitsPerSegment: 160 });
});

test('GSM-7 boundaries: 160 fits one SMS, 161 takes two parts of 153', () => {
  assert.deepEqual(analyzeSms('a'.repeat(160)), { encoding: 'GSM-7', characters: 160, units: 160, segments: 1, unitsPerSegment: 160 });
  assert.deepEqual(analyzeSms('a'.repeat(161)), { encoding: 'GSM-7', characters: 161, units: 161, segments: 2, unitsPerSegment: 153 });
  assert.equal(analyzeSms('a'.repeat(306)).segments, 2);
  assert.equal(analyzeSms('a'.repeat(307)).segments, 3);
  assert.equal(analyzeSms('a'.repeat(459)).segments, 3);
  assert.equal(analyzeSms('a'.repeat(460)).segments, 4);
  // extension characters count double towards the 160
  assert.equal(analyzeSms('€'.repeat(80)).segments, 1);
  assert.deepEqual(analyzeSms('€'.repeat(81)), { encoding: 'GSM-7', characters: 81, units: 162, segments: 2, unitsPerSegment: 153 });
});

test('GSM-7 never splits an escape pair across parts', () => {
  // 152 plain septets then "€" (2) would straddle the 153 boundary: it moves to part 2.
  const straddle = `${'a'.repeat(152)}€${'a'.repeat(152)}`;
  assert.equal(analyzeSms(straddle).units, 306); // naive ceil(306/153) = 2
  assert.equal(analyzeSms(straddle).segments, 3);
  // No straddle: same length, the pair fits whole in part 1.
  const aligned = `${'a'.repeat(151)}€${'a'.repeat(153)}`;
  assert.equal(analyzeSms(aligned).units, 306);
  assert.equal(analyzeSms(aligned).segments, 2);
  // All-extension text: pairs pack 76 to a part (152 septets).
  assert.equal(analyzeSms('{'.repeat(152)).segments, 2);
  assert.equal(analyzeSms('{'.repeat(153)).segments, 3);
});

test('UCS-2 boundaries: 70 fits one SMS, 71 takes two parts of 67', () => {
  assert.deepEqual(analyzeSms('ж'.repeat(70)), { encoding: 'UCS-2', characters: 70, units: 70, segments: 1, unitsPerSegment: 70 });
  assert.deepEqual(analyzeSms('ж'.repeat(71)), { encoding: 'UCS-2', characters: 71, units: 71, segments: 2, unitsPerSegment: 67 });
  assert.equal(analyzeSms('ж'.repeat(134)).segments, 2);
  assert.equal(analyzeSms('ж'.repeat(135)).segments, 3);
});

test('UCS-2 counts astral characters as 2 units and never splits a surrogate pair', () => {
  assert.deepEqual(analyzeSms('😀'), { encoding: 'UCS-2', characters: 1, units: 2, segments: 1, unitsPerSegment: 70 });
  assert.equal(analyzeSms('😀'.repeat(35)).segments, 1);
  assert.equal(analyzeSms('😀'.repeat(36)).segments, 2);
  // 66 units then an emoji would straddle the 67 boundary: it moves to part 2.
  const straddle = `${'ж'.repeat(66)}😀${'ж'.repeat(66)}`;
  assert.equal(analyzeSms(straddle).units, 134);
  assert.equal(analyzeSms(straddle).characters, 133);
  assert.equal(analyzeSms(straddle).segments, 3);
  const aligned = `${'ж'.repeat(65)}😀${'ж'.repeat(67)}`;
  assert.equal(analyzeSms(aligned).segments, 2);
  // 33 emoji (66 units) fit a part: 66 emoji fill 2 parts, 67 need 3
  assert.equal(analyzeSms('😀'.repeat(66)).segments, 2);
  assert.equal(analyzeSms('😀'.repeat(67)).segments, 3);
});

test('lone surrogates count as one character of one unit', () => {
  const a = analyzeSms('a\ud800b');
  assert.deepEqual(a, { encoding: 'UCS-2', characters: 3, units: 3, segments: 1, unitsPerSegment: 70 });
});

test('a typical OTP message is one GSM-7 segment', () => {
  const a = analyzeSms('123456 is your Acme login code. It expires in 5 min.\n\n@acme.example #123456');
  assert.equal(a.encoding, 'GSM-7');
  assert.equal(a.segments, 1);
});
