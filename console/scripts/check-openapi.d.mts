/** Types for check-openapi.mjs, so TypeScript tests can import it. */
export interface ClientRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
}
export function clientRoutes(source?: string): ClientRoute[];
export function checkOpenapi(baseUrl: string, opts?: { fetch?: typeof fetch }): Promise<{ checked: ClientRoute[]; missing: ClientRoute[] }>;
