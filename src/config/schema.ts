import { z } from 'zod';

/** A whole number in [min, max], read from its decimal text; one message for every way it can be wrong. */
function wholeNumber(min: number, max: number, fallback: number) {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error }).default(fallback);
}

/**
 * Every setting otpgate reads from the environment: name, type, default, range and meaning.
 * docs/configuration.md is the same table in words; test/meta/config-docs.test.ts keeps them in step.
 */
export const configSchema = z.strictObject({
  /** `sqlite:<path>` (embedded default) or `postgres://…`. */
  databaseUrl: z
    .string()
    .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:<path> or postgres://…')
    .default('sqlite:./data/otpgate.db'),
  host: z.string().min(1).default('127.0.0.1'),
  port: wholeNumber(0, 65535, 8080),
  env: z.enum(['development', 'production'], { error: 'must be development or production' }).default('development'),
  /** Bearer token of the operator. Generated into the data folder in development when absent. */
  adminKey: z.string().min(24, 'must be at least 24 characters').optional(),
  /** Refuse the admin key (operators sign in instead); production may then leave `adminKey` unset. */
  adminKeyDisabled: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false').transform((v) => v === 'true'),
  /** Minutes without a request after which a console session ends. */
  sessionIdleMinutes: wholeNumber(5, 1440, 60),
  /** Hours after sign-in at which a console session ends whatever its use. */
  sessionMaxHours: wholeNumber(1, 720, 12),
  /** OpenID Connect single sign-on for operators (docs/operators.md): the provider's issuer URL. */
  oidcIssuer: z.url({ protocol: /^https?$/, error: 'must be the absolute http(s) URL of the OpenID provider (its issuer)' }).optional(),
  oidcClientId: z.string().min(1).max(512).optional(),
  oidcClientSecret: z.string().min(1).max(4096).optional(),
  /** Space-separated scopes asked for; `openid` is required. */
  oidcScopes: z
    .string()
    .regex(/^(\S+ )*\S+$/, 'must be scopes separated by single spaces')
    .refine((v) => v.split(' ').includes('openid'), 'must include openid')
    .default('openid email profile'),
  /** Comma-separated email domains whose users may sign in with the default role. */
  oidcAllowedDomains: z
    .string()
    .regex(/^\s*[a-z0-9.-]+\.[a-z]{2,}\s*(,\s*[a-z0-9.-]+\.[a-z]{2,}\s*)*$/i, 'must be email domains separated by commas, e.g. example.com,example.org')
    .optional(),
  /** The ID token or userinfo claim holding the user's groups. */
  oidcGroupsClaim: z.string().regex(/^[A-Za-z0-9_:./-]{1,100}$/, 'must be a claim name').default('groups'),
  /** `group:role` pairs, comma-separated; roles owner, admin or viewer. */
  oidcRoleMap: z
    .string()
    .regex(/^\s*[^,:\s][^,:]*:\s*(owner|admin|viewer)\s*(,\s*[^,:\s][^,:]*:\s*(owner|admin|viewer)\s*)*$/, 'must be group:role pairs separated by commas, roles owner, admin or viewer (e.g. otpgate-admins:admin)')
    .optional(),
  /** Role of a new operator from an allowed domain with no mapped group; unset: only existing operators and mapped groups. */
  oidcDefaultRole: z.enum(['admin', 'viewer'], { error: 'must be admin or viewer' }).optional(),
  /** AES-256 key(s) for sealing secrets and bodies: base64 of 32 bytes, or `id:base64,id2:base64` (first active). */
  secretKey: z.string().min(1).optional(),
  /** Public base URL of this service, used to build provider callback URLs. */
  publicUrl: z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL, e.g. https://otp.example.com' }).optional(),
  /** The `Default` provider kind, e.g. `Twilio`; `Inbox` in development when unset. */
  defaultProvider: z.string().min(1).optional(),
  /** JSON configuration of the `Default` provider, in the kind's own schema. */
  defaultProviderConfig: z.string().optional(),
  redisUrl: z.string().regex(/^rediss?:\/\//, 'must be redis://…').optional(),
  logLevel: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be fatal, error, warn, info, debug, trace or silent' })
    .default('info'),
  /** Folder for generated keys and the default SQLite file. */
  dataDir: z.string().min(1).default('./data'),
  /** Messages the dispatcher sends at once. */
  dispatchConcurrency: wholeNumber(1, 1000, 32),
  /** How long a claimed message stays leased to a dispatcher before another may take it, ms. */
  dispatchLeaseMs: wholeNumber(1000, 600_000, 30_000),
  /** Run the dispatcher in a worker thread: `auto` (for a SQLite file), `on` or `off`. */
  dispatchWorker: z.enum(['auto', 'on', 'off'], { error: 'must be auto, on or off' }).default('auto'),
  /** Deadline of one provider call, ms. */
  providerTimeoutMs: wholeNumber(100, 120_000, 10_000),
  /** PostgreSQL pool size per node. */
  pgPoolSize: wholeNumber(1, 500, 10),
  /** PostgreSQL statement timeout, ms. */
  pgStatementTimeoutMs: wholeNumber(100, 600_000, 5000),
  /** Opening a PostgreSQL connection, or waiting for a free pool slot, ms. */
  pgConnectTimeoutMs: wholeNumber(100, 60_000, 3000),
  /** Client-side deadline of one PostgreSQL query (a server that does not answer at all), ms. */
  pgQueryTimeoutMs: wholeNumber(100, 600_000, 6000),
  /** Largest request body accepted, bytes. */
  bodyLimitBytes: wholeNumber(1024, 10 * 1024 * 1024, 64 * 1024),
  /** Graceful shutdown: how long to wait for in-flight sends, ms. */
  shutdownGraceMs: wholeNumber(0, 600_000, 10_000),
  /** Days challenges and verifications are kept after their code expired (docs/data-lifecycle.md). */
  codeRetentionDays: wholeNumber(1, 365, 7),
  /** Days messages, their delivery attempts and receipts, and inbox items are kept. */
  messageRetentionDays: wholeNumber(1, 3650, 30),
  /** Days audit log entries are kept. */
  auditRetentionDays: wholeNumber(1, 3650, 365),
  /** Days after which phone numbers in rows still kept are replaced by a keyed hash; unset: never. */
  phoneRetentionDays: z.coerce
    .number({ error: 'must be a whole number from 1 to 3650' })
    .int({ error: 'must be a whole number from 1 to 3650' })
    .min(1, { error: 'must be a whole number from 1 to 3650' })
    .max(3650, { error: 'must be a whole number from 1 to 3650' })
    .optional(),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;

/** Environment variable → config key. */
export const envNames: Record<keyof ParsedConfig, string> = {
  databaseUrl: 'OTPGATE_DATABASE_URL',
  host: 'OTPGATE_HOST',
  port: 'OTPGATE_PORT',
  env: 'OTPGATE_ENV',
  adminKey: 'OTPGATE_ADMIN_KEY',
  adminKeyDisabled: 'OTPGATE_ADMIN_KEY_DISABLED',
  sessionIdleMinutes: 'OTPGATE_SESSION_IDLE_MINUTES',
  sessionMaxHours: 'OTPGATE_SESSION_MAX_HOURS',
  secretKey: 'OTPGATE_SECRET_KEY',
  oidcIssuer: 'OTPGATE_OIDC_ISSUER',
  oidcClientId: 'OTPGATE_OIDC_CLIENT_ID',
  oidcClientSecret: 'OTPGATE_OIDC_CLIENT_SECRET',
  oidcScopes: 'OTPGATE_OIDC_SCOPES',
  oidcAllowedDomains: 'OTPGATE_OIDC_ALLOWED_DOMAINS',
  oidcGroupsClaim: 'OTPGATE_OIDC_GROUPS_CLAIM',
  oidcRoleMap: 'OTPGATE_OIDC_ROLE_MAP',
  oidcDefaultRole: 'OTPGATE_OIDC_DEFAULT_ROLE',
  publicUrl: 'OTPGATE_PUBLIC_URL',
  defaultProvider: 'OTPGATE_DEFAULT_PROVIDER',
  defaultProviderConfig: 'OTPGATE_DEFAULT_PROVIDER_CONFIG',
  redisUrl: 'OTPGATE_REDIS_URL',
  logLevel: 'OTPGATE_LOG_LEVEL',
  dataDir: 'OTPGATE_DATA_DIR',
  dispatchConcurrency: 'OTPGATE_DISPATCH_CONCURRENCY',
  dispatchLeaseMs: 'OTPGATE_DISPATCH_LEASE_MS',
  dispatchWorker: 'OTPGATE_DISPATCH_WORKER',
  providerTimeoutMs: 'OTPGATE_PROVIDER_TIMEOUT_MS',
  pgPoolSize: 'OTPGATE_PG_POOL_SIZE',
  pgStatementTimeoutMs: 'OTPGATE_PG_STATEMENT_TIMEOUT_MS',
  pgConnectTimeoutMs: 'OTPGATE_PG_CONNECT_TIMEOUT_MS',
  pgQueryTimeoutMs: 'OTPGATE_PG_QUERY_TIMEOUT_MS',
  bodyLimitBytes: 'OTPGATE_BODY_LIMIT_BYTES',
  shutdownGraceMs: 'OTPGATE_SHUTDOWN_GRACE_MS',
  codeRetentionDays: 'OTPGATE_CODE_RETENTION_DAYS',
  messageRetentionDays: 'OTPGATE_MESSAGE_RETENTION_DAYS',
  auditRetentionDays: 'OTPGATE_AUDIT_RETENTION_DAYS',
  phoneRetentionDays: 'OTPGATE_PHONE_RETENTION_DAYS',
};
