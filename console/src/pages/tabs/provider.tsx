import { useEffect, useState, type FormEvent } from 'react';
import { SECRET_MASK, type ConfigField, type ProviderConfigPut, type ProviderKind, type ProviderSelection, type TestSmsResult } from '../../api/types.js';
import { errorText, isApiError } from '../../api/client.js';
import { useApi } from '../../session.js';
import { useAsync } from '../../components/hooks.js';
import { Alert, Button, ErrorState, Section, SelectField, Spinner, TextField, Time, issuesByPath } from '../../components/ui.js';
import { Link } from '../../router.js';
import type { TabProps } from '../tenant.js';
import { TestResult } from './test-sms.js';

type Slot = 'primary' | 'fallback';

interface SlotForm {
  /** Kind id; '' for "no fallback". */
  kind: string;
  values: Record<string, string>;
  /** Secret fields the server holds for this slot's stored kind (its GET shows the mask). */
  stored: Set<string>;
  /** The kind those stored secrets belong to: they are kept only while the kind is unchanged. */
  storedKind: string;
  /** The saved non-secret values of the stored kind (to tell when a secret's destination moved). */
  storedValues: Record<string, string>;
}

const emptySlot = (kind: string): SlotForm => ({ kind, values: {}, stored: new Set(), storedKind: '', storedValues: {} });

/**
 * The settings that decide which host a kind's secrets go to: `endpoint`, URL fields (a
 * gateway's `uri`) and the fields the server marks `destination` in GET /v1/provider-kinds. The
 * server keeps a stored secret only while these are unchanged (src/services/provider-config-service.ts).
 */
/** The destination settings of the slot's kind that differ from the saved ones (labels). */
function movedDestination(slot: SlotForm, kind: ProviderKind | undefined): string[] {
  if (!kind || slot.storedKind !== slot.kind) return [];
  const names = new Set(['endpoint', ...kind.fields.filter((f) => f.type === 'url' || f.destination).map((f) => f.name)]);
  const value = (vals: Record<string, string>, f: ConfigField) => (vals[f.name] ?? '').trim() || (f.default ?? '');
  return kind.fields.filter((f) => names.has(f.name) && value(slot.values, f) !== value(slot.storedValues, f)).map((f) => f.label.replace(/ \(optional\)$/, ''));
}

function slotFromView(view: ProviderSelection | null | undefined, kinds: ProviderKind[]): SlotForm {
  if (!view) return emptySlot('');
  const k = kinds.find((x) => x.id === view.provider);
  const form = emptySlot(view.provider);
  if (!k?.configKey) return form;
  const cfg = (view[k.configKey] ?? {}) as Record<string, unknown>;
  for (const f of k.fields) {
    const v = cfg[f.name];
    if (f.type === 'secret') {
      if (v === SECRET_MASK) form.stored.add(f.name);
    } else if (typeof v === 'string' || typeof v === 'number') form.values[f.name] = String(v);
  }
  form.storedKind = view.provider;
  form.storedValues = { ...form.values };
  return form;
}

function defaultsFor(kind: ProviderKind | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of kind?.fields ?? []) if (f.default !== undefined) out[f.name] = f.default;
  return out;
}

/** A secret the server holds for this slot and keeps if the field is left blank. */
function isStored(slot: SlotForm, field: ConfigField, kind: ProviderKind | undefined): boolean {
  if (field.type !== 'secret' || slot.storedKind !== slot.kind || !slot.stored.has(field.name)) return false;
  return field.unsent === true || movedDestination(slot, kind).length === 0;
}

/** A stored secret that must be typed again because its destination changed. */
function mustRetype(slot: SlotForm, field: ConfigField, kind: ProviderKind | undefined): boolean {
  return field.type === 'secret' && slot.storedKind === slot.kind && slot.stored.has(field.name) && !isStored(slot, field, kind);
}

/** Client-side checks: required fields and URLs. The server has the last word. */
function checkSlot(slot: SlotForm, kind: ProviderKind | undefined): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const f of kind?.fields ?? []) {
    const v = (slot.values[f.name] ?? '').trim();
    if (f.required && v === '' && !isStored(slot, f, kind)) errors[f.name] = 'required';
    if (v === '' && mustRetype(slot, f, kind)) errors[f.name] = `type it again: ${movedDestination(slot, kind).join(', ')} changed, and a stored secret is only sent where it was saved for`;
    if (v !== '' && f.type === 'url') {
      try {
        const u = new URL(v);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') errors[f.name] = 'must be an http(s) URL';
      } catch {
        errors[f.name] = 'must be a full URL such as https://sms.example.com/send';
      }
    }
  }
  return errors;
}

export function buildSelection(slot: SlotForm, kind: ProviderKind): ProviderSelection {
  if (!kind.configKey) return { provider: kind.id };
  const cfg: Record<string, string> = {};
  for (const f of kind.fields) {
    const raw = slot.values[f.name] ?? '';
    if (f.type === 'secret') {
      // Left blank: the stored secret is kept (the server fills it in for the same kind).
      if (raw !== '') cfg[f.name] = raw;
    } else if (raw.trim() !== '') cfg[f.name] = raw.trim();
  }
  return { provider: kind.id, [kind.configKey]: cfg };
}

/** Maps a server issue path (`fallback.custom_gateway.uri`) to the slot and field it names. */
function fieldIssues(error: unknown, kinds: ProviderKind[], slots: Record<Slot, SlotForm>) {
  const bySlot: Record<Slot, Record<string, string>> = { primary: {}, fallback: {} };
  const other: string[] = [];
  for (const [path, message] of Object.entries(issuesByPath(error))) {
    let rest = path;
    let slot: Slot = 'primary';
    if (rest.startsWith('fallback.')) {
      slot = 'fallback';
      rest = rest.slice('fallback.'.length);
    }
    const kind = kinds.find((k) => k.id === slots[slot].kind);
    const prefix = kind?.configKey ? `${kind.configKey}.` : '';
    const field = prefix && rest.startsWith(prefix) ? rest.slice(prefix.length).split('.')[0] : undefined;
    if (field && kind?.fields.some((f) => f.name === field)) bySlot[slot][field] = message;
    else other.push(`${path}: ${message}`);
  }
  return { bySlot, other };
}

export function ProviderTab({ tenant }: TabProps) {
  const api = useApi();
  const data = useAsync(
    async (signal) => {
      const [kinds, config] = await Promise.all([
        api.call('GET /v1/provider-kinds', { signal }),
        api.call('GET /cis/v1/tenantsmsproviders', { tenant: tenant.id, signal }),
      ]);
      return { kinds: kinds.items, config };
    },
    [api, tenant.id],
  );
  const [slots, setSlots] = useState<Record<Slot, SlotForm>>({ primary: emptySlot(''), fallback: emptySlot('') });
  const [clientErrors, setClientErrors] = useState<Record<Slot, Record<string, string>>>({ primary: {}, fallback: {} });
  const [saving, setSaving] = useState(false);
  const [result, setResult] = useState<{ ok: true; at: string | null; checks: string[] } | { ok: false; error: unknown } | null>(null);
  const [tryPhone, setTryPhone] = useState('');
  const [trying, setTrying] = useState(false);
  const [tried, setTried] = useState<{ ok: true; result: TestSmsResult } | { ok: false; error: unknown } | null>(null);

  useEffect(() => {
    if (!data.data) return;
    const { kinds, config } = data.data;
    setSlots({ primary: slotFromView(config, kinds), fallback: slotFromView(config.fallback, kinds) });
  }, [data.data]);

  if (data.error && !data.data) return <ErrorState error={data.error} onRetry={data.reload} title="Could not load the provider configuration" />;
  if (!data.data) return <Spinner label="Loading the provider configuration…" />;
  const { kinds, config } = data.data;
  const kindOf = (slot: Slot) => kinds.find((k) => k.id === slots[slot].kind);

  const setKind = (slot: Slot, kind: string) => {
    setSlots((s) => {
      const prev = s[slot];
      const k = kinds.find((x) => x.id === kind);
      // Back to the stored kind: show its stored values again; another kind starts from its defaults.
      const storedView = slot === 'primary' ? config : config.fallback;
      const next = storedView && storedView.provider === kind ? slotFromView(storedView, kinds) : { ...emptySlot(kind), values: defaultsFor(k), stored: prev.stored, storedKind: prev.storedKind, storedValues: prev.storedValues };
      return { ...s, [slot]: next };
    });
    setClientErrors((e) => ({ ...e, [slot]: {} }));
    setResult(null);
  };

  const setValue = (slot: Slot, name: string, value: string) => {
    setSlots((s) => ({ ...s, [slot]: { ...s[slot], values: { ...s[slot].values, [name]: value } } }));
    setClientErrors((e) => {
      const rest = { ...e[slot] };
      delete rest[name];
      return { ...e, [slot]: rest };
    });
  };

  /** The form as a PUT body, or null (with the fields marked) when it does not pass the form's own checks. */
  const formBody = (): ProviderConfigPut | null => {
    const pk = kindOf('primary');
    const fk = kindOf('fallback');
    const errors = { primary: checkSlot(slots.primary, pk), fallback: slots.fallback.kind ? checkSlot(slots.fallback, fk) : {} };
    setClientErrors(errors);
    if (!pk) {
      setResult({ ok: false, error: new Error('Choose a provider.') });
      return null;
    }
    if (Object.keys(errors.primary).length + Object.keys(errors.fallback).length > 0) {
      setResult(null);
      const first = document.querySelector<HTMLElement>('[aria-invalid="true"]');
      first?.focus();
      return null;
    }
    return { ...buildSelection(slots.primary, pk), fallback: fk ? buildSelection(slots.fallback, fk) : null };
  };

  /** What saving checked, per provider: a live check (the gateway's challenge) or the format only. */
  const checksOf = (): string[] =>
    (['primary', 'fallback'] as const).flatMap((slot) => {
      const k = kindOf(slot);
      if (!k) return [];
      const what = slot === 'primary' ? 'Primary' : 'Fallback';
      if (k.id === 'Default' || k.id === 'Inbox') return [`${what}, ${k.displayName}: nothing to check.`];
      return k.live_check
        ? [`${what}, ${k.displayName}: checked live — the gateway answered its challenge with the key.`]
        : [`${what}, ${k.displayName}: format checked only — otpgate has not contacted ${k.displayName}, so the credentials are not proven yet.`];
    });

  /** Sends a test SMS through the form's settings as they are, without saving them. */
  const tryUnsaved = async () => {
    const body = formBody();
    if (!body) return;
    const phone = tryPhone.trim();
    if (!/^\+?[\d\s().-]{6,20}$/.test(phone)) {
      setTried({ ok: false, error: new Error('Enter a phone number in international format, such as +15551234567.') });
      return;
    }
    const { fallback: _fallback, ...primary } = body;
    setTrying(true);
    setTried(null);
    try {
      setTried({ ok: true, result: await api.call('POST /v1/sms-provider/test', { tenant: tenant.id, body: { phone_number: phone, config: primary as ProviderConfigPut } }) });
    } catch (err) {
      setTried({ ok: false, error: err });
    } finally {
      setTrying(false);
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const body = formBody();
    if (!body) return;
    setSaving(true);
    setResult(null);
    try {
      const checks = checksOf();
      const saved = await api.call('PUT /cis/v1/tenantsmsproviders', { tenant: tenant.id, body });
      data.setData({ kinds, config: saved });
      setResult({ ok: true, at: saved.updated_at, checks });
    } catch (err) {
      setResult({ ok: false, error: err });
    } finally {
      setSaving(false);
    }
  };

  const serverIssues = result && !result.ok ? fieldIssues(result.error, kinds, slots) : { bySlot: { primary: {}, fallback: {} }, other: [] };
  const errorsFor = (slot: Slot) => ({ ...serverIssues.bySlot[slot], ...clientErrors[slot] });

  return (
    <>
      <form onSubmit={(e) => void save(e)} noValidate className="provider-form">
        <Section
          title="SMS provider"
          description={
            <>
              Messages go through the primary provider; when it fails with a configuration or provider fault, the fallback is tried.{' '}
              {config.updated_at ? (
                <>
                  Last saved <Time iso={config.updated_at} />.
                </>
              ) : (
                'Not configured yet: the platform default is used.'
              )}
            </>
          }
        >
          <SlotFields slot="primary" title="Primary provider" kinds={kinds} form={slots.primary} errors={errorsFor('primary')} onKind={setKind} onValue={setValue} platformDefault={config.platform_default} />
          <SlotFields slot="fallback" title="Fallback provider" kinds={kinds} form={slots.fallback} errors={errorsFor('fallback')} onKind={setKind} onValue={setValue} platformDefault={config.platform_default} />
        </Section>

        <div className="form-actions sticky-actions">
          <Button type="submit" busy={saving}>
            {saving ? 'Validating and saving…' : 'Save provider'}
          </Button>
          <Button variant="secondary" onClick={() => data.reload()} disabled={saving}>
            Discard changes
          </Button>
        </div>
        <div aria-live="polite" className="save-result" data-testid="provider-result">
          {result?.ok ? (
            <Alert kind="success" title="Saved" onDismiss={() => setResult(null)}>
              <ul className="checks" data-testid="save-checks">
                {result.checks.map((c) => (
                  <li key={c}>{c}</li>
                ))}
              </ul>
              <p>
                <Link to={`/tenants/${encodeURIComponent(tenant.id)}/test-sms`}>Send a test SMS</Link> to check it end to end.
              </p>
            </Alert>
          ) : null}
          {result && !result.ok ? <SaveError error={result.error} other={serverIssues.other} /> : null}
        </div>
      </form>
      <Section title="Try before saving" description="Sends a test SMS now through the primary provider as the form has it, unsaved; secrets left blank use the saved ones. Nothing is saved.">
        <TextField
          label="Test phone number"
          id="provider-try-phone"
          type="tel"
          autoComplete="tel"
          inputMode="tel"
          placeholder="+15551234567"
          value={tryPhone}
          onChange={(e) => setTryPhone(e.target.value)}
          help="International format with the country code."
          addon={
            <Button variant="secondary" onClick={() => void tryUnsaved()} busy={trying} disabled={saving}>
              {trying ? 'Sending…' : 'Send a test SMS with these settings'}
            </Button>
          }
        />
        <div aria-live="polite" data-testid="provider-try-result">
          {tried && !tried.ok ? <ErrorState error={tried.error} title="The test SMS was not sent" /> : null}
          {tried?.ok ? <TestResult tenantId={tenant.id} result={tried.result} /> : null}
        </div>
      </Section>
    </>
  );
}

function SaveError({ error, other }: { error: unknown; other: string[] }) {
  if (isApiError(error) && error.code === 'provider.validation_failed') {
    const pe = error.problem['provider_error'] as { kind?: string; provider_code?: string | null; http_status?: number | null } | undefined;
    return (
      <Alert kind="error" title="Validation failed: nothing was saved">
        <p>{error.problem.detail ?? error.problem.title}</p>
        {pe ? (
          <dl className="kv compact">
            {pe.kind ? (
              <>
                <dt>Error kind</dt>
                <dd>{pe.kind}</dd>
              </>
            ) : null}
            {pe.http_status ? (
              <>
                <dt>HTTP status</dt>
                <dd>{pe.http_status}</dd>
              </>
            ) : null}
            {pe.provider_code ? (
              <>
                <dt>Provider code</dt>
                <dd>{pe.provider_code}</dd>
              </>
            ) : null}
          </dl>
        ) : null}
        <p className="muted small">The previous configuration is still in use.</p>
      </Alert>
    );
  }
  const hasFieldIssues = isApiError(error) && (error.problem.issues?.length ?? 0) > other.length;
  return (
    <Alert kind="error" title={hasFieldIssues ? 'Not saved: check the fields marked below' : 'Not saved'}>
      <p>{errorText(error)}</p>
      {other.length > 0 ? (
        <ul>
          {other.map((o) => (
            <li key={o}>{o}</li>
          ))}
        </ul>
      ) : null}
    </Alert>
  );
}

function SlotFields(props: {
  slot: Slot;
  title: string;
  kinds: ProviderKind[];
  form: SlotForm;
  errors: Record<string, string>;
  platformDefault: string | null;
  onKind(slot: Slot, kind: string): void;
  onValue(slot: Slot, name: string, value: string): void;
}) {
  const { slot, title, kinds, form, errors, onKind, onValue } = props;
  const kind = kinds.find((k) => k.id === form.kind);
  return (
    <fieldset className="fieldset">
      <legend>{title}</legend>
      <SelectField
        label={slot === 'primary' ? 'Provider' : 'Fallback provider'}
        id={`${slot}-kind`}
        value={form.kind}
        onChange={(e) => onKind(slot, e.target.value)}
        help={slot === 'fallback' ? 'Tried when the primary provider fails. Optional.' : kind && !kind.configKey ? 'The platform provider set by the operator; nothing to configure.' : undefined}
      >
        {slot === 'fallback' ? <option value="">No fallback</option> : null}
        {slot === 'primary' && form.kind === '' ? <option value="">Choose a provider…</option> : null}
        {kinds.map((k) => (
          <option key={k.id} value={k.id} disabled={k.available === false}>
            {k.displayName}
            {k.available === false ? ' (not available)' : ''}
          </option>
        ))}
      </SelectField>
      {kind && kind.fields.length > 0 ? (
        <div className="grid-2">
          {kind.fields.map((f) => (
            <ConfigInput
              key={`${kind.id}.${f.name}`}
              slot={slot}
              field={f}
              value={form.values[f.name] ?? ''}
              stored={isStored(form, f, kind)}
              retype={mustRetype(form, f, kind) ? movedDestination(form, kind) : null}
              error={errors[f.name]}
              onChange={(v) => onValue(slot, f.name, v)}
            />
          ))}
        </div>
      ) : null}
    </fieldset>
  );
}

function ConfigInput({
  slot,
  field,
  value,
  stored,
  retype,
  error,
  onChange,
}: {
  slot: Slot;
  field: ConfigField;
  value: string;
  stored: boolean;
  /** The changed destination settings, when this stored secret must be typed again. */
  retype: string[] | null;
  error: string | undefined;
  onChange(v: string): void;
}) {
  const id = `${slot}-${field.name}`;
  if (field.type === 'enum') {
    return (
      <SelectField label={field.label} id={id} value={value} onChange={(e) => onChange(e.target.value)} help={field.help} error={error} required={field.required}>
        {!field.required || value === '' ? <option value="">{field.required ? 'Choose…' : '(not set)'}</option> : null}
        {(field.options ?? []).map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </SelectField>
    );
  }
  if (field.type === 'secret') {
    return (
      <TextField
        label={field.label}
        id={id}
        type="password"
        autoComplete="new-password"
        spellCheck={false}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder={stored ? 'Stored — leave blank to keep it' : retype ? 'Type it again' : (field.placeholder ?? '')}
        help={
          <>
            {field.help ? `${field.help} ` : ''}
            Write-only: it is never shown again{stored ? '; type a new value to replace it' : ''}.
            {retype && !error && value === '' ? (
              <strong className="retype" data-testid={`${id}-retype`}>
                {' '}
                {retype.join(', ')} changed: type it again (a stored secret is only sent where it was saved for).
              </strong>
            ) : null}
          </>
        }
        badge={stored ? <span className="badge badge-stored" data-testid={`${id}-stored`}>stored</span> : null}
        error={error}
        required={(field.required && !stored) || retype !== null}
      />
    );
  }
  return (
    <TextField
      label={field.label}
      id={id}
      type={field.type === 'url' ? 'url' : 'text'}
      inputMode={field.type === 'url' ? 'url' : undefined}
      spellCheck={false}
      value={value}
      onChange={(e) => onChange(e.target.value)}
      placeholder={field.placeholder}
      help={field.help}
      error={error}
      required={field.required}
    />
  );
}
