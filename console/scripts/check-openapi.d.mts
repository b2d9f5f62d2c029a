/** Types for check-openapi.mjs, so TypeScript tests can import it. */
export interface ClientRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
}
/** A request type as read by the TypeScript checker; `null` when the route sends none. */
export type DescribedType =
  | { kind: 'object'; props: Map<string, { optional: boolean; type: DescribedType | null }>; open: boolean }
  | { kind: 'enum'; values: string[] }
  | { kind: 'other' };
export type RequestTypes = Map<string, { query: DescribedType | null; body: DescribedType | null }>;

export function clientRoutes(source?: string): ClientRoute[];
export function clientRequestTypes(): Promise<RequestTypes>;
export function compareTypes(spec: unknown, types: RequestTypes): string[];
export function checkRequest(spec: unknown, request: { method: string; url: string; body?: unknown }): string[];
export function fetchSpec(baseUrl: string, opts?: { fetch?: typeof fetch }): Promise<any>;
export function checkOpenapi(
  baseUrl: string,
  opts?: { fetch?: typeof fetch; types?: RequestTypes },
): Promise<{ checked: ClientRoute[]; missing: ClientRoute[]; problems: string[]; spec: any }>;
