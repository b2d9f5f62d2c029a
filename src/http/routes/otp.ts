import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { isValidLocale, isValidPurpose } from '../../domain/template.js';
import { requireTenant } from '../plugins/auth.js';
import { errorResponses } from '../schemas/common.js';

const phone = z.string().max(64).describe('E.164, e.g. +14155550123');
const purpose = z.string().refine(isValidPurpose, 'must be lower-case letters, digits and _ (e.g. login)').describe('login, verification, password_reset, mfa, or a tenant-defined purpose');
const code = z.string().regex(/^\d{4,10}$/, 'must be 4 to 10 digits');

const sendBody = z.strictObject({
  phone_number: phone,
  purpose: purpose.optional(),
  locale: z.string().max(35).refine(isValidLocale, 'must be a locale such as en or pt-BR').optional(),
  client_ip: z.union([z.ipv4(), z.ipv6()]).optional().describe('The end user’s IP, for the per-IP hourly cap'),
});

const sendResponse = z.object({
  challenge_id: z.string(),
  phone_number: z.string(),
  purpose: z.string(),
  expires_at: z.string(),
  resend_available_at: z.string(),
  message_id: z.string().nullable(),
});

const verifyBody = z.union([
  z.strictObject({ challenge_id: z.string().min(1).max(64), code }),
  z.strictObject({ phone_number: phone, purpose: purpose.optional(), code }),
]);

export function otpRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { access: 'tenant' as const };

  r.post(
    '/v1/otp/send',
    {
      config: tenant,
      schema: {
        tags: ['passcodes'],
        description: 'Generates a code, stores it hashed, and queues the SMS. Answers at once.',
        headers: z.object({ 'idempotency-key': z.string().min(1).max(255).optional() }).loose(),
        body: sendBody,
        response: { 202: sendResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const result = await deps.otp.send(requireTenant(request), request.body, typeof key === 'string' ? key : undefined);
      return reply.code(result.status).send(result.body);
    },
  );

  r.post(
    '/v1/otp/verify',
    {
      config: tenant,
      schema: {
        tags: ['passcodes'],
        description: 'Checks a code by challenge_id, or by phone_number and purpose (the latest code).',
        body: verifyBody,
        response: { 200: z.object({ verified: z.literal(true), challenge_id: z.string(), phone_number: z.string(), purpose: z.string() }), ...errorResponses },
      },
    },
    async (request) => deps.otp.verify(requireTenant(request), request.body),
  );

  r.get(
    '/v1/otp/challenges/:id',
    { config: tenant, schema: { tags: ['passcodes'], params: z.strictObject({ id: z.string().min(1).max(64) }) } },
    async (request) => deps.otp.getChallenge(requireTenant(request), request.params.id),
  );
}
