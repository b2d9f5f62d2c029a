import { errorCatalog, type ErrorCode } from './codes.js';
import type { FieldIssue } from './app-error.js';

/** Base of the `type` URI of every problem; each code has a section in docs/errors.md. */
export const PROBLEM_TYPE_BASE = 'https://otpgate.dev/docs/errors#';

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

export function problemTypeFor(code: ErrorCode): string {
  return PROBLEM_TYPE_BASE + code.replace(/[._]/g, '-');
}

export function buildProblem(
  code: ErrorCode,
  requestId: string,
  detail?: string,
  issues?: FieldIssue[],
  extra?: Record<string, unknown>,
): ProblemDocument {
  const entry = errorCatalog[code];
  const doc: ProblemDocument = {
    ...extra,
    type: problemTypeFor(code),
    title: entry.title,
    status: entry.status,
    code,
    request_id: requestId,
  };
  if (detail !== undefined) doc.detail = detail;
  if (issues !== undefined && issues.length > 0) doc.issues = issues;
  return doc;
}
