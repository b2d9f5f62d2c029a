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

/** Who did something, for the audit log: `admin` or the API key id. */
export type Actor = string;
