import { errorCatalog, type ErrorCode } from './codes.js';
import type { FieldIssue } from './app-error.js';

/** Where the server describes each code (src/http/routes/error-pages.ts): `/errors/{code}`. */
export const ERROR_PAGES_PATH = '/errors';

/**
 * The `type` base of this server's problems: absolute under OTPGATE_PUBLIC_URL when it is set,
 * else the path alone, a relative reference that resolves against the URL of the request that
 * got the problem (RFC 9457 §3.1.1): either way a page this server serves.
 */
export function problemTypeBase(publicUrl: string | undefined): string {
  return `${publicUrl ? publicUrl.replace(/\/+$/, '') : ''}${ERROR_PAGES_PATH}/`;
}

/** RFC 9457 problem document, as otpgate answers it. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  request_id: string;
  issues?: FieldIssue[];
  [extra: string]: unknown;
}

export function problemTypeFor(code: ErrorCode, base = problemTypeBase(undefined)): string {
  return base + code;
}

export function buildProblem(
  code: ErrorCode,
  requestId: string,
  detail?: string,
  issues?: FieldIssue[],
  extra?: Record<string, unknown>,
  typeBase?: string,
): ProblemDocument {
  const entry = errorCatalog[code];
  const doc: ProblemDocument = {
    ...extra,
    type: problemTypeFor(code, typeBase),
    title: entry.title,
    status: entry.status,
    code,
    request_id: requestId,
  };
  if (detail !== undefined) doc.detail = detail;
  if (issues !== undefined && issues.length > 0) doc.issues = issues;
  return doc;
}
