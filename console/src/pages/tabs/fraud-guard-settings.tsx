import { useState, type FormEvent } from 'react';
import type { Tenant } from '../../api/types.js';
import { errorText } from '../../api/client.js';
import { useApi } from '../../session.js';
import { Alert, Button, Section, TextAreaField, TextField, issuesByPath } from '../../components/ui.js';
import {
  blockMinutesRule,
  defaultBlockedNumberTypes,
  defaultThresholds,
  G,
  guardIssues,
  guardPayload,
  guardToForm,
  modes,
  numberTypeLabels,
  numberTypes,
  prefixDigitsRule,
  SAFE_LIST_MAX,
  thresholdRules,
  validateGuard,
  type Errors,
  type GuardForm,
} from '../../domain/fraud-guard.js';

const range = (r: { min: number; max: number }) => `${r.min.toLocaleString('en')}–${r.max.toLocaleString('en')}`;

/** Every path a field of this form shows; a server issue on another path goes in the summary. */
const fieldPaths = new Set([
  `${G}.mode`,
  `${G}.blocked_number_types`,
  `${G}.blocked_countries`,
  `${G}.safe_list`,
  `${G}.prefix_digits`,
  `${G}.block_minutes`,
  ...thresholdRules.flatMap((r) => r.fields.map((f) => `${G}.thresholds.${r.rule}.${f.key}`)),
]);

/**
 * Mode, static policy (number types, countries), safe list, block length and every
 * tripwire's thresholds. Saved as one whole `fraud_guard` object, which the server stores in
 * place of the previous one.
 */
export function GuardSettingsForm({ tenant, onTenantChange }: { tenant: Tenant; onTenantChange(t: Tenant): void }) {
  const api = useApi();
  const [form, setForm] = useState<GuardForm>(() => guardToForm(tenant.settings.fraud_guard));
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: true; changed: boolean } | { ok: false; error: unknown; others: [string, string][] } | null>(null);

  const update = (patch: Partial<GuardForm>, clear: string[]) => {
    setForm((f) => ({ ...f, ...patch }));
    setErrors((e) => {
      const n = { ...e };
      for (const k of clear) delete n[k];
      return n;
    });
  };
  const setThreshold = (rule: string, key: string, value: string) =>
    update({ thresholds: { ...form.thresholds, [rule]: { ...form.thresholds[rule], [key]: value } } }, [`${G}.thresholds.${rule}.${key}`]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setResult(null);
    const errs = validateGuard(form);
    setErrors(errs);
    if (Object.keys(errs).length > 0) {
      requestAnimationFrame(() => document.querySelector<HTMLElement>('.fg-settings-form [aria-invalid="true"]')?.focus());
      return;
    }
    const payload = guardPayload(form);
    if (JSON.stringify(payload) === JSON.stringify(guardPayload(guardToForm(tenant.settings.fraud_guard)))) {
      setResult({ ok: true, changed: false });
      return;
    }
    setBusy(true);
    try {
      const t = await api.call('PATCH /v1/tenants/{id}', { params: { id: tenant.id }, body: { settings: { fraud_guard: payload } } });
      onTenantChange(t);
      setForm(guardToForm(t.settings.fraud_guard));
      setResult({ ok: true, changed: true });
    } catch (err) {
      const issues = guardIssues(issuesByPath(err), payload);
      setErrors(issues);
      setResult({ ok: false, error: err, others: Object.entries(issues).filter(([p]) => !fieldPaths.has(p)) });
    } finally {
      setBusy(false);
    }
  };

  const invalid = Object.keys(errors).length > 0;

  return (
    <form className="fg-settings-form" onSubmit={(e) => void save(e)} noValidate aria-label="Fraud guard settings">
      <Section title="Guard settings" description="What the guard does with the sends its rules catch, what it never sends to, and when each tripwire fires.">
        <fieldset className="fieldset">
          <legend>Mode</legend>
          <div className="choice-grid">
            {modes.map((m) => (
              <label key={m.value} className={`choice${form.mode === m.value ? ' choice-on' : ''}`}>
                <input type="radio" name="fg-mode" value={m.value} checked={form.mode === m.value} onChange={() => update({ mode: m.value }, [`${G}.mode`])} />
                <span>
                  <span className="strong">{m.label}</span> <code className="muted small">{m.value}</code>
                  <span className="help">{m.help}</span>
                </span>
              </label>
            ))}
          </div>
          {errors[`${G}.mode`] ? <p className="field-error">{errors[`${G}.mode`]}</p> : null}
        </fieldset>

        <fieldset className="fieldset">
          <legend>Blocked number types</legend>
          <p className="help">Sends to numbers of these types are refused in enforce and recorded in record_only (libphonenumber’s offline data). Blocked by default: {defaultBlockedNumberTypes.map((t) => numberTypeLabels[t].toLowerCase()).join(', ')}.</p>
          <div className="check-grid">
            {numberTypes.map((t) => (
              <label key={t} className="check">
                <input
                  type="checkbox"
                  checked={form.blocked_number_types.includes(t)}
                  onChange={(e) =>
                    update({ blocked_number_types: e.target.checked ? [...form.blocked_number_types, t] : form.blocked_number_types.filter((x) => x !== t) }, [`${G}.blocked_number_types`])
                  }
                />
                <span>
                  {numberTypeLabels[t]} <code className="muted small">{t}</code>
                </span>
              </label>
            ))}
          </div>
          {errors[`${G}.blocked_number_types`] ? <p className="field-error">{errors[`${G}.blocked_number_types`]}</p> : null}
        </fieldset>

        <div className="grid-2">
          <TextField
            label="Blocked countries"
            id="fg-blocked_countries"
            value={form.blocked_countries}
            onChange={(e) => update({ blocked_countries: e.target.value }, [`${G}.blocked_countries`])}
            placeholder="NG, VN"
            help="ISO 3166-1 alpha-2 codes, separated by commas or spaces: sends there are refused in enforce, recorded in record_only. At most 250."
            error={errors[`${G}.blocked_countries`]}
          />
          <TextAreaField
            label="Safe list"
            id="fg-safe_list"
            value={form.safe_list}
            rows={3}
            onChange={(e) => update({ safe_list: e.target.value }, [`${G}.safe_list`])}
            placeholder={'+447700900123\n+3361234'}
            help={`E.164 numbers or prefixes, one a line: never blocked by a tripwire (budgets and number types still apply). At most ${SAFE_LIST_MAX.toLocaleString('en')}.`}
            error={errors[`${G}.safe_list`]}
          />
          <TextField
            label="Prefix digits"
            id="fg-prefix_digits"
            type="text"
            inputMode="numeric"
            value={form.prefix_digits}
            onChange={(e) => update({ prefix_digits: e.target.value }, [`${G}.prefix_digits`])}
            help={`A number range is the number less this many last digits. ${range(prefixDigitsRule)}, default 4.`}
            error={errors[`${G}.prefix_digits`]}
            required
          />
          <TextField
            label="Block length (minutes)"
            id="fg-block_minutes"
            type="text"
            inputMode="numeric"
            value={form.block_minutes}
            onChange={(e) => update({ block_minutes: e.target.value }, [`${G}.block_minutes`])}
            help={`A first block; a repeat within 24 h doubles it, up to 12 h. ${range(blockMinutesRule)}, default 15.`}
            error={errors[`${G}.block_minutes`]}
            required
          />
        </div>

        <h3>Thresholds</h3>
        <p className="muted small">Unverified codes are those sent and not (yet) verified; verified codes count in the hour they were sent.</p>
        <div className="threshold-grid">
          {thresholdRules.map((r) => (
            <fieldset key={r.rule} className="fieldset threshold">
              <legend>
                {r.title} <code className="muted small">{r.rule}</code>
              </legend>
              <p className="help">{r.help}</p>
              <div className="threshold-fields">
                {r.fields.map((f) => (
                  <TextField
                    key={f.key}
                    label={
                      <>
                        <span className="sr-only">{r.title}: </span>
                        {f.label}
                      </>
                    }
                    id={`fg-${r.rule}-${f.key}`}
                    type="text"
                    inputMode={f.integer ? 'numeric' : 'decimal'}
                    value={form.thresholds[r.rule]?.[f.key] ?? ''}
                    onChange={(e) => setThreshold(r.rule, f.key, e.target.value)}
                    help={`${range(f)}${f.integer ? '' : ', decimals allowed'}; default ${(defaultThresholds[r.rule] as unknown as Record<string, number>)[f.key]}`}
                    error={errors[`${G}.thresholds.${r.rule}.${f.key}`]}
                    required
                  />
                ))}
              </div>
            </fieldset>
          ))}
        </div>

        <div className="form-actions">
          <Button type="submit" busy={busy}>
            {busy ? 'Saving…' : 'Save guard settings'}
          </Button>
          <Button
            variant="secondary"
            disabled={busy}
            onClick={() => {
              setForm(guardToForm(tenant.settings.fraud_guard));
              setErrors({});
              setResult(null);
            }}
          >
            Discard changes
          </Button>
        </div>
        <div aria-live="polite" data-testid="fg-settings-result">
          {result?.ok ? (
            <Alert kind="success" onDismiss={() => setResult(null)}>
              {result.changed ? 'Guard settings saved.' : 'Nothing changed.'}
            </Alert>
          ) : null}
          {result && !result.ok ? (
            <Alert kind="error" title="Not saved">
              <p>{errorText(result.error)}</p>
              {result.others.length > 0 ? (
                <ul>
                  {result.others.map(([p, m]) => (
                    <li key={p}>
                      <code>{p}</code>: {m}
                    </li>
                  ))}
                </ul>
              ) : null}
            </Alert>
          ) : null}
          {!result && invalid ? <Alert kind="error">Not saved: some settings are not valid, see the fields marked above.</Alert> : null}
        </div>
      </Section>
    </form>
  );
}
