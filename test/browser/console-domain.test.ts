/**
 * The console counts segments, checks templates and validates settings in the browser with
 * ports of the server's rules. These tests hold the ports to the server's own functions, so
 * the two cannot drift apart. No browser needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSms as serverAnalyze } from '../../src/domain/encoding.js';
import { composeOtpMessage, validateTemplate as serverValidate } from '../../src/domain/template.js';
import { tenantSettingsShape, defaultSettings } from '../../src/services/tenant-settings.js';
import { analyzeSms as consoleAnalyze } from '../../console/src/domain/encoding.js';
import { renderPreview, validateTemplate as consoleValidate } from '../../console/src/domain/template.js';
import { appHashPattern, checkInt, intRules, localePattern, webotpPattern } from '../../console/src/domain/settings.js';
import { errorKindText, receiptKindsOf, sendsReceipts, splitRawAnswer } from '../../console/src/domain/providers.js';
import { providerRegistry } from '../../src/providers/registry.js';
import { providerErrorKinds } from '../../src/providers/provider-error.js';

const samples: string[] = [
  '',
  'a',
  'Your code is 123456',
  'x'.repeat(160),
  'x'.repeat(161),
  'x'.repeat(306),
  'x'.repeat(307),
  '€'.repeat(80),
  '€'.repeat(81),
  'x'.repeat(152) + '€' + 'x'.repeat(10), // escape pair must not split across parts
  '{[]}~^|\\ and €',
  'Ça va? àèéìòù ÄÖÑÜ äöñü ß Ø å Δ Φ Γ',
  'Código 123456',
  'Ваш код 123456',
  'y'.repeat(70),
  'y'.repeat(69) + 'é' + 'ш',
  'ш'.repeat(70),
  'ш'.repeat(71),
  'ш'.repeat(66) + '😀' + 'ш'.repeat(5), // surrogate pair at the part boundary
  '😀'.repeat(40),
  'line\nbreak\rand\ftab',
  'tab\tis not GSM',
  '\uD83D lone surrogate',
];

test('the console counts encoding and segments exactly as the server does', () => {
  for (const s of samples) {
    const a = serverAnalyze(s);
    const b = consoleAnalyze(s);
    assert.deepEqual(
      { encoding: b.encoding, characters: b.characters, units: b.units, segments: b.segments, unitsPerSegment: b.unitsPerSegment },
      { encoding: a.encoding, characters: a.characters, units: a.units, segments: a.segments, unitsPerSegment: a.unitsPerSegment },
      JSON.stringify(s),
    );
  }
});

test('the console checks templates with the server’s words', () => {
  for (const t of ['', '   ', 'no code here', '{{code}}', '{{ code }} for {{app_name}}', '{{code}} {{nope}}', '{{code}} {', '{{}} {{code}}', 'x'.repeat(1001) + '{{code}}']) {
    assert.deepEqual(consoleValidate(t), serverValidate(t), JSON.stringify(t));
  }
});

test('the console preview is the message a send renders, WebOTP and app hash lines included', () => {
  const cases = [
    { template: '{{code}} is your {{app_name}} code ({{ttl_minutes}} min, {{purpose}}).  ', otpLength: 6, webotpDomain: null, androidAppHash: null },
    { template: 'Code: {{ code }}', otpLength: 8, webotpDomain: 'shop.example.com', androidAppHash: null },
    { template: 'Code: {{code}} {{unknown}}', otpLength: 4, webotpDomain: 'example.com', androidAppHash: 'FA+9qCX9VSu' },
  ];
  for (const c of cases) {
    const { text, code } = renderPreview({ ...c, purpose: 'login', appName: 'Acme', ttlSeconds: 301 });
    const server = composeOtpMessage({
      template: c.template,
      vars: { code, app_name: 'Acme', ttl_minutes: Math.ceil(301 / 60), purpose: 'login' },
      webotpDomain: c.webotpDomain,
      androidAppHash: c.androidAppHash,
    });
    assert.equal(text, server);
    assert.equal(code.length, c.otpLength);
  }
});

test('the console validates settings with the server’s ranges and patterns', () => {
  for (const rule of intRules) {
    const schema = tenantSettingsShape[rule.key as keyof typeof tenantSettingsShape];
    for (const v of [rule.min - 1, rule.min, rule.max, rule.max + 1]) {
      const serverOk = schema.safeParse(v).success;
      const consoleOk = checkInt(rule, String(v)) === null;
      assert.equal(consoleOk, serverOk, `${rule.key} = ${v}`);
    }
    assert.ok(checkInt(rule, String(defaultSettings[rule.key as keyof typeof defaultSettings])) === null, `${rule.key} default is valid`);
  }
  const numberKeys = Object.entries(tenantSettingsShape)
    .filter(([, s]) => [0, 1, 4, 60, 1000].some((n) => s.safeParse(n).success))
    .map(([k]) => k)
    .sort();
  assert.deepEqual(intRules.map((r) => r.key).sort(), numberKeys, 'every numeric setting has a field in the console');

  for (const d of ['example.com', 'a.b.example.co.uk', 'localhost', 'https://example.com', 'exa mple.com', '-bad.com']) {
    assert.equal(webotpPattern.test(d), tenantSettingsShape.webotp_domain.safeParse(d).success, d);
  }
  for (const h of ['FA+9qCX9VSu', 'short', 'FA+9qCX9VSu1', 'FA-9qCX9VSu']) {
    assert.equal(appHashPattern.test(h), tenantSettingsShape.android_app_hash.safeParse(h).success, h);
  }
  for (const l of ['en', 'pt-BR', 'zh-Hant-TW', 'EN', 'e', 'en_US']) {
    assert.equal(localePattern.test(l), tenantSettingsShape.default_locale.safeParse(l).success, l);
  }
});

test('the console reads which providers send delivery receipts from the provider kinds', () => {
  const kinds = [
    { id: 'Default', receipts: true },
    ...[...providerRegistry.values()].map((d) => ({ id: d.id, receipts: d.receipts !== undefined })),
    { id: 'Older', receipts: undefined },
  ];
  const receiptKinds = receiptKindsOf(kinds);
  assert.deepEqual([...receiptKinds].sort(), ['Default', 'MessageBird', 'Textlocal', 'Twilio']);
  for (const kind of ['CustomGateway', 'Inbox', 'Older']) assert.equal(sendsReceipts(kind, receiptKinds), false, `${kind} sends none`);
  assert.equal(sendsReceipts('Twilio', receiptKinds), true);
  assert.equal(sendsReceipts('Default', receiptKinds), true, 'Default as the server flags it');
  assert.equal(sendsReceipts('Default', receiptKindsOf([{ id: 'Default', receipts: false }])), false);
  assert.equal(sendsReceipts(null, receiptKinds), false);
  for (const kind of providerErrorKinds) assert.ok(errorKindText[kind], `the console explains the error kind ${kind}`);
});

test('the raw answer a custom gateway quotes in its error is split out of the sentence', () => {
  const whole = splitRawAnswer('the gateway answered HTTP 400: "{"error":"number_blocked","detail":"no"}"');
  assert.equal(whole.text, 'the gateway answered HTTP 400');
  assert.deepEqual(JSON.parse(whole.raw ?? ''), { error: 'number_blocked', detail: 'no' });
  const cut = splitRawAnswer('the gateway answered HTTP 400: "{"error":"a very long answer that the server cut…"');
  assert.equal(cut.raw, '{"error":"a very long answer that the server cut…', 'a cut answer is shown as it came');
  assert.deepEqual(splitRawAnswer('the gateway answered HTTP 503'), { text: 'the gateway answered HTTP 503', raw: null });
});
