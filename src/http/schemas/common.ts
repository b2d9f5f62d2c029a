import { z } from 'zod';
import { isId, type IdPrefix } from '../../domain/ids.js';
import { AppError } from '../../errors/app-error.js';

export const listQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('Page size, 1–100.'),
  cursor: z.string().max(64).optional().describe('`next_cursor` of the previous page.'),
};

/** Checks a cursor names an id of the listed kind. */
export function cursorOf(cursor: string | undefined, prefix: IdPrefix): string | undefined {
  if (cursor === undefined) return undefined;
  if (!isId(cursor, prefix)) throw new AppError('request.invalid_cursor', 'The cursor is not one this list gave out.');
  return cursor;
}

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    code: z.string(),
    detail: z.string().optional(),
    request_id: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  // Some codes add their own members (docs/errors.md), e.g. attempts_remaining or required_scope.
  .catchall(z.unknown())
  .describe('RFC 9457 problem document')
  // Named, so the document holds it once (components.schemas.Problem) and clients get one type.
  .meta({ id: 'Problem' });

const problem = { description: 'A problem document (docs/errors.md): `code` is the stable error code.', content: { 'application/problem+json': { schema: problemSchema } } };

/** Every error a route may answer, documented as application/problem+json (what the error handler sends). */
export const errorResponses = {
  400: problem,
  401: problem,
  403: problem,
  404: problem,
  409: problem,
  410: problem,
  413: problem,
  415: problem,
  422: problem,
  429: problem,
  500: problem,
  503: problem,
};

/** A 204 answer: no body. */
export const noContent = z.undefined().describe('No content');

export function page<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

export const tenantIdHeader = z.object({ 'x-tenant-id': z.string().optional().describe('Admin key only: the tenant to act on.') }).loose();
