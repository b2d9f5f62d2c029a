import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths redacted from every log line, wherever they appear. Codes, bodies, secrets and keys
 * must never be logged in the first place; this list is the second line of defence.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  '*.code',
  '*.body',
  '*.auth_token',
  '*.access_key',
  '*.api_key',
  '*.hash',
  '*.client_secret',
  '*.secret',
  '*.key',
  '*.password',
  '*.password_hash',
  '*.totp',
  '*.csrf_token',
  'req.headers["x-csrf-token"]',
  'code',
  'body',
  'key',
];

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      redact: { paths: redactPaths, censor: '[redacted]' },
      base: { service: 'otpgate' },
    },
    options.destination,
  );
}
