import type { TextlocalConfig } from './config.js';

/** Sample configurations for tests. Fake credentials only. */
export const textlocalFixtures = {
  ukApiKey: { api_key: 'FakeTextlocalKey0123456789=', sender: 'OtpGate', region: 'uk' },
  ukNumericSender: { api_key: 'FakeTextlocalKey0123456789=', sender: '447700900123', region: 'uk' },
  indiaHash: { username: 'ops@example.com', hash: 'fakehash0123456789abcdef0123456789abcdef', sender: 'OTPGTE', region: 'in' },
} as const satisfies Record<string, TextlocalConfig>;
