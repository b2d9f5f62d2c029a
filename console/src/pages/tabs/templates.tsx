import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import type { TemplateView } from '../../api/types.js';
import { errorText, isApiError } from '../../api/client.js';
import { useApi } from '../../session.js';
import { useAsync } from '../../components/hooks.js';
import { Alert, Button, ConfirmDialog, ErrorState, Section, SelectField, Spinner, TextAreaField, TextField, Time } from '../../components/ui.js';
import { replaceAddress, setNavigationGuard } from '../../router.js';
import { analyzeSms } from '../../domain/encoding.js';
import { builtInPurposes, isValidLocale, isValidPurpose, maxTemplateLength, renderPreview, templateVariables, validateTemplate } from '../../domain/template.js';
import type { TabProps } from '../tenant.js';

const purposeLabels: Record<string, string> = { login: 'Login', verification: 'Phone verification', password_reset: 'Password reset', mfa: 'Multi-factor (MFA)' };
const LEAVE_QUESTION = 'The template text has unsaved changes. Leave and lose them?';

/** The purpose and locale named in the address (`?purpose=…&locale=…`, as the list of saved templates links them). */
function fromAddress(): { purpose?: string; locale?: string } {
  const q = new URLSearchParams(window.location.search);
  const purpose = q.get('purpose') ?? '';
  const locale = q.get('locale') ?? '';
  return { ...(isValidPurpose(purpose) ? { purpose } : {}), ...(isValidLocale(locale) ? { locale } : {}) };
}

export function TemplatesTab({ tenant }: TabProps) {
  const api = useApi();
  const list = useAsync((signal) => api.call('GET /v1/templates', { tenant: tenant.id, signal }), [api, tenant.id]);
  const [initial] = useState(fromAddress);
  const [purpose, setPurpose] = useState<string>(initial.purpose ?? 'login');
  const [customPurposes, setCustomPurposes] = useState<string[]>(initial.purpose && !(builtInPurposes as readonly string[]).includes(initial.purpose) ? [initial.purpose] : []);
  const [newPurpose, setNewPurpose] = useState('');
  const [newPurposeError, setNewPurposeError] = useState<string | null>(null);
  const [locale, setLocale] = useState(initial.locale ?? tenant.settings.default_locale);
  const [activeLocale, setActiveLocale] = useState(initial.locale ?? tenant.settings.default_locale);
  const [dirty, setDirty] = useState(false);
  /** A switch of purpose or locale waiting for the operator to agree to lose the edited text. */
  const [pending, setPending] = useState<{ purpose: string; locale: string } | null>(null);
  const editorRef = useRef<HTMLDivElement>(null);

  const apply = (next: { purpose: string; locale: string }, focusEditor = false) => {
    setPurpose(next.purpose);
    setLocale(next.locale);
    setActiveLocale(next.locale);
    setDirty(false);
    replaceAddress(`${window.location.pathname}?purpose=${encodeURIComponent(next.purpose)}&locale=${encodeURIComponent(next.locale)}`);
    if (focusEditor) setTimeout(() => editorRef.current?.querySelector('textarea')?.focus(), 0);
  };
  /** Switches the editor, asking first when its text has unsaved changes. */
  const choose = (next: { purpose: string; locale: string }, focusEditor = false) => {
    if (next.purpose === purpose && next.locale === activeLocale) {
      setLocale(next.locale);
      if (focusEditor) editorRef.current?.querySelector('textarea')?.focus();
      return;
    }
    if (dirty) setPending(next);
    else apply(next, focusEditor);
  };

  // The locale box loads a template once it holds a valid tag and typing pauses.
  useEffect(() => {
    if (!isValidLocale(locale) || locale === activeLocale) return;
    const t = setTimeout(() => choose({ purpose, locale }), 350);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [locale]);

  // Leaving the page (another tab of the console, or closing the browser tab) with edited text asks first.
  useEffect(() => {
    if (!dirty) return;
    const onUnload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', onUnload);
    const release = setNavigationGuard(() => window.confirm(LEAVE_QUESTION));
    return () => {
      window.removeEventListener('beforeunload', onUnload);
      release();
    };
  }, [dirty]);

  const saved = useMemo(() => [...(list.data?.items ?? [])].sort((a, b) => a.purpose.localeCompare(b.purpose) || a.locale.localeCompare(b.locale)), [list.data]);

  const purposes = useMemo(() => {
    const fromServer = (list.data?.items ?? []).map((i) => i.purpose);
    return [...new Set<string>([...builtInPurposes, ...fromServer, ...customPurposes])];
  }, [list.data, customPurposes]);
  const locales = useMemo(() => [...new Set([tenant.settings.default_locale, 'en', ...(list.data?.items ?? []).map((i) => i.locale)])], [list.data, tenant.settings.default_locale]);

  const addPurpose = (e: FormEvent) => {
    e.preventDefault();
    const p = newPurpose.trim();
    if (!isValidPurpose(p)) {
      setNewPurposeError('Lower-case letters, digits and _, starting with a letter (at most 32), such as checkout_2fa.');
      return;
    }
    setNewPurposeError(null);
    setCustomPurposes((c) => (c.includes(p) ? c : [...c, p]));
    choose({ purpose: p, locale: activeLocale });
    setNewPurpose('');
  };

  return (
    <div>
      <Section title="Templates" description="One message per purpose and locale. Variables: {{code}} (required), {{app_name}}, {{ttl_minutes}}, {{purpose}}.">
        <div className="grid-3 align-end">
          <SelectField label="Purpose" id="tpl-purpose" value={purpose} onChange={(e) => choose({ purpose: e.target.value, locale: activeLocale })}>
            {purposes.map((p) => (
              <option key={p} value={p}>
                {purposeLabels[p] ? `${purposeLabels[p]} (${p})` : p}
              </option>
            ))}
          </SelectField>
          <TextField
            label="Locale"
            id="tpl-locale"
            value={locale}
            list="tpl-locales"
            onChange={(e) => setLocale(e.target.value.trim())}
            error={isValidLocale(locale) ? null : 'must be a locale such as en or pt-BR'}
            help="Such as en, fr or pt-BR."
            spellCheck={false}
          />
          <datalist id="tpl-locales">
            {locales.map((l) => (
              <option key={l} value={l} />
            ))}
          </datalist>
          <form onSubmit={addPurpose} noValidate aria-label="Add a custom purpose">
            <TextField
              label="Add a custom purpose"
              id="tpl-new-purpose"
              value={newPurpose}
              onChange={(e) => setNewPurpose(e.target.value)}
              placeholder="checkout_2fa"
              error={newPurposeError}
              spellCheck={false}
              addon={
                <Button type="submit" variant="secondary">
                  Add
                </Button>
              }
            />
          </form>
        </div>
        {list.error ? <p className="field-error">Could not list the saved templates: {errorText(list.error)}</p> : null}
      </Section>
      <div ref={editorRef}>
        <TemplateEditor key={`${purpose}/${activeLocale}`} tenantId={tenant.id} purpose={purpose} locale={activeLocale} tenant={tenant} onSaved={list.reload} onDirtyChange={setDirty} />
      </div>
      <Section title="Saved templates" description="The templates this tenant has stored, by purpose and locale. Any other purpose or locale uses the nearest of these, then the built-in English default." headingLevel={2}>
        {list.data && saved.length === 0 ? <p className="muted">None yet: every send uses the built-in default.</p> : null}
        {saved.length > 0 ? (
          <ul className="saved-templates" aria-label="Saved templates">
            {saved.map((t) => {
              const current = t.purpose === purpose && t.locale === activeLocale;
              return (
                <li key={`${t.purpose}/${t.locale}`} className={current ? 'current' : undefined}>
                  <a
                    href={`${window.location.pathname}?purpose=${encodeURIComponent(t.purpose)}&locale=${encodeURIComponent(t.locale)}`}
                    aria-current={current ? 'true' : undefined}
                    onClick={(e) => {
                      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
                      e.preventDefault();
                      choose({ purpose: t.purpose, locale: t.locale }, true);
                    }}
                  >
                    <strong>{purposeLabels[t.purpose] ?? t.purpose}</strong> <code>{t.purpose}</code> · <code>{t.locale}</code>
                  </a>
                  <span className="muted small">
                    {t.encoding} · {t.segments} segment{t.segments === 1 ? '' : 's'} · updated <Time iso={t.updated_at} />
                  </span>
                </li>
              );
            })}
          </ul>
        ) : null}
      </Section>
      <ConfirmDialog
        open={pending !== null}
        title="Discard your changes?"
        confirmLabel="Discard changes"
        onConfirm={() => {
          if (pending) apply(pending, true);
          setPending(null);
        }}
        onCancel={() => {
          setLocale(activeLocale);
          setPending(null);
        }}
      >
        <p>
          The {purposeLabels[purpose] ?? purpose} · {activeLocale} template text has unsaved changes. Opening{' '}
          {pending ? `${purposeLabels[pending.purpose] ?? pending.purpose} · ${pending.locale}` : 'another template'} throws them away.
        </p>
      </ConfirmDialog>
    </div>
  );
}

function TemplateEditor({
  tenantId,
  purpose,
  locale,
  tenant,
  onSaved,
  onDirtyChange,
}: {
  tenantId: string;
  purpose: string;
  locale: string;
  tenant: TabProps['tenant'];
  onSaved(): void;
  onDirtyChange(dirty: boolean): void;
}) {
  const api = useApi();
  const loaded = useAsync((signal) => api.call('GET /v1/templates/{purpose}/{locale}', { tenant: tenantId, params: { purpose, locale }, signal }), [api, tenantId, purpose, locale]);
  const [body, setBody] = useState<string | null>(null);
  const [busy, setBusy] = useState<'save' | 'reset' | null>(null);
  const [result, setResult] = useState<{ ok: true; message: string } | { ok: false; error: unknown } | null>(null);
  const [confirm, setConfirm] = useState<'remove' | 'discard' | null>(null);

  const current = body ?? loaded.data?.body ?? '';
  const dirty = body !== null && body !== (loaded.data?.body ?? '');
  useEffect(() => onDirtyChange(dirty), [dirty, onDirtyChange]);
  const s = tenant.settings;
  const preview = useMemo(
    () =>
      renderPreview({
        template: current,
        purpose,
        otpLength: s.otp_length,
        appName: s.app_name ?? tenant.name,
        ttlSeconds: s.otp_ttl_seconds,
        webotpDomain: s.webotp_domain,
        androidAppHash: s.android_app_hash,
      }),
    [current, purpose, s, tenant.name],
  );
  const analysis = useMemo(() => analyzeSms(preview.text), [preview.text]);
  const problems = useMemo(() => (current === '' ? [] : validateTemplate(current)), [current]);
  const tooLong = analysis.segments > s.max_segments;

  if (loaded.error && !loaded.data) return <ErrorState error={loaded.error} onRetry={loaded.reload} title="Could not load the template" />;
  if (!loaded.data) return <Spinner label="Loading the template…" />;
  const view: TemplateView = loaded.data;
  const exact = !view.is_default && view.resolved_locale === locale;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (problems.length > 0 || current.trim() === '') return;
    setBusy('save');
    setResult(null);
    try {
      const saved = await api.call('PUT /v1/templates/{purpose}/{locale}', { tenant: tenantId, params: { purpose, locale }, body: { body: current } });
      loaded.setData(saved);
      setBody(null);
      setResult({ ok: true, message: `Saved: ${saved.encoding}, ${saved.segments} segment${saved.segments === 1 ? '' : 's'} with a sample code.` });
      onSaved();
    } catch (err) {
      setResult({ ok: false, error: err });
    } finally {
      setBusy(null);
    }
  };

  const reset = async () => {
    setBusy('reset');
    setResult(null);
    try {
      await api.call('DELETE /v1/templates/{purpose}/{locale}', { tenant: tenantId, params: { purpose, locale } });
      setConfirm(null);
      setBody(null);
      loaded.reload();
      setResult({ ok: true, message: 'Removed: sends use the fallback template again.' });
      onSaved();
    } catch (err) {
      setConfirm(null);
      setResult({ ok: false, error: err });
    } finally {
      setBusy(null);
    }
  };

  const counterText = `${analysis.encoding} · ${analysis.segments} segment${analysis.segments === 1 ? '' : 's'} · ${analysis.units} / ${analysis.unitsPerSegment * Math.max(1, analysis.segments)} ${analysis.encoding === 'GSM-7' ? 'septets' : 'UCS-2 units'}`;

  return (
    <>
    <form onSubmit={(e) => void save(e)} noValidate className="template-editor">
      <Section
        headingLevel={3}
        title={`${purposeLabels[purpose] ?? purpose} · ${locale}`}
        description={
          view.is_default ? (
            'No template of this tenant applies: this is the built-in English default. Saving stores it for this locale.'
          ) : exact ? (
            <>
              Saved template, updated <Time iso={view.updated_at} />.
            </>
          ) : (
            `No ${locale} template yet: sends use the ${view.resolved_locale ?? 'default'} one shown here. Saving stores a ${locale} template.`
          )
        }
      >
        <div className="editor-grid">
          <div>
            <TextAreaField
              label="Template text"
              id="tpl-body"
              rows={6}
              value={current}
              maxLength={maxTemplateLength}
              onChange={(e) => {
                setBody(e.target.value);
                setResult(null);
              }}
              error={problems.length > 0 ? problems.join('. ') : null}
              help={`Variables: ${templateVariables.map((v) => `{{${v}}}`).join(' ')}`}
              spellCheck
            />
            <div className={`counter${tooLong ? ' counter-over' : ''}${analysis.encoding === 'UCS-2' ? ' counter-ucs' : ''}`} id="segment-counter" data-testid="segment-counter" aria-live="polite">
              <span className="counter-encoding" data-testid="encoding">
                {analysis.encoding}
              </span>
              <span data-testid="segments">
                {analysis.segments} segment{analysis.segments === 1 ? '' : 's'}
              </span>
              <span className="muted">
                {analysis.units} / {analysis.unitsPerSegment * Math.max(1, analysis.segments)} {analysis.encoding === 'GSM-7' ? 'septets' : 'UCS-2 units'}
              </span>
              <span className="sr-only">{counterText}</span>
            </div>
            {analysis.encoding === 'UCS-2' ? (
              <p className="help">
                UCS-2 because of {analysis.nonGsm.map((c) => `“${c}”`).join(' ')}: one SMS holds 70 characters instead of 160.
              </p>
            ) : null}
            {tooLong ? (
              <p className="field-error">
                Renders to {analysis.segments} segments; this tenant allows {s.max_segments} (Settings → Max segments). The server refuses it.
              </p>
            ) : null}
          </div>
          <div>
            <h4 id="tpl-preview-label">Preview with a sample code</h4>
            <pre className="sms-preview" aria-labelledby="tpl-preview-label" data-testid="template-preview">
              {preview.text || ' '}
            </pre>
            <p className="help">
              Sample code {preview.code}
              {s.webotp_domain ? `; the last line "@${s.webotp_domain} #${preview.code}" lets browsers autofill it (WebOTP)` : '; set a WebOTP domain in Settings to add the autofill line'}
              .
            </p>
          </div>
        </div>
        <div className="form-actions">
          <Button type="submit" busy={busy === 'save'} disabled={problems.length > 0 || current.trim() === '' || busy !== null}>
            Save template
          </Button>
          {body !== null ? (
            <Button variant="secondary" onClick={() => (dirty ? setConfirm('discard') : setBody(null))} disabled={busy !== null}>
              Discard changes
            </Button>
          ) : null}
          {exact ? (
            <Button variant="danger" onClick={() => setConfirm('remove')} busy={busy === 'reset'} disabled={busy !== null}>
              Remove this template
            </Button>
          ) : null}
        </div>
        <div aria-live="polite" className="save-result">
          {result?.ok ? <Alert kind="success">{result.message}</Alert> : null}
          {result && !result.ok ? (
            <Alert kind="error" title="Not saved">
              <p>{isApiError(result.error) && result.error.problem.detail ? result.error.problem.detail : errorText(result.error)}</p>
            </Alert>
          ) : null}
        </div>
      </Section>
    </form>
    <ConfirmDialog
      open={confirm !== null}
      title={confirm === 'remove' ? `Remove the ${purposeLabels[purpose] ?? purpose} · ${locale} template?` : 'Discard your changes?'}
      confirmLabel={confirm === 'remove' ? 'Remove template' : 'Discard changes'}
      busy={busy === 'reset'}
      onConfirm={() => {
        if (confirm === 'remove') void reset();
        else {
          setBody(null);
          setConfirm(null);
        }
      }}
      onCancel={() => setConfirm(null)}
    >
      {confirm === 'remove' ? (
        <p>Sends for this purpose and locale use the fallback template again{dirty ? ', and the unsaved changes to its text are lost' : ''}. The text is not kept.</p>
      ) : (
        <p>The edited text goes back to the saved {exact ? 'template' : 'fallback'}; what you typed is lost.</p>
      )}
    </ConfirmDialog>
    </>
  );
}
