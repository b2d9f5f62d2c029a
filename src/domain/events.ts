/**
 * Events otpgate tells a tenant's backend about (docs/events.md). The data of each is ids,
 * statuses and figures only: never a code, a secret or a message body.
 */
export const eventTypes = [
  'message.sent',
  'message.delivered',
  'message.failed',
  'verification.approved',
  'verification.failed',
  'verification.expired',
  'fraud.blocked',
  'budget.threshold',
] as const;

export type EventType = (typeof eventTypes)[number];

/** Sent by `POST /v1/event-endpoints/{id}/test` to that endpoint only, whatever its filter. */
export const testEventType = 'event_endpoint.test';

export function isEventType(value: string): value is EventType {
  return (eventTypes as readonly string[]).includes(value);
}

/** An endpoint's filter (NULL: every type) lets `type` through. */
export function endpointWants(filter: string | null, type: string): boolean {
  if (filter === null) return true;
  return (JSON.parse(filter) as string[]).includes(type);
}

/** The retry window: a delivery is retried for at least this long after it was queued. */
export const EVENT_RETRY_WINDOW_MS = 24 * 3600_000;
/** An endpoint whose deliveries have failed without a success for this long is disabled. */
export const EVENT_DISABLE_AFTER_MS = 3 * 24 * 3600_000;
/** How long the secret before a rotation still signs. */
export const EVENT_ROTATION_OVERLAP_MS = 24 * 3600_000;
/** The secret box's additional data of an endpoint's secrets. */
export const eventEndpointSealAad = (endpointId: string) => `event-endpoint:${endpointId}`;

/** Capped exponential backoff with jitter between attempts (src/domain/retry-policy.ts). */
export const eventBackoff = { baseMs: 5_000, capMs: 3600_000, maxAttempts: Number.MAX_SAFE_INTEGER } as const;
