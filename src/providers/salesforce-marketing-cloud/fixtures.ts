import type { SfmcConfig } from './config.js';

/** Sample configurations for tests. Fake credentials only. */
export const sfmcFixtures = {
  enhanced: {
    subdomain: 'mc563885gzs27c5t9-63k636ttgm',
    client_id: 'fakeclientid0123456789abcd',
    client_secret: 'FakeClientSecret0123456789abcdef',
    message_id: 'MTE1Ojc4OjA',
    package_type: 'enhanced',
    keyword: 'OTP',
  },
  enhancedWithAccount: {
    subdomain: 'mc563885gzs27c5t9-63k636ttgm',
    client_id: 'fakeclientid0123456789abcd',
    client_secret: 'FakeClientSecret0123456789abcdef',
    message_id: 'MTE1Ojc4OjA',
    package_type: 'enhanced',
    keyword: 'OTP',
    account_id: '514009870',
  },
  legacy: {
    subdomain: 'mc563885gzs27c5t9-63k636ttgm',
    client_id: 'fakelegacyclientid0123456',
    client_secret: 'FakeLegacySecret0123456789',
    message_id: 'MTE1Ojc4OjA',
    package_type: 'legacy',
    keyword: 'OTP',
  },
} as const satisfies Record<string, SfmcConfig>;
