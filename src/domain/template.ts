/**
 * Message templates: the built-in purposes and their English defaults, validation,
 * rendering, the WebOTP / SMS Retriever additions, locale choice and code masking.
 * @see PROVIDERS.md §8.3 (WebOTP) and §8.4 (Android SMS Retriever)
 */

/** Purposes every tenant has; tenants may add their own (see isValidPurpose). */
export const builtInPurposes = ['login', 'verification', 'password_reset', 'mfa', 'transaction'] as const;

export type BuiltInPurpose = (typeof builtInPurposes)[number];

/**
 * English default template per built-in purpose. GSM-7 only and one segment even with a
 * 10-digit code, a 20-character app name and a 60-minute TTL. "min" rather than "minutes"
 * so a 1-minute TTL still reads right.
 */
export const defaultTemplates: Record<BuiltInPurpose, string> = {
  login: '{{code}} is your {{app_name}} login code. It expires in {{ttl_minutes}} min. Do not share it.',
  verification: '{{code}} is your {{app_name}} verification code. It expires in {{ttl_minutes}} min.',
  password_reset: '{{code}} is your {{app_name}} password reset code. It expires in {{ttl_minutes}} min. Ignore it if you did not ask.',
  mfa: '{{code}} is your {{app_name}} security code. It expires in {{ttl_minutes}} min. Do not share it.',
  // PSD2 dynamic linking: the user sees what the code authorises. One segment only while the
  // amount and payee are short (about 45 characters together in the worst case above).
  transaction: '{{code}} is your {{app_name}} code to pay {{amount}} to {{payee}}. It expires in {{ttl_minutes}} min.',
};

/** Default for a tenant-defined purpose that has no template of its own. */
export const genericTemplate = '{{code}} is your {{app_name}} code. It expires in {{ttl_minutes}} min.';

/** The variables a template may use, as `{{name}}` (inner spaces allowed: `{{ name }}`). */
export const templateVariables = ['code', 'app_name', 'ttl_minutes', 'purpose', 'amount', 'payee'] as const;

/** Variables that only a send carrying them can fill (a transaction-bound code). */
export const transactionVariables = ['amount', 'payee'] as const;

export type TemplateVariable = (typeof templateVariables)[number];

/** Values for rendering. `ttl_minutes` is whole minutes, printed as given. */
export interface TemplateVars {
  code: string;
  app_name: string;
  ttl_minutes: number;
  purpose: string;
  /** The send's `amount` and `payee`, when it carried them. */
  amount?: string | undefined;
  payee?: string | undefined;
}

/** Longest template accepted, in UTF-16 code units. */
export const maxTemplateLength = 1000;

const knownVariables: ReadonlySet<string> = new Set(templateVariables);
/** `{{ anything without braces }}`; group 1 is the trimmed name. */
const placeholder = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Problems with a template, each a short sentence for the API client; empty when it is
 * usable. Checks: empty, longer than 1000 characters, unbalanced braces (any `{` or `}`
 * outside a `{{name}}` placeholder), unknown or empty variable names, and a missing
 * `{{code}}`. Length and segment limits of the rendered text are the caller's (they
 * depend on the tenant's settings).
 */
export function validateTemplate(template: string): string[] {
  const problems: string[] = [];
  if (template.trim() === '') return ['template is empty'];
  if (template.length > maxTemplateLength) problems.push(`template is longer than ${maxTemplateLength} characters`);

  let hasCode = false;
  const unknown = new Set<string>();
  let emptyPlaceholder = false;
  for (const match of template.matchAll(placeholder)) {
    const name = match[1] ?? '';
    if (name === '') emptyPlaceholder = true;
    else if (name === 'code') hasCode = true;
    else if (!knownVariables.has(name)) unknown.add(name);
  }
  if (/[{}]/.test(template.replace(placeholder, ''))) {
    problems.push('template has unbalanced braces: write variables as {{name}}');
  }
  if (emptyPlaceholder) problems.push('template has an empty {{}} placeholder');
  const allowed = templateVariables.map((v) => `{{${v}}}`).join(', ');
  for (const name of unknown) problems.push(`template uses unknown variable {{${name}}}; allowed: ${allowed}`);
  if (!hasCode) problems.push('template must contain {{code}}');
  return problems;
}

/**
 * Replaces each `{{name}}` / `{{ name }}` of a known variable with its value, in one pass
 * (a value containing `{{…}}` or `$&` is inserted literally). Unknown placeholders, and
 * `{{amount}}`/`{{payee}}` without a value, are left as they are; validate templates when
 * they are saved, and check `transactionVariablesUsed` before a send.
 */
export function renderTemplate(template: string, vars: TemplateVars): string {
  return template.replace(placeholder, (whole: string, name: string) => {
    switch (name) {
      case 'code':
        return vars.code;
      case 'app_name':
        return vars.app_name;
      case 'ttl_minutes':
        return String(vars.ttl_minutes);
      case 'purpose':
        return vars.purpose;
      case 'amount':
        return vars.amount ?? whole;
      case 'payee':
        return vars.payee ?? whole;
      default:
        return whole;
    }
  });
}

/**
 * The final OTP text: the rendered template (trailing whitespace trimmed); then, when
 * `androidAppHash` is set, a blank line and the 11-character SMS Retriever hash on its own
 * line; then, when `webotpDomain` is set, a blank line and `@<domain> #<code>` as the LAST
 * line (WebOTP and Safari's one-time-code domain binding read only the last line).
 */
export function composeOtpMessage(input: {
  template: string;
  vars: TemplateVars;
  webotpDomain?: string | null;
  androidAppHash?: string | null;
}): string {
  let text = renderTemplate(input.template, input.vars).trimEnd();
  const hash = input.androidAppHash?.trim();
  if (hash) text += `\n\n${hash}`;
  const domain = input.webotpDomain?.trim();
  if (domain) text += `\n\n@${domain} #${input.vars.code}`;
  return text;
}

/** The transaction variables (`amount`, `payee`) a template names. */
export function transactionVariablesUsed(template: string): Array<(typeof transactionVariables)[number]> {
  const used = new Set<string>();
  for (const match of template.matchAll(placeholder)) used.add(match[1] ?? '');
  return transactionVariables.filter((v) => used.has(v));
}

function normalizeLocale(tag: string): string {
  return tag.trim().replace(/_/g, '-').toLowerCase();
}

function languageOf(normalized: string): string {
  const dash = normalized.indexOf('-');
  return dash === -1 ? normalized : normalized.slice(0, dash);
}

/**
 * Picks the template locale for a request, returning the entry of `available` as spelled
 * there. Tags compare case-insensitively with `_` read as `-`. In order: the exact tag;
 * its language alone (`pt-BR` → `pt`); another region of that language (`pt-BR` → `pt-PT`,
 * first in `available` order); then the same for `en`; else undefined.
 */
export function resolveLocale(requested: string | undefined, available: readonly string[]): string | undefined {
  const normalized = available.map(normalizeLocale);
  const find = (tag: string): string | undefined => {
    const exact = normalized.indexOf(tag);
    if (exact !== -1) return available[exact];
    const language = languageOf(tag);
    const bare = normalized.indexOf(language);
    if (bare !== -1) return available[bare];
    const sibling = normalized.findIndex((n) => languageOf(n) === language);
    return sibling === -1 ? undefined : available[sibling];
  };
  const wanted = requested === undefined ? '' : normalizeLocale(requested);
  return (wanted === '' ? undefined : find(wanted)) ?? find('en');
}

/** BCP-47-ish locale tag: a 2–3 letter lowercase language, then `-` subtags of 2–8 letters/digits (`en`, `pt-BR`, `zh-Hant-TW`). */
export function isValidLocale(value: string): boolean {
  return /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(value);
}

/** Purpose name: a lowercase letter then up to 31 lowercase letters, digits or `_` (`login`, `checkout_2fa`). */
export function isValidPurpose(value: string): boolean {
  return /^[a-z][a-z0-9_]{0,31}$/.test(value);
}

/**
 * `text` with every occurrence of `code` replaced by as many `*` (ASCII), for message logs.
 * An empty code leaves the text unchanged.
 */
export function maskCode(text: string, code: string): string {
  if (code === '') return text;
  return text.split(code).join('*'.repeat(code.length));
}
