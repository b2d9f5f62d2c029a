import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors/app-error.js';
import { errorCatalog, errorCodes, type ErrorCode } from '../../errors/codes.js';
import { ERROR_PAGES_PATH } from '../../errors/problem.js';

/** The page's one style block; allowed by its hash in the CSP, as no inline style is otherwise. */
const STYLE = 'body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}code{background:#f2f2f2;padding:0 .25rem;border-radius:3px}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}';
export const ERROR_PAGE_STYLE_SRC = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/**
 * What each code means, from the table of docs/errors.md (the one text both the docs and these
 * pages show); a code the file does not describe (or a deployment without docs/) shows its title.
 */
function meanings(): Map<string, string> {
  const here = dirname(fileURLToPath(import.meta.url));
  const file = [resolve(here, '../../../docs/errors.md'), resolve(here, '../../../../docs/errors.md')].find((f) => existsSync(f));
  const found = new Map<string, string>();
  if (!file) return found;
  for (const m of readFileSync(file, 'utf8').matchAll(/^\| `([a-z_.]+)` \| \d{3} \| (.*) \|$/gm)) found.set(m[1]!, m[2]!);
  return found;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The little Markdown the table uses: `code`, **bold**, [text](link) (kept as text). */
function inlineMarkdown(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1');
}

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} — otpgate</title><style>${STYLE}</style></head><body>${body}</body></html>\n`;
}

function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /json/.test(accept) && !/text\/html/.test(accept);
}

/**
 * The pages the `type` of every problem document links to: `GET /errors` lists every code,
 * `GET /errors/{code}` describes one (HTML, or JSON for `Accept: application/json`). Public,
 * like the API reference.
 */
export function errorPageRoutes(app: FastifyInstance): void {
  const text = meanings();
  const describe = (code: ErrorCode) => ({ code, status: errorCatalog[code].status, title: errorCatalog[code].title, meaning: text.get(code) ?? errorCatalog[code].title });
  const html = (reply: FastifyReply, body: string) => reply.type('text/html; charset=utf-8').header('cache-control', 'public, max-age=3600').send(body);

  app.get(ERROR_PAGES_PATH, { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    if (wantsJson(request)) return { items: errorCodes.map(describe) };
    const rows = errorCodes
      .map((code) => `<tr id="${code}"><td><a href="${ERROR_PAGES_PATH}/${code}"><code>${code}</code></a></td><td>${errorCatalog[code].status}</td><td>${escapeHtml(errorCatalog[code].title)}</td></tr>`)
      .join('');
    return html(reply, page('Errors', `<h1>otpgate errors</h1><p>Every error is answered as an RFC 9457 problem document whose <code>code</code> is one of these; its <code>type</code> links here.</p><table><thead><tr><th>code</th><th>status</th><th>title</th></tr></thead><tbody>${rows}</tbody></table>`));
  });

  app.get<{ Params: { code: string } }>(`${ERROR_PAGES_PATH}/:code`, { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const code = request.params.code;
    if (!(code in errorCatalog)) throw new AppError('route.not_found', `No error code "${code}"; every code is listed at ${ERROR_PAGES_PATH}.`);
    const d = describe(code as ErrorCode);
    if (wantsJson(request)) return d;
    return html(
      reply,
      page(d.code, `<p><a href="${ERROR_PAGES_PATH}">otpgate errors</a></p><h1><code>${d.code}</code></h1><p>HTTP ${d.status} — ${escapeHtml(d.title)}</p><p>${inlineMarkdown(d.meaning)}</p><p>Program against <code>code</code>, not against <code>title</code> or <code>detail</code>; quote the <code>request_id</code> when you report a problem.</p>`),
    );
  });
}
