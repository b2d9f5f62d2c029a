import type { InstaAlertsConfig } from './config.js';

/** Sample configurations for tests. Fake credentials only. */
export const instaAlertsFixtures = {
  plain: { api_key: 'FakeKarixKey0123456789==', sender_id: 'OTPGTE' },
  indiaDlt: {
    api_key: 'FakeKarixKey0123456789==',
    sender_id: 'OTPGTE',
    dlt_entity_id: '1001158085062848906',
    dlt_template_id: '1007160000000000001',
  },
} as const satisfies Record<string, InstaAlertsConfig>;
