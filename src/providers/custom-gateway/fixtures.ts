import type { CustomGatewayConfig } from './config.js';

/** Sample configurations for tests. Fake credentials only. */
export const customGatewayFixtures = {
  basic: { uri: 'https://sms-gateway.example.com/otpgate', api_key: 'fake-gateway-key-0123456789' },
  withSender: { uri: 'https://sms-gateway.example.com/otpgate?route=otp', api_key: 'fake-gateway-key-0123456789', sender_id: 'OtpGate' },
} as const satisfies Record<string, CustomGatewayConfig>;
