import type {
  ApiKey,
  ApiKeyScope,
  CreatedEventEndpoint,
  EventDelivery,
  EventEndpoint,
  EventEndpointInput,
  RotatedSecret,
  AuditRecord,
  CreatedApiKey,
  DecisionQuery,
  FraudDecision,
  FraudStats,
  FraudStatsWindow,
  InboxItem,
  ListQuery,
  Me,
  Operator,
  OperatorRole,
  SignInAnswer,
  MessageQuery,
  MessageView,
  Page,
  Problem,
  ProviderConfigPut,
  ProviderConfigView,
  ProviderKind,
  Stats,
  StatsWindow,
  Tenant,
  TenantSettingsPatch,
  TemplateList,
  TemplateView,
  TestSmsResult,
} from './types.js';

/**
 * Every route the console calls, as `METHOD /path/{param}` (OpenAPI path syntax), with what it
 * takes and answers. scripts/check-openapi.mjs reads these keys and checks each exists in a
 * running server's /openapi.json with that method, so keep one route per line, quoted.
 */
export interface Routes {
  'GET /v1/tenants': { query: ListQuery & { q?: string }; body: never; response: Page<Tenant> };
  'POST /v1/tenants': { query: never; body: { name: string; settings?: TenantSettingsPatch }; response: Tenant };
  'GET /v1/tenants/{id}': { query: never; body: never; response: Tenant };
  'PATCH /v1/tenants/{id}': { query: never; body: { name?: string; settings?: TenantSettingsPatch }; response: Tenant };
  'DELETE /v1/tenants/{id}': { query: never; body: never; response: void };
  'GET /v1/tenants/{id}/api-keys': { query: ListQuery; body: never; response: Page<ApiKey> };
  'POST /v1/tenants/{id}/api-keys': { query: never; body: { name?: string; scopes?: ApiKeyScope[] }; response: CreatedApiKey };
  'DELETE /v1/tenants/{id}/api-keys/{key_id}': { query: never; body: never; response: void };
  'GET /v1/tenants/{id}/audit-log': { query: ListQuery; body: never; response: Page<AuditRecord> };
  'GET /v1/provider-kinds': { query: never; body: never; response: { items: ProviderKind[] } };
  'GET /cis/v1/tenantsmsproviders': { query: never; body: never; response: ProviderConfigView };
  'PUT /cis/v1/tenantsmsproviders': { query: never; body: ProviderConfigPut; response: ProviderConfigView };
  'POST /v1/sms-provider/test': { query: never; body: { phone_number: string; config?: ProviderConfigPut }; response: TestSmsResult };
  'GET /v1/messages': { query: MessageQuery; body: never; response: Page<MessageView> };
  'GET /v1/messages.csv': { query: Omit<MessageQuery, 'limit' | 'cursor'>; body: never; response: string };
  'GET /v1/messages/{id}': { query: never; body: never; response: MessageView };
  'GET /v1/inbox': { query: ListQuery & { phone_number?: string }; body: never; response: Page<InboxItem> };
  'GET /v1/templates': { query: never; body: never; response: TemplateList };
  'GET /v1/templates/{purpose}/{locale}': { query: never; body: never; response: TemplateView };
  'PUT /v1/templates/{purpose}/{locale}': { query: never; body: { body: string }; response: TemplateView };
  'DELETE /v1/templates/{purpose}/{locale}': { query: never; body: never; response: void };
  'GET /v1/stats': { query: { window?: StatsWindow }; body: never; response: Stats };
  'GET /v1/fraud-guard/blocks': { query: never; body: never; response: { items: FraudDecision[] } };
  'DELETE /v1/fraud-guard/blocks/{id}': { query: never; body: never; response: void };
  'GET /v1/fraud-guard/decisions': { query: DecisionQuery; body: never; response: Page<FraudDecision> };
  'GET /v1/fraud-guard/stats': { query: { window?: FraudStatsWindow }; body: never; response: FraudStats };
  'POST /v1/auth/sign-in': { query: never; body: { email: string; password: string; totp?: string }; response: SignInAnswer };
  'POST /v1/auth/sign-out': { query: never; body: never; response: void };
  'POST /v1/auth/sign-out-everywhere': { query: never; body: never; response: { sessions_ended: number } };
  'GET /v1/auth/me': { query: never; body: never; response: Me };
  'GET /v1/auth/options': { query: never; body: never; response: { password: true; sso: boolean } };
  'POST /v1/auth/totp/setup': { query: never; body: never; response: { secret: string; otpauth_uri: string } };
  'POST /v1/auth/totp/enable': { query: never; body: { code: string }; response: { operator: Operator } };
  'POST /v1/auth/totp/disable': { query: never; body: { code: string }; response: { operator: Operator } };
  'GET /v1/operators': { query: ListQuery; body: never; response: Page<Operator> };
  'POST /v1/operators': { query: never; body: { email: string; role: OperatorRole; password?: string; tenant_ids?: string[] }; response: Operator };
  'PATCH /v1/operators/{id}': { query: never; body: { role?: OperatorRole; tenant_ids?: string[]; disabled?: boolean; password?: string; reset_totp?: true }; response: Operator };
  'DELETE /v1/operators/{id}': { query: never; body: never; response: void };
  'GET /v1/event-endpoints': { query: ListQuery; body: never; response: Page<EventEndpoint> };
  'POST /v1/event-endpoints': { query: never; body: { url: string; events?: string[]; description?: string }; response: CreatedEventEndpoint };
  'PATCH /v1/event-endpoints/{id}': { query: never; body: EventEndpointInput; response: EventEndpoint };
  'DELETE /v1/event-endpoints/{id}': { query: never; body: never; response: void };
  'POST /v1/event-endpoints/{id}/rotate-secret': { query: never; body: never; response: RotatedSecret };
  'POST /v1/event-endpoints/{id}/test': { query: never; body: never; response: { event_id: string; delivery_id: string } };
  'GET /v1/event-endpoints/{id}/deliveries': { query: ListQuery; body: never; response: Page<EventDelivery> };
  'POST /v1/event-endpoints/{id}/deliveries/{delivery_id}/retry': { query: never; body: never; response: EventDelivery };
}

export type RouteKey = keyof Routes;

/** Path parameters a route needs, from the `{name}` segments of its key. */
type ParamNames<S extends string> = S extends `${string}{${infer P}}${infer Rest}` ? P | ParamNames<Rest> : never;
type Params<K extends RouteKey> = [ParamNames<K>] extends [never] ? { params?: undefined } : { params: Record<ParamNames<K>, string> };

export type CallOptions<K extends RouteKey> = Params<K> &
  ([Routes[K]['query']] extends [never] ? { query?: undefined } : { query?: Routes[K]['query'] }) &
  ([Routes[K]['body']] extends [never] ? { body?: undefined } : { body: Routes[K]['body'] }) & {
    /** Acts on this tenant's routes with the admin key (`X-Tenant-Id`). */
    tenant?: string;
    signal?: AbortSignal;
  };

/** A failed call: the server's problem document, or one made up for network failures. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiError';
    this.status = problem.status;
    this.problem = problem;
  }
  get code(): string {
    return this.problem.code;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}

/** A human sentence for any error the UI shows. */
export function errorText(err: unknown): string {
  if (isApiError(err)) {
    const { title, detail } = err.problem;
    return detail && detail !== title ? `${title}: ${detail}` : title;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

function buildPath(route: string, params: Record<string, string> | undefined): string {
  return route.replace(/\{([a-z_]+)\}/g, (_m, name: string) => {
    const v = params?.[name];
    if (v === undefined) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(v);
  });
}

function buildQuery(query: object | undefined): string {
  if (!query) return '';
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `?${s}` : '';
}

export interface Api {
  call<K extends RouteKey>(route: K, options?: CallOptions<K>): Promise<Routes[K]['response']>;
}

/**
 * The API client. With `adminKey`, the key goes in the Authorization header of each call, never
 * in a URL, and no cookie is sent. Without it, the operator's HttpOnly session cookie goes along
 * (same origin only) and every unsafe call carries the session's CSRF token from `csrfToken()`.
 * `onUnauthorized` runs when the server refuses the credential (401), so the app can sign out.
 */
export function createApi(opts: { baseUrl?: string; adminKey?: string | null; csrfToken?: () => string | null; onUnauthorized?: () => void; fetch?: typeof fetch }): Api {
  const base = opts.baseUrl ?? '';
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  return {
    async call(route, options) {
      const o = (options ?? {}) as { params?: Record<string, string>; query?: object; body?: unknown; tenant?: string; signal?: AbortSignal };
      const space = route.indexOf(' ');
      const method = route.slice(0, space);
      const path = buildPath(route.slice(space + 1), o.params) + buildQuery(o.query);
      const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
      if (opts.adminKey) headers.authorization = `Bearer ${opts.adminKey}`;
      const csrf = opts.csrfToken?.();
      if (!opts.adminKey && csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
      if (o.tenant) headers['x-tenant-id'] = o.tenant;
      let body: string | undefined;
      if (o.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(o.body);
      }
      let res: Response;
      try {
        res = await doFetch(base + path, { method, headers, body, signal: o.signal, cache: 'no-store', credentials: opts.adminKey ? 'omit' : 'same-origin' });
      } catch (err) {
        if (err instanceof DOMException && err.name === 'AbortError') throw err;
        throw new ApiError({ type: 'about:blank', title: 'Cannot reach otpgate', status: 0, code: 'network.unreachable', detail: 'The request did not get an answer. Is the server running?', request_id: '' });
      }
      if (res.status === 204) return undefined as never;
      const text = await res.text();
      // A CSV export (text/csv) is answered as its text.
      if (res.ok && res.headers.get('content-type')?.startsWith('text/')) return text as never;
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!res.ok) {
        const p = (json && typeof json === 'object' ? json : {}) as Partial<Problem>;
        const problem: Problem = {
          ...p,
          type: p.type ?? 'about:blank',
          title: p.title ?? `HTTP ${res.status}`,
          status: p.status ?? res.status,
          code: p.code ?? `http.${res.status}`,
          request_id: p.request_id ?? res.headers.get('x-request-id') ?? '',
        };
        if (res.status === 401) opts.onUnauthorized?.();
        throw new ApiError(problem);
      }
      return json as never;
    },
  };
}
