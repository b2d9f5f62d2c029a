import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { countryOfE164, fictionalNumber, normalizePhone, normalizeTestNumber, type PhoneResult } from '../../src/domain/phone.js';

function ok(result: PhoneResult): { e164: string; country: string | undefined } {
  if (!result.ok) assert.fail(`expected ok, got: ${result.reason}`);
  return result;
}

function reasonOf(result: PhoneResult): string {
  if (result.ok) assert.fail(`expected a failure, got ${result.e164}`);
  return result.reason;
}

test('valid international numbers normalise to E.164 with their country', () => {
  const cases: [string, string, string][] = [
    ['+14155552671', '+14155552671', 'US'],
    ['+447400123456', '+447400123456', 'GB'],
    ['+442079460000', '+442079460000', 'GB'],
    ['+447911123456', '+447911123456', 'GG'], // this UK mobile range belongs to Guernsey
    ['+919876543210', '+919876543210', 'IN'],
    ['+33612345678', '+33612345678', 'FR'],
    ['+4915123456789', '+4915123456789', 'DE'],
    ['+6834002', '+6834002', 'NU'], // Niue: 4-digit national numbers
  ];
  for (const [input, e164, country] of cases) {
    assert.deepEqual(ok(normalizePhone(input)), { ok: true, e164, country }, input);
  }
});

test('separators are stripped and 00 is read as +', () => {
  const forms = [
    '+1 415 555 2671',
    '+1 (415) 555-2671',
    '+1.415.555.2671',
    '+1-415-555-2671',
    ' +1 415 555 2671 ',
    '+1\u00a0415\u00a0555\u00a02671',
    '+1\t415 555 2671',
    '0014155552671',
    '00 1 415 555 2671',
  ];
  for (const input of forms) assert.equal(ok(normalizePhone(input)).e164, '+14155552671', JSON.stringify(input));
  assert.deepEqual(normalizePhone('0033 6 12 34 56 78'), { ok: true, e164: '+33612345678', country: 'FR' });
});

test('non-geographic numbers are valid with no country', () => {
  assert.deepEqual(normalizePhone('+80012345678'), { ok: true, e164: '+80012345678', country: undefined });
});

test('national format (no + or 00) is refused with the example sentence', () => {
  for (const input of ['4155552671', '07400123456', '(415) 555-2671']) {
    assert.equal(reasonOf(normalizePhone(input)), 'phone_number must be in international format, e.g. +14155550123', input);
  }
});

test('non-strings and empty input are refused', () => {
  for (const input of [undefined, null, 14155552671, {}, ['+14155552671'], true]) {
    assert.equal(reasonOf(normalizePhone(input)), 'phone_number must be a string');
  }
  assert.equal(reasonOf(normalizePhone('')), 'phone_number is required');
  assert.equal(reasonOf(normalizePhone('   ')), 'phone_number is required');
});

test('letters, emoji, other symbols and non-ASCII digits are refused', () => {
  for (const input of [
    '+1415555267a',
    '+1 415 CALL NOW',
    '+14155552671 ext. 12',
    '+14155552671📱',
    '+1415555+2671',
    '++14155552671',
    '+1/415/555/2671',
    '+١٤١٥٥٥٥٢٦٧١', // Arabic-Indic digits
    '+14155552671\n',
    'tel:+14155552671',
  ]) {
    const reason = reasonOf(normalizePhone(input));
    assert.match(reason, /^phone_number /, input);
  }
});

test('too long raw input is refused before parsing', () => {
  const input = `+1 415 555 2671${' '.repeat(18)}`;
  assert.ok(input.length > 32);
  assert.equal(reasonOf(normalizePhone(input)), 'phone_number must be at most 32 characters');
  // exactly 32 characters is still looked at
  const padded = `+1 (415) 555-2671`.padEnd(32, ' ');
  assert.equal(ok(normalizePhone(padded)).e164, '+14155552671');
});

test('too short and too long numbers are refused', () => {
  for (const input of ['+', '+1', '+12', '+1234', '+1415555267']) assert.match(reasonOf(normalizePhone(input)), /too short/, input);
  for (const input of ['+141555526711', '+3361234567890123', '+1234567890123456']) {
    assert.match(reasonOf(normalizePhone(input)), /too long/, input);
  }
});

test('numbers libphonenumber says are not valid are refused', () => {
  for (const input of ['+11234567890', '+15555555555', '+447700900123', '+33012345678', '+99912345']) {
    const result = normalizePhone(input);
    assert.equal(result.ok, false, input);
  }
  assert.match(reasonOf(normalizePhone('+0012345')), /country calling code/);
  assert.equal(reasonOf(normalizePhone('+11234567890')), 'phone_number is not a valid phone number');
});

test('failure reasons never echo the input', () => {
  const inputs = ['+1415555267a', '+11234567890', '4155552671', 'x'.repeat(40), '+<script>', '+99912345'];
  for (const input of inputs) {
    const reason = reasonOf(normalizePhone(input));
    assert.ok(!reason.includes(input), reason);
    assert.ok(!reason.includes('script'), reason);
    assert.ok(reason.length < 120, reason);
  }
});

test('countryOfE164', () => {
  assert.equal(countryOfE164('+14155552671'), 'US');
  assert.equal(countryOfE164('+16135550123'), 'CA');
  assert.equal(countryOfE164('+447400123456'), 'GB');
  assert.equal(countryOfE164('+919876543210'), 'IN');
  assert.equal(countryOfE164('+33612345678'), 'FR');
  assert.equal(countryOfE164('+80012345678'), undefined);
  assert.equal(countryOfE164('14155552671'), undefined);
  assert.equal(countryOfE164('+1 415 555 2671'), undefined);
  assert.equal(countryOfE164(''), undefined);
});

describe('fictional numbers', () => {
  test('NANP 555-0100 to 0199 and Ofcom drama ranges are recognised; their neighbours are not', () => {
    assert.deepEqual(fictionalNumber('+1 212 555 0142'), { e164: '+12125550142', country: 'US' });
    assert.equal(fictionalNumber('+12125550200'), undefined);
    assert.equal(fictionalNumber('+11125550142'), undefined, 'an area code cannot start with 1');
    assert.deepEqual(fictionalNumber('+44 7700 900999'), { e164: '+447700900999', country: 'GB' });
    assert.deepEqual(fictionalNumber('0044 1632 960000'), { e164: '+441632960000', country: 'GB' });
    assert.deepEqual(fictionalNumber('+44 20 7946 0123'), { e164: '+442079460123', country: 'GB' });
    assert.deepEqual(fictionalNumber('+44 28 9649 6999'), { e164: '+442896496999', country: 'GB' });
    assert.equal(fictionalNumber('+447700901000'), undefined);
    assert.equal(fictionalNumber('+4477009001234'), undefined, 'one digit too many');
    assert.equal(fictionalNumber('+44770090012'), undefined, 'one digit short');
    assert.equal(fictionalNumber(447700900123), undefined);
  });

  test('normalizeTestNumber takes valid numbers and fictional ones, and explains the rest', () => {
    assert.deepEqual(normalizeTestNumber('+44 7700 900123'), { ok: true, e164: '+447700900123', country: 'GB' });
    assert.deepEqual(normalizeTestNumber('+1 415 555 2671'), { ok: true, e164: '+14155552671', country: 'US' });
    const bad = normalizeTestNumber('+44 1632 970001');
    assert.equal(bad.ok, false);
    // libphonenumber alone still refuses the drama mobile range: only test numbers take it.
    assert.equal(normalizePhone('+447700900123').ok, false);
  });
});
