import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Row types of every table. Times are milliseconds since the epoch (bigint columns, read as
 * numbers on both engines). JSON columns hold text. Secrets and message bodies are sealed
 * (AES-256-GCM, see src/crypto/secret-box.ts) before they reach a row.
 */
export interface TenantsTable {
  id: string;
  name: string;
  /** JSON of the tenant's settings, only the ones set (defaults are applied on read). */
  settings: string;
  created_at: number;
  updated_at: number;
  /** Set when the tenant was deleted: it is gone from every read; housekeeping removes its rows, then it. */
  deleted_at?: number | null;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string | null;
  /** sha256 hex of the whole key; the key itself is shown once and never stored. */
  key_hash: string;
  /** First characters of the key, shown in lists so an operator can tell keys apart. */
  key_prefix: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  /** The key's scopes space-separated (src/domain/scopes.ts), or null for all of them. */
  scopes: string | null;
}

export type ProviderSlot = 'primary' | 'fallback';

export interface ProviderConfigsTable {
  tenant_id: string;
  slot: ProviderSlot;
  kind: string;
  /** The whole kind-specific configuration as JSON, sealed. */
  config_sealed: string;
  updated_at: number;
  updated_by: string;
}

export interface TemplatesTable {
  tenant_id: string;
  purpose: string;
  locale: string;
  body: string;
  encoding: string;
  segments: number;
  updated_at: number;
}

export type ChallengeStatus = 'pending' | 'verified' | 'expired' | 'locked' | 'superseded' | 'canceled';

export interface ChallengesTable {
  id: string;
  tenant_id: string;
  phone: string;
  purpose: string;
  /** HMAC-SHA256 of the code bound to the challenge id; never the code. */
  code_hash: string;
  status: ChallengeStatus;
  attempts: number;
  max_attempts: number;
  client_ip: string | null;
  /** 1 when the phone is one of the tenant's test numbers (nothing was sent). */
  is_test: number;
  message_id: string | null;
  created_at: number;
  expires_at: number;
  resend_available_at: number;
  verified_at: number | null;
  /** When the code was verified here or reported used elsewhere (feedback); counted once by the fraud guard. */
  converted_at?: number | null;
  /** The verification this send belongs to (null only for codes that had ended before 0009). */
  verification_id?: string | null;
}

/** `max_attempts_reached` is Twilio's word for a verification locked by wrong codes. */
export type VerificationStatus = 'pending' | 'approved' | 'canceled' | 'max_attempts_reached' | 'expired';

/** A code and its resends for one phone and purpose (docs/verifications.md). */
export interface VerificationsTable {
  id: string;
  tenant_id: string;
  phone: string;
  purpose: string;
  status: VerificationStatus;
  /** Wrong codes entered, across every send of the verification. */
  attempts: number;
  max_attempts: number;
  /** `same_code` policy: the code, sealed, while the verification is pending; null after. */
  code_sealed: string | null;
  /** PSD2 dynamic linking: what the code is bound to (also shown in the message). */
  amount: string | null;
  payee: string | null;
  created_at: number;
  updated_at: number;
  /** When the last of its codes expires. */
  expires_at: number;
  approved_at: number | null;
}

export type MessageStatus = 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed';
export type MessageKind = 'otp' | 'event' | 'test';

export interface MessagesTable {
  id: string;
  tenant_id: string;
  kind: MessageKind;
  challenge_id: string | null;
  purpose: string | null;
  to_phone: string;
  /** Rendered body, sealed with the message id as AAD; null once the message is final. */
  body_sealed: string | null;
  /** Rendered body with the code replaced by `*`, kept for the message log. */
  body_masked: string;
  sender_id: string | null;
  encoding: string;
  segments: number;
  status: MessageStatus;
  /** Attempts made so far, over all providers. */
  attempts: number;
  /** Index in the provider chain (primary, fallback, Default) the next attempt uses. */
  chain_index: number;
  /** Attempts made on the current chain entry. */
  chain_attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  lease_owner: string | null;
  /** No attempt is made after this (the code's expiry for passcodes). */
  expires_at: number;
  provider: string | null;
  provider_message_id: string | null;
  error_kind: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  delivered_at: number | null;
}

export interface MessageAttemptsTable {
  id: string;
  message_id: string;
  tenant_id: string;
  attempt_no: number;
  provider: string;
  slot: string;
  started_at: number;
  latency_ms: number;
  outcome: 'accepted' | 'failed';
  error_kind: string | null;
  provider_code: string | null;
  http_status: number | null;
  error_message: string | null;
  provider_message_id: string | null;
}

export interface AuditLogTable {
  id: string;
  tenant_id: string | null;
  /** `admin` (the admin key), the API key id, the operator id, or a system part (`cli`, `fraud_guard`). */
  actor: string;
  /** `admin_key`, `api_key`, `operator` or `system`; null on entries written before operators existed. */
  actor_type: string | null;
  /** The operator's email when an operator acted (kept as it was then). */
  actor_email: string | null;
  action: string;
  target: string | null;
  /** JSON details; never a secret. */
  details: string;
  created_at: number;
}

export interface InboxMessagesTable {
  id: string;
  tenant_id: string;
  message_id: string;
  to_phone: string;
  body_sealed: string;
  created_at: number;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  key: string;
  route: string;
  request_hash: string;
  status_code: number;
  response: string;
  created_at: number;
  expires_at: number;
}

/** Codes sent and verified per tenant, key and hour bucket (migration 0007 names the keys). */
export interface FraudCountersTable {
  tenant_id: string;
  key: string;
  bucket: number;
  sent: number;
  verified: number;
  segments: number;
  cost_micros: number;
}

export interface FraudDecisionsTable {
  id: string;
  tenant_id: string;
  /** `block` (enforced) or `would_block` (record_only: nothing was refused). */
  action: 'block' | 'would_block';
  kind: 'country' | 'prefix' | 'number' | 'ip' | 'number_type';
  /** Scoped like fraud_counters keys: `c:GB`, `p:+4477009001`, `i:203.0.113.7`, `t:premium_rate`. */
  key: string;
  rule: string;
  reason: string;
  /** JSON of the figures behind `reason`. */
  figures: string;
  /** 0 for a first block; each repeat within 24 h adds one and doubles the length. */
  level: number;
  /** Sends refused (or, record_only, that would have been) while it was active. */
  hits: number;
  created_at: number;
  expires_at: number;
  lifted_at: number | null;
  lifted_by: string | null;
}

export interface FraudBudgetUsageTable {
  tenant_id: string;
  period: 'day' | 'month';
  start: number;
  messages: number;
  spend_micros: number;
}

/** A platform receiver of a tenant (migration 0010; docs/integrations.md). */
export interface ReceiverConfigsTable {
  tenant_id: string;
  /** `supabase`, `logto`, `auth0`, `zitadel`, `kratos`, `mosaic`. */
  platform: string;
  /** 1 on, 0 off (the platform's calls are answered 404). */
  enabled: number;
  /** JSON array of 1–2 secrets, sealed with the secret box (AAD `receiver:<tenant>:<platform>`). */
  secrets_sealed: string;
  created_at: number;
  updated_at: number;
}

/** A request a receiver accepted, remembered until `expires_at` so a replay is refused. */
export interface ReceiverReplaysTable {
  tenant_id: string;
  platform: string;
  /** SHA-256 (base64url) of what identifies the request: its webhook id, signature or body. */
  replay_key: string;
  expires_at: number;
}

/** How far housekeeping has hashed the phone numbers of a table (migration 0008). */
export interface LifecycleMarksTable {
  /** `phone:<table>`. */
  name: string;
  /** Rows with a smaller id have had their numbers hashed. */
  until_id: string;
}

/** A tenant's webhook endpoint for events (migration 0013; docs/events.md). */
export interface EventEndpointsTable {
  /** `whe_…`. */
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  /** JSON array of event types; NULL: every type. */
  events: string | null;
  /** The `whsec_…` secret, sealed (AAD `event-endpoint:<id>`). */
  secret_sealed: string;
  /** The secret before the last rotation, also signed with until `previous_secret_until` (ms). */
  previous_secret_sealed: string | null;
  previous_secret_until: number | null;
  /** 1 on, 0 off (by the tenant, or after failing for 3 days: `disabled_reason`). */
  enabled: number;
  disabled_reason: string | null;
  /** When the first failure since the last success happened (ms), or NULL. */
  failing_since: number | null;
  created_at: number;
  updated_at: number;
}

export type EventDeliveryStatus = 'queued' | 'sending' | 'delivered' | 'failed';

/** The events outbox: one row per event and endpoint (migration 0013). */
export interface EventDeliveriesTable {
  /** `evd_…`. */
  id: string;
  /** `evt_…`: the `webhook-id`, the same on every retry. */
  event_id: string;
  tenant_id: string;
  endpoint_id: string;
  type: string;
  /** The exact JSON body sent. */
  payload: string;
  status: EventDeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_attempt_at: number | null;
  last_http_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

/** People who sign in to the console (docs/operators.md). */
export interface OperatorsTable {
  id: string;
  /** Lower-cased; unique. */
  email: string;
  /** Self-describing scrypt hash (src/domain/password.ts); null: no password sign-in (single sign-on only). */
  password_hash: string | null;
  /** `owner`, `admin`, `tenant_admin` or `viewer` (src/domain/roles.ts). */
  role: string;
  /** The TOTP secret in use, sealed with the secret box (AAD: the operator id); null: no second factor. */
  totp_secret_sealed: string | null;
  /** A secret set up but not yet confirmed with a code. */
  totp_pending_sealed: string | null;
  /** The last 30 s step whose code was accepted: that code and older ones are refused. */
  totp_last_step: number | null;
  /** 1: may not sign in, and its sessions stop working. */
  disabled: number;
  created_at: number;
  updated_at: number;
  last_sign_in_at: number | null;
}

/** The tenants a `tenant_admin` operator acts on. */
export interface OperatorTenantsTable {
  operator_id: string;
  tenant_id: string;
}

export interface OperatorSessionsTable {
  /** sha256 hex of the cookie's random token; the token itself is never stored. */
  id: string;
  operator_id: string;
  /** Sent back in X-CSRF-Token on every unsafe request of the session. */
  csrf_token: string;
  created_at: number;
  /** Refreshed at most once a minute; idle expiry counts from it. */
  last_seen_at: number;
  /** Absolute expiry. */
  expires_at: number;
}

/** Failed sign-ins per account (`email:…`) and per client address (`ip:…`). */
export interface SignInThrottleTable {
  key: string;
  failures: number;
  window_start: number;
  locked_until: number | null;
}

export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  provider_configs: ProviderConfigsTable;
  templates: TemplatesTable;
  challenges: ChallengesTable;
  verifications: VerificationsTable;
  messages: MessagesTable;
  message_attempts: MessageAttemptsTable;
  audit_log: AuditLogTable;
  inbox_messages: InboxMessagesTable;
  idempotency_keys: IdempotencyKeysTable;
  fraud_counters: FraudCountersTable;
  fraud_decisions: FraudDecisionsTable;
  fraud_budget_usage: FraudBudgetUsageTable;
  receiver_configs: ReceiverConfigsTable;
  receiver_replays: ReceiverReplaysTable;
  lifecycle_marks: LifecycleMarksTable;
  event_endpoints: EventEndpointsTable;
  event_deliveries: EventDeliveriesTable;
  operators: OperatorsTable;
  operator_tenants: OperatorTenantsTable;
  operator_sessions: OperatorSessionsTable;
  sign_in_throttle: SignInThrottleTable;
}

export type Tenant = Selectable<TenantsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type ProviderConfigRow = Selectable<ProviderConfigsTable>;
export type TemplateRow = Selectable<TemplatesTable>;
export type Challenge = Selectable<ChallengesTable>;
export type NewChallenge = Insertable<ChallengesTable>;
export type Verification = Selectable<VerificationsTable>;
export type Message = Selectable<MessagesTable>;
export type NewMessage = Insertable<MessagesTable>;
export type MessageUpdate = Updateable<MessagesTable>;
export type MessageAttempt = Selectable<MessageAttemptsTable>;
export type NewMessageAttempt = Insertable<MessageAttemptsTable>;
export type AuditEntry = Selectable<AuditLogTable>;
export type InboxMessage = Selectable<InboxMessagesTable>;
export type ReceiverConfigRow = Selectable<ReceiverConfigsTable>;
export type IdempotencyRow = Selectable<IdempotencyKeysTable>;
export type FraudDecision = Selectable<FraudDecisionsTable>;
export type { Generated };
export type EventEndpointRow = Selectable<EventEndpointsTable>;
export type EventDeliveryRow = Selectable<EventDeliveriesTable>;
export type OperatorRow = Selectable<OperatorsTable>;
export type OperatorSessionRow = Selectable<OperatorSessionsTable>;
