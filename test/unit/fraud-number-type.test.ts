import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { numberTypeOf } from '../../src/domain/fraud/number-type.js';
import { defaultBlockedNumberTypes, type NumberType } from '../../src/domain/fraud/settings.js';
import { normalizePhone } from '../../src/domain/phone.js';

/**
 * Numbers from real national numbering plans (Ofcom, NANP, ACMA, BNetzA, the Swiss and Italian
 * plans), each with the type libphonenumber's full metadata gives it. Several are well-known
 * public services; the rest sit in ranges allocated to that type.
 */
const blocked: Array<[string, NumberType, string]> = [
  ['+449098790000', 'premium_rate', 'UK 09 premium-rate services'],
  ['+448712345678', 'premium_rate', 'UK 087 (service charge, classed premium)'],
  ['+19005551234', 'premium_rate', 'NANP 900'],
  ['+33892685555', 'premium_rate', 'France 089'],
  ['+448001111', 'toll_free', 'ChildLine, UK 0800 1111'],
  ['+18002752273', 'toll_free', 'NANP 800 (Apple support, 1-800-APL-CARE)'],
  ['+611800000000', 'toll_free', 'Australia 1800'],
  ['+61132850', 'shared_cost', 'Australia 13 local-rate number'],
  ['+611300655506', 'shared_cost', 'Australia 1300'],
  ['+443001233333', 'uan', 'Ofcom, UK 0300 123 3333'],
  ['+443457900000', 'uan', 'UK 0345'],
  ['+447640123456', 'pager', 'UK 076 pagers'],
  ['+41860791234567', 'voicemail', 'Switzerland 086 0: voicemail of +41 79 123 45 67'],
  ['+3933012345678', 'voicemail', 'Italy, mobile voicemail access'],
  ['+491601312345678', 'voicemail', 'Germany, mobile voicemail access'],
  ['+447031234567', 'personal_number', 'UK 070 personal numbers'],
];

const allowed: Array<[string, NumberType, string]> = [
  ['+447400123456', 'mobile', 'UK 074 mobiles'],
  ['+4915112345678', 'mobile', 'Germany 0151 mobiles'],
  ['+5511912345678', 'mobile', 'Brazil, São Paulo mobiles'],
  ['+33612345678', 'mobile', 'France 06 mobiles'],
  ['+14155552671', 'fixed_line_or_mobile', 'NANP numbers do not tell the two apart'],
  ['+33170181818', 'fixed_line', 'Paris landline'],
];

describe('numberTypeOf on real numbers', () => {
  for (const [number, type, what] of blocked) {
    test(`${what}: ${number} is ${type}, blocked by default`, () => {
      const n = normalizePhone(number);
      assert.ok(n.ok, `${number} is a valid number`);
      assert.equal(numberTypeOf(n.e164), type);
      assert.ok(defaultBlockedNumberTypes.includes(type));
    });
  }

  for (const [number, type, what] of allowed) {
    test(`${what}: ${number} is ${type}, not blocked by default`, () => {
      const n = normalizePhone(number);
      assert.ok(n.ok, `${number} is a valid number`);
      assert.equal(numberTypeOf(n.e164), type);
      assert.ok(!defaultBlockedNumberTypes.includes(type));
    });
  }

  test('every default-blocked type has a real example above', () => {
    assert.deepEqual([...new Set(blocked.map(([, t]) => t))].sort(), [...defaultBlockedNumberTypes].sort());
  });

  test('the type does not depend on which number was parsed last', () => {
    // phoneTypeOf reuses normalizePhone's last parse; asking about another number must not.
    assert.ok(normalizePhone('+447400123456').ok);
    assert.equal(numberTypeOf('+449098790000'), 'premium_rate');
    assert.equal(numberTypeOf('+447400123456'), 'mobile');
  });

  test('a number the metadata cannot place has no type', () => {
    assert.equal(numberTypeOf('+99912345678'), undefined);
  });
});
