import assert from 'node:assert/strict';
import type { TestApp } from './app.js';
import { adminAuth } from './app.js';

export const OPERATOR_PASSWORD = 'correct horse battery staple';

/** A signed-in operator: the cookie header to send, and the CSRF token for unsafe methods. */
export interface OperatorSession {
  id: string;
  email: string;
  cookie: string;
  csrf: string;
  /** Headers of a same-origin console request (cookie, CSRF token, Sec-Fetch-Site). */
  headers(extra?: Record<string, string>): Record<string, string>;
}

/** The session cookie's `name=value` from a Set-Cookie answer. */
export function sessionCookieOf(setCookie: string | string[] | undefined): string {
  const line = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  assert.ok(line, 'no Set-Cookie');
  return line.split(';')[0]!;
}

export async function createOperator(t: TestApp, body: { email: string; role: string; tenant_ids?: string[]; password?: string }): Promise<string> {
  const r = await t.call('POST', '/v1/operators', { auth: adminAuth, body: { password: OPERATOR_PASSWORD, ...body } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().id;
}

export async function signIn(t: TestApp, email: string, password = OPERATOR_PASSWORD, totp?: string): Promise<OperatorSession> {
  const r = await t.call('POST', '/v1/auth/sign-in', { body: { email, password, ...(totp ? { totp } : {}) }, headers: { 'sec-fetch-site': 'same-origin' } });
  assert.equal(r.statusCode, 200, r.body);
  const cookie = sessionCookieOf(r.headers['set-cookie']);
  const csrf = r.json().csrf_token as string;
  return {
    id: r.json().operator.id,
    email,
    cookie,
    csrf,
    headers: (extra = {}) => ({ cookie, 'x-csrf-token': csrf, 'sec-fetch-site': 'same-origin', ...extra }),
  };
}

/** Creates an operator of `role` and signs it in. */
export async function operatorWithRole(t: TestApp, role: string, tenantIds?: string[]): Promise<OperatorSession> {
  const email = `${role}.${Math.random().toString(36).slice(2, 8)}@example.com`;
  await createOperator(t, { email, role, ...(tenantIds ? { tenant_ids: tenantIds } : {}) });
  return signIn(t, email);
}
