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
  .describe('RFC 9457 problem document');

export const errorResponses = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
  410: problemSchema,
  413: problemSchema,
  415: problemSchema,
  422: problemSchema,
  429: problemSchema,
};

export function page<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

export const tenantIdHeader = z.object({ 'x-tenant-id': z.string().optional().describe('Admin key only: the tenant to act on.') }).loose();
