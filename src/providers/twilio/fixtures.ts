import type { TwilioConfig } from './config.js';

/** Sample configurations for tests. Fake credentials: none of these exist at Twilio. */
export const twilioFixtures = {
  withSenderNumber: {
    account_sid: 'AC0123456789abcdef0123456789abcdef',
    auth_token: 'f1e2d3c4b5a6978801234567890abcde',
    sender_phone_number: '+15005550006',
  },
  withMessagingService: {
    account_sid: 'AC0123456789abcdef0123456789abcdef',
    auth_token: 'f1e2d3c4b5a6978801234567890abcde',
    messaging_service_sid: 'MG0123456789abcdef0123456789abcdef',
  },
} as const satisfies Record<string, TwilioConfig>;
