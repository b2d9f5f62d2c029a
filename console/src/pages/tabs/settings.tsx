import { useState, type FormEvent } from 'react';
import type { TenantSettings, TenantSettingsPatch, TestNumber } from '../../api/types.js';
import { errorText } from '../../api/client.js';
import { useApi, usePermissions } from '../../session.js';
import { Alert, Button, Section, SelectField, TextField, issuesByPath } from '../../components/ui.js';
import {
  checkAppHash,
  checkCountries,
  checkInt,
  checkLocale,
  checkOptionalText,
  checkTestNumber,
  checkWebotp,
  intRules,
  parseCountries,
} from '../../domain/settings.js';
import type { TabProps } from '../tenant.js';
import { DeleteTenant } from '../../components/delete-tenant.js';

interface FormState {
  name: string;
  ints: Record<string, string>;
  countries: string;
  app_name: string;
  sender_id: string;
  webotp_domain: string;
  android_app_hash: string;
  default_locale: string;
  resend_policy: TenantSettings['resend_policy'];
  code_alphabet: TenantSettings['code_alphabet'];
  test_numbers: TestNumber[];
}

function toForm(name: string, s: TenantSettings): FormState {
  return {
    name,
    ints: Object.fromEntries(intRules.map((r) => [r.key, String(s[r.key])])),
    countries: s.allowed_countries.join(', '),
    app_name: s.app_name ?? '',
    sender_id: s.sender_id ?? '',
    webotp_domain: s.webotp_domain ?? '',
    android_app_hash: s.android_app_hash ?? '',
    default_locale: s.default_locale,
    resend_policy: s.resend_policy,
    code_alphabet: s.code_alphabet,
    test_numbers: s.test_numbers.map((t) => ({ ...t })),
  };
}

type Errors = Record<string, string>;

function validate(f: FormState): Errors {
  const e: Errors = {};
  if (f.name.trim() === '') e['name'] = 'required';
  else if (f.name.trim().length > 100) e['name'] = 'at most 100 characters';
  for (const r of intRules) {
    const msg = checkInt(r, f.ints[r.key] ?? '');
    if (msg) e[`settings.${r.key}`] = msg;
  }
  const c = checkCountries(parseCountries(f.countries));
  if (c) e['settings.allowed_countries'] = c;
  const a = checkOptionalText(f.app_name.trim(), 40);
  if (a) e['settings.app_name'] = a;
  const s = checkOptionalText(f.sender_id.trim(), 17);
  if (s) e['settings.sender_id'] = s;
  const w = checkWebotp(f.webotp_domain.trim());
  if (w) e['settings.webotp_domain'] = w;
  const h = checkAppHash(f.android_app_hash.trim());
  if (h) e['settings.android_app_hash'] = h;
  const l = checkLocale(f.default_locale.trim());
  if (l) e['settings.default_locale'] = l;
  if (f.test_numbers.length > 100) e['settings.test_numbers'] = 'at most 100 test numbers';
  f.test_numbers.forEach((t, i) => {
    const te = checkTestNumber(t);
    if (te.phone_number) e[`settings.test_numbers.${i}.phone_number`] = te.phone_number;
    if (te.code) e[`settings.test_numbers.${i}.code`] = te.code;
  });
  return e;
}

/** Only what changed, so the audit log says what the operator did. Empty text clears a setting. */
function diff(f: FormState, s: TenantSettings): TenantSettingsPatch {
  const p: TenantSettingsPatch = {};
  const set = <K extends keyof TenantSettings>(k: K, v: TenantSettings[K] | null) => {
    if (JSON.stringify(v) !== JSON.stringify(s[k])) (p as Record<string, unknown>)[k] = v;
  };
  for (const r of intRules) set(r.key, Number(f.ints[r.key]) as never);
  set('allowed_countries', [...new Set(parseCountries(f.countries))]);
  set('app_name', f.app_name.trim() || null);
  set('sender_id', f.sender_id.trim() || null);
  set('webotp_domain', f.webotp_domain.trim().toLowerCase() || null);
  set('android_app_hash', f.android_app_hash.trim() || null);
  set('default_locale', f.default_locale.trim());
  set('resend_policy', f.resend_policy);
  set('code_alphabet', f.code_alphabet);
  set(
    'test_numbers',
    f.test_numbers.map((t) => ({ phone_number: t.phone_number.trim(), code: t.code.trim() })),
  );
  return p;
}

export function SettingsTab({ tenant, onTenantChange }: TabProps) {
  const api = useApi();
  const can = usePermissions();
  const [form, setForm] = useState<FormState>(() => toForm(tenant.name, tenant.settings));
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: true; changed: number } | { ok: false; error: unknown } | null>(null);

  const update = (patch: Partial<FormState>, clear: string[] = []) => {
    setForm((f) => ({ ...f, ...patch }));
    if (clear.length) {
      setErrors((e) => {
        const n = { ...e };
        for (const k of clear) delete n[k];
        return n;
      });
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const errs = validate(form);
    setErrors(errs);
    setResult(null);
    if (Object.keys(errs).length > 0) {
      requestAnimationFrame(() => document.querySelector<HTMLElement>('.settings-form [aria-invalid="true"]')?.focus());
      return;
    }
    const settings = diff(form, tenant.settings);
    const name = form.name.trim() !== tenant.name ? form.name.trim() : undefined;
    const changed = Object.keys(settings).length + (name ? 1 : 0);
    if (changed === 0) {
      setResult({ ok: true, changed: 0 });
      return;
    }
    setBusy(true);
    try {
      const t = await api.call('PATCH /v1/tenants/{id}', { params: { id: tenant.id }, body: { ...(name ? { name } : {}), settings } });
      onTenantChange(t);
      setForm(toForm(t.name, t.settings));
      setResult({ ok: true, changed });
    } catch (err) {
      setErrors(issuesByPath(err));
      setResult({ ok: false, error: err });
    } finally {
      setBusy(false);
    }
  };

  const err = (k: string) => errors[k] ?? errors[k.replace(/^settings\./, '')];

  return (
    <>
    <form className="settings-form" onSubmit={(e) => void save(e)} noValidate>
      <Section title="General">
        <div className="grid-2">
          <TextField label="Tenant name" id="set-name" value={form.name} maxLength={100} onChange={(e) => update({ name: e.target.value }, ['name'])} error={err('name')} required />
          <TextField
            label="App name"
            id="set-app_name"
            value={form.app_name}
            onChange={(e) => update({ app_name: e.target.value }, ['settings.app_name'])}
            help={`Shown in messages as {{app_name}}. Empty = the tenant name. At most 40 characters.`}
            error={err('settings.app_name')}
          />
          <TextField
            label="Sender ID"
            id="set-sender_id"
            value={form.sender_id}
            onChange={(e) => update({ sender_id: e.target.value }, ['settings.sender_id'])}
            help="Alphanumeric sender or number, when the provider config sets none. At most 17 characters."
            error={err('settings.sender_id')}
          />
          <TextField
            label="Default locale"
            id="set-default_locale"
            value={form.default_locale}
            onChange={(e) => update({ default_locale: e.target.value }, ['settings.default_locale'])}
            help="Template locale when a send names none, such as en or pt-BR."
            error={err('settings.default_locale')}
            required
          />
        </div>
      </Section>

      <Section title="Codes and limits">
        <div className="grid-3">
          {intRules.map((r) => (
            <TextField
              key={r.key}
              label={`${r.label}${r.unit ? ` (${r.unit})` : ''}`}
              id={`set-${r.key}`}
              type="number"
              inputMode="numeric"
              min={r.min}
              max={r.max}
              step={1}
              value={form.ints[r.key] ?? ''}
              onChange={(e) => update({ ints: { ...form.ints, [r.key]: e.target.value } }, [`settings.${r.key}`])}
              help={`${r.help} ${r.min}–${r.max.toLocaleString('en')}.`}
              error={err(`settings.${r.key}`)}
              required
            />
          ))}
        </div>
        <div className="grid-3">
          <SelectField
            label="A resend while the code is valid"
            id="set-resend_policy"
            value={form.resend_policy}
            onChange={(e) => update({ resend_policy: e.target.value as FormState['resend_policy'] }, ['settings.resend_policy'])}
            help="The same code again, so a late SMS still works; or a new code (the last few stay valid)."
            error={err('settings.resend_policy')}
          >
            <option value="same_code">sends the same code</option>
            <option value="new_code">sends a new code</option>
          </SelectField>
          <SelectField
            label="Code characters"
            id="set-code_alphabet"
            value={form.code_alphabet}
            onChange={(e) => update({ code_alphabet: e.target.value as FormState['code_alphabet'] }, ['settings.code_alphabet'])}
            help="Letters and digits need no look-alikes (no 0/O, 1/I/L); a user types them in either case."
            error={err('settings.code_alphabet')}
          >
            <option value="digits">digits</option>
            <option value="alphanumeric">letters and digits</option>
          </SelectField>
        </div>
      </Section>

      <Section title="Countries">
        <TextField
          label="Allowed countries"
          id="set-allowed_countries"
          value={form.countries}
          onChange={(e) => update({ countries: e.target.value }, ['settings.allowed_countries'])}
          placeholder="US, GB, IN"
          help="ISO 3166-1 alpha-2 codes, separated by commas or spaces. Empty = every country."
          error={err('settings.allowed_countries')}
        />
      </Section>

      <Section title="Autofill (WebOTP and Android)">
        <div className="grid-2">
          <TextField
            label="WebOTP domain"
            id="set-webotp_domain"
            value={form.webotp_domain}
            onChange={(e) => update({ webotp_domain: e.target.value }, ['settings.webotp_domain'])}
            placeholder="example.com"
            help={'Adds the last line "@domain #code" so browsers offer the code to your site. Host name only.'}
            error={err('settings.webotp_domain')}
          />
          <TextField
            label="Android app hash"
            id="set-android_app_hash"
            value={form.android_app_hash}
            onChange={(e) => update({ android_app_hash: e.target.value }, ['settings.android_app_hash'])}
            placeholder="FA+9qCX9VSu"
            maxLength={11}
            help="The 11-character SMS Retriever hash of your Android app; added on its own line."
            error={err('settings.android_app_hash')}
          />
        </div>
      </Section>

      <TestNumbers
        numbers={form.test_numbers}
        errors={errors}
        onChange={(test_numbers, clear) => update({ test_numbers }, clear)}
      />

      <div className="form-actions sticky-actions">
        <Button type="submit" busy={busy}>
          {busy ? 'Saving…' : 'Save settings'}
        </Button>
        <Button
          variant="secondary"
          disabled={busy}
          onClick={() => {
            setForm(toForm(tenant.name, tenant.settings));
            setErrors({});
            setResult(null);
          }}
        >
          Discard changes
        </Button>
      </div>
      <div aria-live="polite" className="save-result">
        {result?.ok ? (
          <Alert kind="success" onDismiss={() => setResult(null)}>
            {result.changed === 0 ? 'Nothing changed.' : 'Settings saved.'}
          </Alert>
        ) : null}
        {result && !result.ok ? (
          <Alert kind="error" title="Not saved">
            <p>{errorText(result.error)}</p>
          </Alert>
        ) : null}
        {!result && Object.keys(errors).length > 0 ? <Alert kind="error">Some settings are not valid: see the fields marked above.</Alert> : null}
      </div>
    </form>
    {can.platform ? <DeleteTenant tenant={tenant} /> : null}
    </>
  );
}

function TestNumbers({ numbers, errors, onChange }: { numbers: TestNumber[]; errors: Errors; onChange(n: TestNumber[], clear: string[]): void }) {
  const setAt = (i: number, patch: Partial<TestNumber>) => {
    const next = numbers.map((t, j) => (j === i ? { ...t, ...patch } : t));
    onChange(next, Object.keys(patch).map((k) => `settings.test_numbers.${i}.${k}`));
  };
  return (
    <Section title="Test numbers" description="Numbers that get a fixed code and no SMS: for app-store reviewers and automated tests.">
      {numbers.length === 0 ? <p className="muted">No test numbers.</p> : null}
      <ul className="rows">
        {numbers.map((t, i) => (
          <li key={i} className="row-item">
            <p className="row-title" aria-hidden="true">
              Test number {i + 1}
            </p>
            <TextField
              label={
                <>
                  <span className="sr-only">Test number {i + 1}: </span>Phone number
                </>
              }
              id={`set-test-${i}-phone`}
              type="tel"
              value={t.phone_number}
              onChange={(e) => setAt(i, { phone_number: e.target.value })}
              placeholder="+15005550006"
              error={errors[`settings.test_numbers.${i}.phone_number`]}
            />
            <TextField
              label={
                <>
                  <span className="sr-only">Test number {i + 1}: </span>Code
                </>
              }
              id={`set-test-${i}-code`}
              inputMode="numeric"
              value={t.code}
              onChange={(e) => setAt(i, { code: e.target.value })}
              placeholder="123456"
              error={errors[`settings.test_numbers.${i}.code`]}
            />
            <Button variant="ghost" className="row-remove" onClick={() => onChange(numbers.filter((_, j) => j !== i), Object.keys(errors).filter((k) => k.startsWith('settings.test_numbers')))} aria-label={`Remove test number ${i + 1}`}>
              Remove
            </Button>
          </li>
        ))}
      </ul>
      <Button variant="secondary" onClick={() => onChange([...numbers, { phone_number: '', code: '' }], [])} disabled={numbers.length >= 100}>
        Add a test number
      </Button>
      {errors['settings.test_numbers'] ? <p className="field-error">{errors['settings.test_numbers']}</p> : null}
    </Section>
  );
}
