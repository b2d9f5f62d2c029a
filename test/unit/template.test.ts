import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSms } from '../../src/domain/encoding.js';
import {
  builtInPurposes,
  composeOtpMessage,
  defaultTemplates,
  genericTemplate,
  isValidLocale,
  isValidPurpose,
  maskCode,
  renderTemplate,
  resolveLocale,
  templateVariables,
  transactionVariablesUsed,
  validateTemplate,
} from '../../src/domain/template.js';

const vars = { code: '123456', app_name: 'Acme', ttl_minutes: 5, purpose: 'login' };
// The transaction template also shows an amount and a payee: one segment holds about 45
// characters of them together (docs/verifications.md).
const worst = { code: '1234567890', app_name: 'A'.repeat(20), ttl_minutes: 60, purpose: 'password_reset', amount: 'EUR 12,345.67', payee: 'P'.repeat(30) };

test('built-in purposes and variables', () => {
  assert.deepEqual([...builtInPurposes], ['login', 'verification', 'password_reset', 'mfa', 'transaction']);
  assert.deepEqual([...templateVariables], ['code', 'app_name', 'ttl_minutes', 'purpose', 'amount', 'payee']);
  assert.deepEqual(Object.keys(defaultTemplates).sort(), [...builtInPurposes].sort());
});

test('default templates are valid, GSM-7 and one segment in the worst case', () => {
  for (const template of [...Object.values(defaultTemplates), genericTemplate]) {
    assert.deepEqual(validateTemplate(template), [], template);
    assert.ok(template.includes('{{code}}') && template.includes('{{app_name}}') && template.includes('{{ttl_minutes}}'), template);
    const rendered = renderTemplate(template, worst);
    const a = analyzeSms(rendered);
    assert.equal(a.encoding, 'GSM-7', rendered);
    assert.equal(a.segments, 1, rendered);
    assert.ok(!rendered.includes('{{'), rendered);
  }
  assert.equal(renderTemplate(defaultTemplates.login, vars), '123456 is your Acme login code. It expires in 5 min. Do not share it.');
  assert.equal(
    renderTemplate(defaultTemplates.transaction, { ...vars, amount: 'EUR 12.50', payee: 'Shop Ltd' }),
    '123456 is your Acme code to pay EUR 12.50 to Shop Ltd. It expires in 5 min.',
  );
  assert.deepEqual(transactionVariablesUsed(defaultTemplates.transaction), ['amount', 'payee']);
  assert.deepEqual(transactionVariablesUsed(defaultTemplates.login), []);
  // each built-in purpose reads differently
  assert.equal(new Set(Object.values(defaultTemplates)).size, builtInPurposes.length);
});

test('defaults stay one GSM-7 segment with the WebOTP line and an Android hash', () => {
  for (const template of [...Object.values(defaultTemplates), genericTemplate]) {
    const text = composeOtpMessage({ template, vars: worst, webotpDomain: 'login.example.com', androidAppHash: 'FA+9qCX9VSu' });
    const a = analyzeSms(text);
    assert.equal(a.encoding, 'GSM-7', text);
    // The transaction template carries the amount and payee as well: two segments (the
    // default max_segments) in this worst case.
    assert.equal(a.segments, template === defaultTemplates.transaction ? 2 : 1, text);
  }
});

test('validateTemplate accepts good templates', () => {
  assert.deepEqual(validateTemplate('{{code}}'), []);
  assert.deepEqual(validateTemplate('Your {{ app_name }} {{purpose}} code: {{ code }} ({{ttl_minutes}} min)'), []);
  assert.deepEqual(validateTemplate('x'.repeat(992) + '{{code}}'), []);
});

test('validateTemplate reports each problem', () => {
  assert.deepEqual(validateTemplate(''), ['template is empty']);
  assert.deepEqual(validateTemplate('  \n '), ['template is empty']);
  assert.deepEqual(validateTemplate('Your code is ready'), ['template must contain {{code}}']);

  const long = validateTemplate('x'.repeat(993) + '{{code}}');
  assert.deepEqual(long, ['template is longer than 1000 characters']);

  const unknown = validateTemplate('{{code}} for {{user_name}} and {{User_Name}} and {{user_name}}');
  assert.equal(unknown.length, 2);
  assert.match(unknown[0] ?? '', /unknown variable \{\{user_name\}\}/);
  assert.match(unknown[0] ?? '', /allowed: \{\{code\}\}, \{\{app_name\}\}, \{\{ttl_minutes\}\}, \{\{purpose\}\}/);
  assert.match(unknown[1] ?? '', /\{\{User_Name\}\}/);

  assert.deepEqual(validateTemplate('{{Code}} x'), [
    'template uses unknown variable {{Code}}; allowed: {{code}}, {{app_name}}, {{ttl_minutes}}, {{purpose}}, {{amount}}, {{payee}}',
    'template must contain {{code}}',
  ]);
  assert.ok(validateTemplate('{{code}} {{}}').includes('template has an empty {{}} placeholder'));
});

test('validateTemplate finds unbalanced braces', () => {
  const unbalanced = 'template has unbalanced braces: write variables as {{name}}';
  for (const template of ['{{code}', '{code}}', '{{code', 'code}}', '{code}', '{{{code}}}', '{{code}} {', '{{code}} }', '{{code}} {{app_name}']) {
    assert.ok(validateTemplate(template).includes(unbalanced), template);
  }
  assert.ok(validateTemplate('{{code}').includes('template must contain {{code}}'));
  assert.equal(validateTemplate('{{code}} {{app_name}}').includes(unbalanced), false);
});

test('renderTemplate replaces variables, with inner spaces, in one pass', () => {
  assert.equal(
    renderTemplate('{{code}}|{{ code }}|{{  app_name\t}}|{{ttl_minutes}}|{{purpose}}', vars),
    '123456|123456|Acme|5|login',
  );
  // values are inserted literally: no $-patterns, no second expansion
  assert.equal(renderTemplate('{{app_name}}: {{code}}', { ...vars, app_name: "$& $' $1 {{code}}" }), "$& $' $1 {{code}}: 123456");
  // unknown placeholders are left as they are
  assert.equal(renderTemplate('{{code}} {{other}}', vars), '123456 {{other}}');
  assert.equal(renderTemplate('no variables', vars), 'no variables');
});

test('composeOtpMessage without extras is the rendered template', () => {
  assert.equal(composeOtpMessage({ template: 'Code {{code}}', vars }), 'Code 123456');
  assert.equal(composeOtpMessage({ template: 'Code {{code}}', vars, webotpDomain: null, androidAppHash: null }), 'Code 123456');
  assert.equal(composeOtpMessage({ template: 'Code {{code}}', vars, webotpDomain: '', androidAppHash: '' }), 'Code 123456');
});

test('composeOtpMessage puts the WebOTP line last, after a blank line', () => {
  const text = composeOtpMessage({ template: 'Your OTP is: {{code}}.', vars, webotpDomain: 'example.com' });
  assert.equal(text, 'Your OTP is: 123456.\n\n@example.com #123456');
  // trailing whitespace of the template does not push the line away from the end
  assert.equal(
    composeOtpMessage({ template: 'Your OTP is: {{code}}.\n\n', vars, webotpDomain: 'example.com' }),
    'Your OTP is: 123456.\n\n@example.com #123456',
  );
});

test('composeOtpMessage puts the Android hash on its own line, before the WebOTP line', () => {
  assert.equal(
    composeOtpMessage({ template: 'Code {{code}}', vars, androidAppHash: 'FA+9qCX9VSu' }),
    'Code 123456\n\nFA+9qCX9VSu',
  );
  const both = composeOtpMessage({ template: 'Code {{code}}', vars, androidAppHash: 'FA+9qCX9VSu', webotpDomain: 'app.example.org' });
  assert.equal(both, 'Code 123456\n\nFA+9qCX9VSu\n\n@app.example.org #123456');
  const lines = both.split('\n');
  assert.equal(lines.at(-1), '@app.example.org #123456');
});

test('resolveLocale: exact, then language, then same-language region, then en', () => {
  const available = ['en', 'pt', 'fr-CA', 'de_DE', 'zh-Hant'];
  assert.equal(resolveLocale('pt', available), 'pt');
  assert.equal(resolveLocale('PT', available), 'pt');
  assert.equal(resolveLocale('pt-BR', available), 'pt');
  assert.equal(resolveLocale('pt_br', available), 'pt');
  assert.equal(resolveLocale('fr-ca', available), 'fr-CA');
  assert.equal(resolveLocale('fr_CA', available), 'fr-CA');
  assert.equal(resolveLocale('de-DE', available), 'de_DE', 'returns the entry as spelled in available');
  assert.equal(resolveLocale('fr', available), 'fr-CA');
  assert.equal(resolveLocale('fr-FR', available), 'fr-CA');
  assert.equal(resolveLocale('zh-Hant-TW', available), 'zh-Hant');
  assert.equal(resolveLocale('ja', available), 'en');
  assert.equal(resolveLocale(undefined, available), 'en');
  assert.equal(resolveLocale('', available), 'en');
  assert.equal(resolveLocale('ja', ['fr', 'de']), undefined);
  assert.equal(resolveLocale(undefined, []), undefined);
  assert.equal(resolveLocale('ja', ['EN-us', 'fr']), 'EN-us');
  // language part is preferred over another region of the same language
  assert.equal(resolveLocale('pt-BR', ['pt-PT', 'pt']), 'pt');
  // exact region is preferred over the bare language
  assert.equal(resolveLocale('pt-PT', ['pt', 'pt-PT']), 'pt-PT');
});

test('isValidLocale', () => {
  for (const v of ['en', 'pt-BR', 'zh-Hant-TW', 'fil', 'es-419', 'en-gb']) assert.ok(isValidLocale(v), v);
  for (const v of ['', 'e', 'EN', 'english', 'pt_BR', 'pt-', 'pt-B', 'en-abcdefghi', 'en US', 'en-US ']) assert.equal(isValidLocale(v), false, v);
});

test('isValidPurpose', () => {
  for (const v of ['login', 'mfa', 'password_reset', 'checkout_2fa', 'a', 'a'.repeat(32)]) assert.ok(isValidPurpose(v), v);
  for (const v of ['', 'Login', '2fa', '_x', 'a-b', 'a b', 'a'.repeat(33), 'ü']) assert.equal(isValidPurpose(v), false, v);
});

test('maskCode replaces every occurrence with ASCII stars of the same length', () => {
  assert.equal(maskCode('123456 is your code.\n\n@example.com #123456', '123456'), '****** is your code.\n\n@example.com #******');
  assert.equal(maskCode('code 0042', '0042'), 'code ****');
  assert.equal(maskCode('nothing here', '9999'), 'nothing here');
  assert.equal(maskCode('text', ''), 'text');
  const masked = maskCode(composeOtpMessage({ template: defaultTemplates.login, vars, webotpDomain: 'a.example' }), vars.code);
  assert.ok(!masked.includes(vars.code));
  assert.match(masked, /^\*{6} is your Acme login code/);
});
