/**
 * Template checks and the preview, ported from the server (src/domain/template.ts): the same
 * variables, the same rendering, and the same WebOTP / Android SMS Retriever lines.
 */

export const builtInPurposes = ['login', 'verification', 'password_reset', 'mfa', 'transaction'] as const;
export const templateVariables = ['code', 'app_name', 'ttl_minutes', 'purpose', 'amount', 'payee'] as const;
export const maxTemplateLength = 1000;

const placeholder = /\{\{\s*([^{}]*?)\s*\}\}/g;
const known: ReadonlySet<string> = new Set(templateVariables);

/** Problems with a template, in the server's words; empty when it is usable. */
export function validateTemplate(template: string): string[] {
  if (template.trim() === '') return ['template is empty'];
  const problems: string[] = [];
  if (template.length > maxTemplateLength) problems.push(`template is longer than ${maxTemplateLength} characters`);
  let hasCode = false;
  let empty = false;
  const unknown = new Set<string>();
  for (const m of template.matchAll(placeholder)) {
    const name = m[1] ?? '';
    if (name === '') empty = true;
    else if (name === 'code') hasCode = true;
    else if (!known.has(name)) unknown.add(name);
  }
  if (/[{}]/.test(template.replace(placeholder, ''))) problems.push('template has unbalanced braces: write variables as {{name}}');
  if (empty) problems.push('template has an empty {{}} placeholder');
  for (const name of unknown) problems.push(`template uses unknown variable {{${name}}}; allowed: ${templateVariables.map((v) => `{{${v}}}`).join(', ')}`);
  if (!hasCode) problems.push('template must contain {{code}}');
  return problems;
}

export interface PreviewInput {
  template: string;
  purpose: string;
  otpLength: number;
  appName: string;
  ttlSeconds: number;
  webotpDomain: string | null;
  androidAppHash: string | null;
}

/** The message as a user receives it, with a sample code of the tenant's length. */
export function renderPreview(p: PreviewInput): { text: string; code: string } {
  const code = '1234567890'.slice(0, p.otpLength);
  const vars: Record<string, string> = { code, app_name: p.appName, ttl_minutes: String(Math.ceil(p.ttlSeconds / 60)), purpose: p.purpose, amount: 'EUR 125.00', payee: 'Example Shop' };
  let text = p.template.replace(placeholder, (whole: string, name: string) => vars[name] ?? whole).trimEnd();
  const hash = p.androidAppHash?.trim();
  if (hash) text += `\n\n${hash}`;
  const domain = p.webotpDomain?.trim();
  if (domain) text += `\n\n@${domain} #${code}`;
  return { text, code };
}

export function isValidPurpose(value: string): boolean {
  return /^[a-z][a-z0-9_]{0,31}$/.test(value);
}

export function isValidLocale(value: string): boolean {
  return /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(value);
}
