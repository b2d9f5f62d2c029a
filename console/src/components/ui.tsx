import { useEffect, useId, useRef, useState, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';
import { errorText, isApiError } from '../api/client.js';

/** A labelled control with optional help text and an inline error, wired for screen readers. */
function useFieldIds(id?: string) {
  const auto = useId();
  const base = id ?? `f${auto.replace(/[^a-zA-Z0-9_-]/g, '')}`;
  return { id: base, help: `${base}-help`, error: `${base}-error` };
}

interface FieldChrome {
  label: ReactNode;
  help?: ReactNode;
  error?: string | null | undefined;
  /** Extra content after the label, e.g. a "stored" badge. */
  badge?: ReactNode;
  className?: string;
}

function describedBy(ids: { help: string; error: string }, help: unknown, error: unknown): string | undefined {
  const parts = [help ? ids.help : '', error ? ids.error : ''].filter(Boolean);
  return parts.length ? parts.join(' ') : undefined;
}

function Chrome({ ids, label, help, error, badge, className, required, children }: FieldChrome & { ids: ReturnType<typeof useFieldIds>; required?: boolean | undefined; children: ReactNode }) {
  return (
    <div className={`field${error ? ' field-invalid' : ''}${className ? ` ${className}` : ''}`}>
      <div className="field-label-row">
        <label htmlFor={ids.id}>
          {label}
          {required ? <span className="req" aria-hidden="true"> *</span> : null}
        </label>
        {badge}
      </div>
      {children}
      {help ? (
        <p className="help" id={ids.help}>
          {help}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={ids.error}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** The control with its addon (a button such as Filter or Add) on the same row, when there is one. */
function withAddon(control: ReactNode, addon: ReactNode): ReactNode {
  return addon ? (
    <div className="input-addon">
      {control}
      {addon}
    </div>
  ) : (
    control
  );
}

/**
 * A labelled text input. `addon` (a button such as Filter or Add) sits on the input's own row,
 * level with it at every width, above the help and error text.
 */
export function TextField({ label, help, error, badge, className, id, addon, ...input }: FieldChrome & InputHTMLAttributes<HTMLInputElement> & { addon?: ReactNode }) {
  const ids = useFieldIds(id);
  const control = <input id={ids.id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(ids, help, error)} {...input} />;
  return (
    <Chrome ids={ids} label={label} help={help} error={error} badge={badge} className={className} required={input.required}>
      {withAddon(control, addon)}
    </Chrome>
  );
}

export function SelectField({ label, help, error, badge, className, id, children, addon, ...select }: FieldChrome & SelectHTMLAttributes<HTMLSelectElement> & { addon?: ReactNode }) {
  const ids = useFieldIds(id);
  const control = (
    <select id={ids.id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(ids, help, error)} {...select}>
      {children}
    </select>
  );
  return (
    <Chrome ids={ids} label={label} help={help} error={error} badge={badge} className={className} required={select.required}>
      {withAddon(control, addon)}
    </Chrome>
  );
}

export function TextAreaField({ label, help, error, badge, className, id, ...area }: FieldChrome & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const ids = useFieldIds(id);
  return (
    <Chrome ids={ids} label={label} help={help} error={error} badge={badge} className={className} required={area.required}>
      <textarea id={ids.id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(ids, help, error)} {...area} />
    </Chrome>
  );
}

export function Button({ busy, variant = 'primary', children, disabled, className, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean; variant?: 'primary' | 'secondary' | 'danger' | 'ghost' }) {
  return (
    <button className={`btn btn-${variant}${className ? ` ${className}` : ''}`} disabled={disabled || busy} aria-busy={busy || undefined} type="button" {...rest}>
      {busy ? <span className="spinner spinner-inline" aria-hidden="true" /> : null}
      {children}
    </button>
  );
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function Alert({ kind, title, children, onDismiss }: { kind: 'error' | 'success' | 'info' | 'warning'; title?: ReactNode; children?: ReactNode; onDismiss?: () => void }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      <div className="alert-body">
        {title ? <p className="alert-title">{title}</p> : null}
        {children}
      </div>
      {onDismiss ? (
        <button type="button" className="alert-dismiss" onClick={onDismiss} aria-label="Dismiss">
          ×
        </button>
      ) : null}
    </div>
  );
}

/** An error from a call: the problem's title, detail, and request id for support. */
export function ErrorState({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const requestId = isApiError(error) ? error.problem.request_id : '';
  return (
    <Alert kind="error" title={title ?? 'Something went wrong'}>
      <p>{errorText(error)}</p>
      {requestId ? <p className="muted small">Request id: <code>{requestId}</code></p> : null}
      {onRetry ? (
        <Button variant="secondary" onClick={onRetry}>
          Try again
        </Button>
      ) : null}
    </Alert>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children ? <div className="empty-body">{children}</div> : null}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  const d = new Date(iso);
  return (
    <time dateTime={iso} title={d.toISOString()}>
      {d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })}
    </time>
  );
}

/** Writes to the clipboard; where the Clipboard API is missing or refused, copies a hidden selection instead. */
async function writeClipboard(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

/**
 * Copies `text`. With `what` (such as "tenant id") it is a small button named "Copy <what>" that
 * sits beside the value; otherwise a full button showing `label`. The result is announced.
 */
export function CopyButton({ text, label, targetId, what }: { text: string; label?: string; targetId?: string; what?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const copy = async () => {
    const ok = await writeClipboard(text);
    if (!ok && targetId) {
      const el = document.getElementById(targetId);
      if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
        el.focus();
        el.select();
      }
    }
    setState(ok ? 'copied' : 'failed');
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState('idle'), 2500);
  };
  const shown = state === 'copied' ? 'Copied' : (label ?? 'Copy');
  return (
    <>
      <Button variant="secondary" className={what ? 'btn-copy' : undefined} onClick={() => void copy()} aria-label={what ? `Copy ${what}` : undefined} data-state={state}>
        {shown}
      </Button>
      <span className="sr-only" role="status" aria-live="polite">
        {state === 'copied' ? `Copied${what ? ` the ${what}` : ''} to the clipboard` : state === 'failed' ? (targetId ? 'Could not copy: the text is selected, press Ctrl+C' : 'Could not copy: select the text and press Ctrl+C') : ''}
      </span>
    </>
  );
}

/** A value (an id, a code) in monospace with its copy button beside it. */
export function CopyableId({ value, what, className }: { value: string; what: string; className?: string }) {
  return (
    <span className={`copyable${className ? ` ${className}` : ''}`}>
      <code>{value}</code>
      <CopyButton text={value} what={what} />
    </span>
  );
}

export function Section({ title, description, actions, children, headingLevel = 2 }: { title: ReactNode; description?: ReactNode; actions?: ReactNode; children: ReactNode; headingLevel?: 2 | 3 }) {
  const H = headingLevel === 2 ? 'h2' : 'h3';
  return (
    <section className="section">
      <div className="section-head">
        <div>
          <H>{title}</H>
          {description ? <p className="muted">{description}</p> : null}
        </div>
        {actions ? <div className="section-actions">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}

/** Field errors from a problem's `issues`, keyed by dotted path. */
export function issuesByPath(error: unknown): Record<string, string> {
  if (!isApiError(error) || !error.problem.issues) return {};
  const out: Record<string, string> = {};
  for (const i of error.problem.issues) out[i.path] = out[i.path] ? `${out[i.path]}; ${i.message}` : i.message;
  return out;
}

/**
 * A modal confirmation (a native <dialog>: focus stays inside, Escape cancels). With `confirmText`
 * the confirm button stays disabled until that exact text is typed, for what cannot be undone.
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  confirmText,
  variant = 'danger',
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  confirmText?: string;
  variant?: 'primary' | 'danger';
  busy?: boolean;
  error?: unknown;
  onConfirm(): void;
  onCancel(): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  // Cleared as the dialog opens, in the render that opens it: cleared in the effect below, the
  // first render would still show the name typed the last time it was open.
  const [wasOpen, setWasOpen] = useState(open);
  if (open !== wasOpen) {
    setWasOpen(open);
    if (open) setTyped('');
  }
  const ids = useFieldIds();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    else if (!open && d.open) d.close();
  }, [open]);
  const ready = confirmText === undefined || typed === confirmText;
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={`${ids.id}-title`}
      aria-describedby={`${ids.id}-body`}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onCancel();
      }}
    >
      {open ? (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            if (ready && !busy) onConfirm();
          }}
        >
          <h2 id={`${ids.id}-title`} className="dialog-title">
            {title}
          </h2>
          <div id={`${ids.id}-body`} className="dialog-body">
            {children}
          </div>
          {confirmText !== undefined ? (
            <TextField
              label={
                <>
                  Type <strong>{confirmText}</strong> to confirm
                </>
              }
              id={`${ids.id}-confirm`}
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              autoFocus
            />
          ) : null}
          {error ? (
            <p className="field-error" role="alert">
              {errorText(error)}
            </p>
          ) : null}
          <div className="form-actions dialog-actions">
            <Button variant="secondary" onClick={onCancel} disabled={busy} autoFocus={confirmText === undefined}>
              Cancel
            </Button>
            <Button type="submit" variant={variant} busy={busy} disabled={!ready}>
              {confirmLabel}
            </Button>
          </div>
        </form>
      ) : null}
    </dialog>
  );
}
