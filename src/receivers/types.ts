/**
 * Platform receivers: otpgate in the place of the SMS webhook an identity platform calls
 * (DESIGN.md "Platform receivers and events"; docs/integrations.md). One folder per platform
 * parses, authenticates and answers in that platform's own form; src/services/receiver-service.ts
 * does the rest (tenant, replay memory, fraud guard, budgets, outbox) the same way for all.
 */

export const platforms = ['supabase', 'logto', 'auth0', 'zitadel', 'kratos', 'mosaic'] as const;
export type Platform = (typeof platforms)[number];

/** A platform's call as received, before anything is trusted. */
export interface ReceiverRequest {
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body exactly as received: signatures are over these bytes. */
  rawBody: string;
  /** `rawBody` parsed as JSON; undefined when it is not JSON. */
  body: unknown;
  /** ms since the epoch (the injected clock). */
  now: number;
  tenantId: string;
}

/**
 * Authenticated: `replayKey` names this request for the replay memory (a webhook id, a
 * signature, or the body when the platform sends neither), never a secret in clear.
 */
export type Authentication = { ok: true; replayKey: string } | { ok: false; reason: string };

/** The SMS a platform asks for. */
export interface InboundSms {
  /** The recipient as the platform gave it (`+` is added to bare digits). */
  to: string;
  /** The client's IP, when the platform forwards it: counted by the fraud guard's IP rules. */
  clientIp?: string;
  /**
   * Either the platform sent only the code (otpgate renders the tenant's template for
   * `purpose` and `locale`), or the whole text (sent as it is). `code` in the second form is
   * a code the platform also gave separately, masked in the log.
   */
  content: { kind: 'code'; code: string; purpose: string; locale?: string } | { kind: 'text'; text: string; code?: string };
}

export type ParseResult = { ok: true; sms: InboundSms } | { ok: false; reason: string };

/** An HTTP answer in the platform's own form. */
export interface PlatformAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ReceiverDescriptor {
  platform: Platform;
  displayName: string;
  /**
   * Whether otpgate may make the secret. False where the platform makes it itself (Zitadel
   * returns its signing key when the provider is created): the user must pass it.
   */
  canGenerateSecret: boolean;
  generateSecret(): string;
  /** What is wrong with a secret the user gives, or undefined. Never quotes the secret. */
  secretProblem(secret: string): string | undefined;
  /** Checks the platform's authentication against each active secret (rotation: two). */
  authenticate(request: ReceiverRequest, secrets: readonly string[]): Authentication;
  parse(request: ReceiverRequest): ParseResult;
  accepted(messageId: string): PlatformAnswer;
  /**
   * An error answer; `message` never holds a code or a secret. `refused`: the call was sound
   * but the send was refused by the tenant's policy (fraud guard, budget, countries, number),
   * which some platforms expect in a success status (Supabase shows such a message to its user).
   */
  error(status: number, message: string, retryAfterSeconds?: number, refused?: boolean): PlatformAnswer;
  /** `GET` on the receiver (Mosaic's validation challenge); absent: answered 404. */
  challenge?(request: ReceiverRequest, secrets: readonly string[]): PlatformAnswer;
}
