/**
 * Shapes of otpgate's HTTP API as the console uses them. Written to match the server's
 * services (src/services/*.ts) and checked against a running server's /openapi.json by
 * scripts/check-openapi.mjs (every route the client calls must exist with that method).
 */

/** RFC 9457 problem document: every error answer. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  /** Stable dotted name from the catalog (`provider.validation_failed`, `auth.invalid_api_key` …). */
  code: string;
  detail?: string;
  request_id: string;
  /** Field errors; `path` is dotted (`custom_gateway.uri`, `settings.otp_length`). */
  issues?: { path: string; message: string }[];
  [extra: string]: unknown;
}

/** Every list answer. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface ListQuery {
  limit?: number;
  cursor?: string;
}

// --- tenants --------------------------------------------------------------------------------

export interface TestNumber {
  phone_number: string;
  code: string;
}

/** Resolved settings (defaults filled in), as GET /v1/tenants/{id} answers them. */
export interface TenantSettings {
  otp_length: number;
  otp_ttl_seconds: number;
  max_verify_attempts: number;
  resend_cooldown_seconds: number;
  max_sends_per_phone_per_hour: number;
  max_sends_per_ip_per_hour: number;
  allowed_countries: string[];
  app_name: string | null;
  sender_id: string | null;
  webotp_domain: string | null;
  android_app_hash: string | null;
  test_numbers: TestNumber[];
  max_segments: number;
  default_locale: string;
  /** A send while the phone's code is still valid: the same code again (`same_code`) or a new one that joins it (docs/verifications.md). */
  resend_policy: 'same_code' | 'new_code';
  /** Codes of digits, or of letters and digits without look-alikes (docs/verifications.md). */
  code_alphabet: 'digits' | 'alphanumeric';
  /** Fully resolved: every key and every rule's thresholds filled in. */
  fraud_guard: FraudGuardSettings;
  /** Only the limits the operator set; an absent one is no limit. */
  budget: BudgetSettings;
  sms_prices: SmsPrices;
}

/** A settings patch: `null` resets a setting to its default (or clears a nullable one). */
export type TenantSettingsPatch = { [K in keyof TenantSettings]?: TenantSettings[K] | null };

export interface Tenant {
  id: string;
  name: string;
  settings: TenantSettings;
  created_at: string;
  updated_at: string;
}

// --- API keys ---------------------------------------------------------------------------------

export interface ApiKey {
  id: string;
  tenant_id: string;
  name: string | null;
  /** First characters of the key, to recognise it (`otpg_AbCdEfG`). */
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  /** What the key may do (docs/api-keys.md); every scope for a key created without any. */
  scopes: ApiKeyScope[];
}

/** The scopes of an API key (src/domain/scopes.ts). */
export const apiKeyScopes = ['otp', 'messages:read', 'providers', 'settings', 'events'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

/** The create answer: `key` is shown this once and never again. */
export interface CreatedApiKey extends ApiKey {
  key: string;
}

// --- providers --------------------------------------------------------------------------------

/** One field of a provider's configuration (src/providers/types.ts ConfigField). */
export interface ConfigField {
  name: string;
  label: string;
  /** `secret` fields are write-only: never returned, masked as `"********"`. */
  type: 'string' | 'secret' | 'url' | 'enum';
  required: boolean;
  options?: readonly string[];
  help?: string;
  placeholder?: string;
  default?: string;
  /** The setting decides where the kind's secrets are sent (besides `endpoint` and URL fields): a stored secret is kept only while it is unchanged. */
  destination?: boolean;
  /** A secret that is never sent anywhere (it checks callbacks), so it is kept wherever the endpoint points. */
  unsent?: boolean;
}

export interface ProviderKind {
  /** The kind's API name (`Twilio`, `CustomGateway`, `Default` …). */
  id: string;
  /** Key of its settings object in PUT bodies (`custom_gateway`); null for `Default`. */
  configKey: string | null;
  displayName: string;
  fields: ConfigField[];
  /** False for `Default` when the operator configured no platform provider. */
  available?: boolean;
  /** otpgate asks the kind for delivery receipts: it sends them, and the server has a public URL for them (for `Default`: the platform provider). */
  receipts?: boolean;
  /** The kind's adapter takes delivery receipts (asked for only with OTPGATE_PUBLIC_URL set). */
  receipts_supported?: boolean;
  /** Saving the kind contacts the provider (a custom gateway's challenge); the others are checked for format only. */
  live_check?: boolean;
}

/** What the server masks secrets with; sending it back (or leaving the field out) keeps the stored value. */
export const SECRET_MASK = '********';

/** `{provider: "CustomGateway", custom_gateway: {...}}`: the kind plus its settings under its configKey. */
export interface ProviderSelection {
  provider: string;
  [configKey: string]: unknown;
}

export interface ProviderConfigView extends ProviderSelection {
  fallback: ProviderSelection | null;
  updated_at: string | null;
  /** The operator's platform provider kind behind `Default`, if any. */
  platform_default: string | null;
}

export interface ProviderConfigPut extends ProviderSelection {
  fallback?: ProviderSelection | null;
}

export interface TestSmsResult {
  status: 'accepted' | 'failed';
  provider: string;
  message_id: string;
  provider_message_id: string | null;
  latency_ms: number;
  segments: number;
  error: { kind: string; provider_code: string | null; http_status: number | null; message: string } | null;
  /** Whether a delivery receipt can follow, and if not why. */
  receipt?: 'requested' | 'not_supported' | 'no_public_url' | 'unsaved_config' | 'not_sent';
}

// --- messages ---------------------------------------------------------------------------------

export type MessageStatus = 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed';
export const messageStatuses: readonly MessageStatus[] = ['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed'];

export interface AttemptView {
  attempt: number;
  provider: string;
  /** `primary`, `fallback` or `default`. */
  slot: string;
  started_at: string;
  latency_ms: number;
  outcome: 'accepted' | 'failed';
  error_kind: string | null;
  provider_code: string | null;
  http_status: number | null;
  error_message: string | null;
  provider_message_id: string | null;
}

export interface MessageView {
  id: string;
  kind: 'otp' | 'event' | 'test';
  to: string;
  purpose: string | null;
  challenge_id: string | null;
  /** The text with any passcode replaced by `*` (the server masks it). */
  body: string;
  encoding: string;
  segments: number;
  status: MessageStatus;
  attempts: number;
  provider: string | null;
  provider_message_id: string | null;
  error: { kind: string | null; code: string | null; message: string | null } | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
  delivered_at: string | null;
  next_attempt_at: string | null;
  attempt_log?: AttemptView[];
}

export interface MessageQuery extends ListQuery {
  status?: MessageStatus;
  phone_number?: string;
  /** `+` and the first digits. */
  phone_prefix?: string;
  /** The last digits. */
  phone_suffix?: string;
  purpose?: string;
  kind?: 'otp' | 'event' | 'test';
  provider?: string;
  /** Created on or after: `YYYY-MM-DD` (UTC) or an ISO date-time. */
  from?: string;
  /** Created up to: `YYYY-MM-DD` (through that day, UTC) or an ISO date-time (before it). */
  to?: string;
}

export interface InboxItem {
  id: string;
  message_id?: string;
  to: string;
  /** The full text, with the code (the Inbox is the developer's own phone). */
  body: string;
  created_at: string;
}

// --- templates --------------------------------------------------------------------------------

export interface TemplateView {
  purpose: string;
  locale: string;
  resolved_locale: string | null;
  body: string;
  is_default: boolean;
  encoding: 'GSM-7' | 'UCS-2';
  segments: number;
  characters: number;
  preview: string;
  updated_at: string | null;
}

export interface TemplateList {
  items: { purpose: string; locale: string; body: string; encoding: string; segments: number; updated_at: string }[];
  defaults: { purpose: string; body: string }[];
}

// --- audit and stats --------------------------------------------------------------------------

export interface AuditRecord {
  id: string;
  tenant_id: string | null;
  actor: string;
  /** `operator`, `api_key`, `admin_key` or `system`; null on entries older than operators. */
  actor_type: 'operator' | 'api_key' | 'admin_key' | 'system' | null;
  /** The operator's email when an operator acted. */
  actor_email: string | null;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  created_at: string;
}

export type StatsWindow = '1h' | '24h' | '7d';

export interface StatsBucket {
  start: string;
  sends: number;
  /** Accepted by a provider (sent, delivered or undelivered). */
  sent: number;
  /** Of the accepted, those whose provider was asked for a delivery receipt (the delivery rate's base). */
  receipts_expected?: number;
  delivered: number;
  /** Accepted, then reported not delivered by a receipt. */
  undelivered: number;
  /** Never accepted. */
  failed: number;
  /** Challenges created (the server's name); `verifies` is accepted too. */
  challenges?: number;
  verifies?: number;
  verified: number;
  attempts?: number;
  failed_attempts?: number;
  avg_provider_latency_ms: number | null;
  latency_by_provider?: Record<string, number>;
}

export interface Stats {
  window?: StatsWindow;
  bucket_seconds?: number;
  buckets: StatsBucket[];
}

// --- fraud guard (src/domain/fraud/settings.ts, src/services/fraud-guard.ts) ------------------

export type FraudMode = 'enforce' | 'record_only' | 'off';

/** libphonenumber number types in snake case, as the server lists them. */
export const numberTypes = [
  'premium_rate',
  'shared_cost',
  'toll_free',
  'uan',
  'pager',
  'voicemail',
  'personal_number',
  'voip',
  'fixed_line',
  'mobile',
  'fixed_line_or_mobile',
] as const;
export type NumberType = (typeof numberTypes)[number];

/** A tripwire that fires when the unverified count passes max(floor, ratio × a baseline). */
export interface FloorRatio {
  floor: number;
  ratio: number;
}

export interface FraudThresholds {
  country_day: FloorRatio;
  country_hour: FloorRatio;
  prefix_hour: FloorRatio;
  prefix_day: FloorRatio;
  prefix_velocity: { numbers: number; span: number; window_minutes: number };
  ip_countries: { max: number };
  ip_day: FloorRatio;
  number_day: { max: number };
}

export interface FraudGuardSettings {
  mode: FraudMode;
  blocked_number_types: NumberType[];
  blocked_countries: string[];
  /** E.164 numbers or prefixes never blocked by a tripwire. */
  safe_list: string[];
  prefix_digits: number;
  /** Length of a first block; a repeat within 24 h doubles it, up to 720. */
  block_minutes: number;
  thresholds: FraudThresholds;
}

export interface BudgetSettings {
  daily_messages?: number;
  monthly_messages?: number;
  daily_spend?: number;
  monthly_spend?: number;
}

/** Price of one segment per ISO country, and `default` for the others. */
export type SmsPrices = Record<string, number>;

/** A block or a would-block (record_only), as the fraud-guard routes answer it. */
export interface FraudDecision {
  id: string;
  action: 'block' | 'would_block';
  kind: 'country' | 'prefix' | 'number' | 'ip' | 'number_type';
  /** The country (GB), prefix (+4477009001), client IP or number type. */
  key: string;
  rule: string;
  /** The figures that decided it, in one line. */
  reason: string;
  figures: Record<string, number>;
  /** 0 for a first block; each repeat within 24 h adds one and doubles its length. */
  level: number;
  /** Sends it refused (or would have refused). */
  hits: number;
  created_at: string;
  expires_at: string;
  lifted_at: string | null;
  lifted_by: string | null;
}

export interface DecisionQuery extends ListQuery {
  action?: 'block' | 'would_block';
}

export type FraudStatsWindow = '24h' | '7d' | '30d';

export interface FraudStatsRow {
  sent: number;
  verified: number;
  /** verified ÷ sent (0–1); null when nothing was sent. */
  conversion: number | null;
  segments: number;
  /** segments × sms_prices at the time of each send. */
  cost: number;
}

export interface BudgetUse {
  messages: number;
  spend: number;
  start: string;
  end: string;
}

export interface FraudStats {
  window: FraudStatsWindow;
  since: string;
  countries: Array<{ country: string } & FraudStatsRow>;
  prefixes: Array<{ prefix: string } & FraudStatsRow>;
  budget: { limits: BudgetSettings; day: BudgetUse; month: BudgetUse };
}

export type OperatorRole = 'owner' | 'admin' | 'tenant_admin' | 'viewer';

export const OPERATOR_ROLES: readonly OperatorRole[] = ['owner', 'admin', 'tenant_admin', 'viewer'];

export interface Operator {
  id: string;
  email: string;
  role: OperatorRole;
  tenant_ids: string[];
  totp_enabled: boolean;
  has_password: boolean;
  disabled: boolean;
  created_at: string;
  updated_at: string;
  last_sign_in_at: string | null;
}

/** Who is signed in (`GET /v1/auth/me`): an operator with its session's CSRF token, or the admin key. */
export interface Me {
  kind: 'operator' | 'admin_key';
  role: OperatorRole;
  operator: Operator | null;
  /** The tenants of a tenant_admin (id and name); null for every other role. */
  tenants: { id: string; name: string }[] | null;
  csrf_token: string | null;
  expires_at: string | null;
}

export interface SignInAnswer {
  operator: Operator;
  csrf_token: string;
  expires_at: string;
}

// --- events (src/http/routes/event-endpoints.ts, docs/events.md) ---------------------------

export interface EventEndpoint {
  id: string;
  url: string;
  description: string | null;
  /** The event types it receives; null: every type. */
  events: string[] | null;
  enabled: boolean;
  /** Why otpgate turned it off (its deliveries failed for 3 days). */
  disabled_reason: string | null;
  failing_since: string | null;
  /** During a rotation: until when the previous secret also signs. */
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

/** The create answer: `secret` is shown this once and never again. */
export interface CreatedEventEndpoint extends EventEndpoint {
  secret: string;
}

export interface RotatedSecret {
  id: string;
  secret: string;
  previous_secret_expires_at: string;
}

export type EventDeliveryStatus = 'queued' | 'sending' | 'delivered' | 'failed';

export interface EventDelivery {
  id: string;
  /** The `webhook-id`: the same on every retry and on "send again". */
  event_id: string;
  type: string;
  status: EventDeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_http_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  payload: unknown;
}

export interface EventEndpointInput {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
}
