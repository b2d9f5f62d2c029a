import type { MessageBirdConfig } from './config.js';

/** Sample configurations for tests. Fake credentials only. */
export const messageBirdFixtures = {
  alphanumeric: { access_key: 'live_FakeAccessKey0123456789', originator: 'OtpGate' },
  numeric: { access_key: 'live_FakeAccessKey0123456789', originator: '31970102030' },
  signed: { access_key: 'live_FakeAccessKey0123456789', originator: 'OtpGate', signing_key: 'fake-signing-key-0123456789abcdef' },
} as const satisfies Record<string, MessageBirdConfig>;
