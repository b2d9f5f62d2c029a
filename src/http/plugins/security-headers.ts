import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export interface SecurityHeadersOptions {
  /** HSTS is sent in production only: a development server on plain http://127.0.0.1 must stay reachable. */
  production: boolean;
  /** Extra sources for `style-src` (Swagger UI sets inline styles; a page's own `<style>` by its hash). */
  styleSrc?: string[];
}

/**
 * The browser-facing pages (the console, the API reference, the error pages) are sent with the
 * headers of a security product: a Content-Security-Policy that runs scripts from this origin
 * only and forbids framing, nosniff, no referrer, and HSTS in production. Registered in the
 * scope of those pages only (the plugin's hook applies to its scope): the API's JSON answers,
 * the hot path, go without them.
 */
export async function registerSecurityHeaders(scope: FastifyInstance, options: SecurityHeadersOptions): Promise<void> {
  await scope.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'base-uri': ["'none'"],
        'connect-src': ["'self'"],
        'font-src': ["'self'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        'img-src': ["'self'", 'data:'],
        'object-src': ["'none'"],
        'script-src': ["'self'"],
        'script-src-attr': ["'none'"],
        'style-src': ["'self'", ...(options.styleSrc ?? [])],
      },
    },
    // frame-ancestors 'none' says it to current browsers; X-Frame-Options to older ones.
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: options.production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
}
