import type { z } from 'zod';
import type { Logger } from 'pino';
import type { HttpClient } from './http.js';
import type { Clock } from '../domain/clock.js';

/** What the dispatcher hands an adapter. The body holds the code: never log it. */
export interface SendRequest {
  /** otpgate's message id (`msg_…`); adapters may pass it as the provider's client reference. */
  messageId: string;
  tenantId: string;
  /** Recipient in E.164 with the leading `+`. Adapters convert to the provider's format. */
  to: string;
  /** The rendered text, as it must arrive on the phone. */
  body: string;
  /** Tenant's `sender_id` setting, when set; the adapter's own sender config wins when present. */
  from?: string;
  /** URL the provider should post delivery receipts to, when the provider supports per-message callbacks. */
  statusCallbackUrl?: string;
  /** Aborted when the attempt's deadline passes or the process drains. */
  signal: AbortSignal;
}

export interface SendResult {
  /** The provider's id for this message (used to match delivery receipts), when it returns one. */
  providerMessageId: string | null;
  /** Segments the provider says it billed, when it reports them. */
  segments?: number;
}

/** Resolves when the provider accepted the message; rejects only with ProviderError. No per-call state. */
export interface SmsProvider {
  send(request: SendRequest): Promise<SendResult>;
}

/** One field of a provider's configuration, as the admin console renders it. */
export interface ConfigField {
  name: string;
  label: string;
  /** `secret` fields are write-only: never returned by the API, masked as `"********"`. */
  type: 'string' | 'secret' | 'url' | 'enum';
  required: boolean;
  options?: readonly string[];
  help?: string;
  placeholder?: string;
  default?: string;
  /**
   * The setting decides which host the kind's secrets are sent to (besides `endpoint` and
   * `url` fields, which always do): a stored secret is reused only while it is unchanged.
   */
  destination?: boolean;
  /** A `secret` that is never sent anywhere (it checks what the provider sends us), so it is kept wherever the endpoint points. */
  unsent?: boolean;
}

/** Normalised delivery status of a message, after the provider accepted it. */
export type DeliveryStatus = 'sent' | 'delivered' | 'undelivered' | 'failed';

/** One delivery receipt parsed from a provider callback. */
export interface DeliveryReceipt {
  providerMessageId: string;
  status: DeliveryStatus;
  /** The provider's own status word (`delivered`, `D`, `delivery_failed` …). */
  providerStatus: string;
  providerErrorCode?: string;
  at?: Date;
  /**
   * otpgate's own message id (`msg_…`), when the provider echoes the reference we gave it
   * (MessageBird `reference`, Textlocal `customID`). Match on it first when present: Textlocal
   * receipts carry no provider message id at all, so there `providerMessageId` is this value too.
   */
  messageId?: string;
}

/** A provider callback as it reached otpgate, before any parsing. */
export interface CallbackRequest {
  method: string;
  /** The full public URL the provider called (scheme, host, path, query). */
  url: string;
  headers: Record<string, string | undefined>;
  query: Record<string, string>;
  rawBody: string;
  /**
   * When the callback arrived, in ms since the epoch, for signature freshness checks
   * (MessageBird JWT `exp`/`iat`). The route passes `clock.now()`; defaults to `Date.now()`.
   */
  now?: number;
}

/** Thrown by `receipts.parse` when a callback's signature is missing (answered 401) or wrong (403). */
export class CallbackSignatureError extends Error {
  constructor(readonly missing: boolean, message: string) {
    super(message);
    this.name = 'CallbackSignatureError';
  }
}

/** Where the Inbox provider leaves messages: implemented by the service layer. */
export interface InboxSink {
  capture(message: { tenantId: string; messageId: string; to: string; body: string }): Promise<string>;
}

export interface ProviderContext {
  http: HttpClient;
  clock: Clock;
  logger: Logger;
  inbox: InboxSink;
}

/**
 * Everything otpgate knows about one provider kind. Adding a provider is one folder under
 * src/providers with an `index.ts` exporting its descriptor, plus one line in registry.ts.
 */
export interface ProviderDescriptor<C = unknown> {
  /** The kind's name in the API (`Twilio`, `CustomGateway` …). */
  id: string;
  /** The kind's key in `PUT /cis/v1/tenantsmsproviders` bodies (`twilio`, `custom_gateway` …). */
  configKey: string;
  displayName: string;
  /** Validates on save and on build. Must accept an optional `endpoint` base URL override. */
  configSchema: z.ZodType<C>;
  /** Drives the console form. Every `secret` field here is sealed at rest and masked on read. */
  fields: readonly ConfigField[];
  /** Cheap, no I/O. */
  create(config: C, ctx: ProviderContext): SmsProvider;
  /** Checked on save, e.g. the custom gateway challenge. Throws ProviderError on failure. */
  validate?(config: C, ctx: ProviderContext): Promise<void>;
  /** Delivery receipts: parse a callback into receipts, checking its signature where the provider signs. */
  receipts?: {
    parse(config: C, request: CallbackRequest): DeliveryReceipt[];
  };
}
