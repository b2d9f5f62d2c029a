/**
 * The event types an endpoint can subscribe to, as src/domain/events.ts lists them (the browser
 * test holds the two lists equal), with what each means in the console's words.
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

export const eventTypeHelp: Record<EventType, string> = {
  'message.sent': 'a provider accepted a message',
  'message.delivered': 'a receipt says delivered',
  'message.failed': 'every provider failed, or a receipt says not delivered',
  'verification.approved': 'a right code was verified',
  'verification.failed': 'wrong codes used up the attempts',
  'verification.expired': 'a verification was found past its expiry',
  'fraud.blocked': 'the fraud guard made a block',
  'budget.threshold': 'a send reached 80 % of a budget',
};

/** An endpoint's filter in a few words: null or empty is every type, including later ones. */
export function filterText(events: readonly string[] | null): string {
  return !events || events.length === 0 ? 'every event' : events.join(', ');
}
