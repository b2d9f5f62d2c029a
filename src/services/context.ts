import type { Logger } from 'pino';
import type { Store } from '../store/db.js';
import type { Clock } from '../domain/clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { EventEmitter } from './event-emitter.js';

/** What every service is built from; wired once in src/deps.ts. */
export interface ServiceContext {
  store: Store;
  clock: Clock;
  logger: Logger;
  secretBox: SecretBox;
  /** HMAC key for passcodes, derived from the secret key. */
  codeKey: Buffer;
  /** Queues events to the tenant's endpoints inside a state change's transaction (docs/events.md). */
  events: EventEmitter;
}

/** An operator signed in to the console, as the audit log names them. */
export interface OperatorActor {
  type: 'operator';
  id: string;
  email: string;
}

/**
 * Who did something, for the audit log: an operator, or a string: `admin` (the admin key), the
 * API key id, or a part of the system (`cli`, `fraud_guard`).
 */
export type Actor = string | OperatorActor;

/** The id an actor is recorded under (`lifted_by`, the audit log's `actor`). */
export function actorId(actor: Actor): string {
  return typeof actor === 'string' ? actor : actor.id;
}
