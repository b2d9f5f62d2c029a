import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { isValidLocale, isValidPurpose } from '../../domain/template.js';
import { maxAmountLength, maxPayeeLength, transactionFieldProblem } from '../../domain/transaction.js';
import { requireTenant } from '../plugins/auth.js';
import { errorResponses } from '../schemas/common.js';

const phone = z.string().max(64).describe('E.164, e.g. +14155550123');
const purpose = z.string().refine(isValidPurpose, 'must be lower-case letters, digits and _ (e.g. login)').describe('login, verification, password_reset, mfa, or a tenant-defined purpose');
// The tenant's alphabet decides the rest (digits, or letters without look-alikes in any case).
const code = z.string().regex(/^[0-9A-Za-z]{4,10}$/, 'must be 4 to 10 digits or letters');
const transactionField = (max: number, what: string) =>
  z
    .string()
    .max(max)
    .superRefine((v, c) => {
      const problem = transactionFieldProblem(v, max);
      if (problem) c.addIssue({ code: 'custom', message: problem });
    })
    .describe(what);
const amount = transactionField(maxAmountLength, 'PSD2 dynamic linking: the amount the code authorises, as shown to the user (e.g. EUR 12.50); bound into the code');
const payee = transactionField(maxPayeeLength, 'PSD2 dynamic linking: who is paid, as shown to the user; bound into the code');

const sendBody = z.strictObject({
  phone_number: phone,
  purpose: purpose.optional(),
  locale: z.string().max(35).refine(isValidLocale, 'must be a locale such as en or pt-BR').optional(),
  client_ip: z.union([z.ipv4(), z.ipv6()]).optional().describe('The end user’s IP, for the per-IP hourly cap'),
  amount: amount.optional(),
  payee: payee.optional(),
  custom_code: code.optional().describe('A code the caller made: delivered and verified as given, in the tenant’s code_alphabet; never returned or logged'),
});

const sendResponse = z.object({
  challenge_id: z.string(),
  verification_id: z.string(),
  phone_number: z.string(),
  purpose: z.string(),
  expires_at: z.string(),
  resend_available_at: z.string(),
  message_id: z.string().nullable(),
});

const verifyBody = z.union([
  z.strictObject({ challenge_id: z.string().min(1).max(64), code, amount: amount.optional(), payee: payee.optional() }),
  z.strictObject({ phone_number: phone, purpose: purpose.optional(), code, amount: amount.optional(), payee: payee.optional() }),
]);

const challengeView = z.object({
  id: z.string(),
  verification_id: z.string().nullable(),
  phone_number: z.string(),
  purpose: z.string(),
  status: z.enum(['pending', 'verified', 'expired', 'locked', 'superseded', 'canceled']),
  attempts: z.number().describe('The verification’s wrong attempts (shared by its sends)'),
  max_attempts: z.number(),
  attempts_remaining: z.number(),
  created_at: z.string(),
  expires_at: z.string(),
  resend_available_at: z.string(),
  verified_at: z.string().nullable(),
  message_id: z.string().nullable(),
});

const verificationId = z.strictObject({ id: z.string().min(1).max(64) });
const verificationView = z.object({
  id: z.string(),
  phone_number: z.string(),
  purpose: z.string(),
  status: z.enum(['pending', 'approved', 'canceled', 'max_attempts_reached', 'expired']),
  attempts: z.number(),
  max_attempts: z.number(),
  attempts_remaining: z.number(),
  amount: z.string().nullable(),
  payee: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  expires_at: z.string(),
  approved_at: z.string().nullable(),
  sends: z.array(z.object({ challenge_id: z.string(), created_at: z.string(), expires_at: z.string(), message_id: z.string().nullable() })),
});

export function otpRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { access: 'tenant' as const, scope: 'otp' as const };

  r.post(
    '/v1/otp/send',
    {
      config: tenant,
      schema: {
        tags: ['passcodes'],
        description:
          'Generates a code (or takes custom_code), stores it hashed, and queues the SMS. Answers at once; 409 provider.not_configured when the tenant has no provider and there is no platform Default. A send while the phone’s code for this purpose is still valid joins its verification (docs/verifications.md).',
        headers: z.object({ 'idempotency-key': z.string().min(1).max(255).optional() }).loose(),
        body: sendBody,
        response: { 202: sendResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const tenant = requireTenant(request);
      await deps.providers.requireUsable(tenant.id);
      const result = await deps.otp.send(tenant, request.body, typeof key === 'string' ? key : undefined);
      return reply.code(result.status).send(result.body);
    },
  );

  r.post(
    '/v1/otp/verify',
    {
      config: tenant,
      schema: {
        tags: ['passcodes'],
        description:
          'Checks a code by challenge_id (any send of the verification), or by phone_number and purpose (the latest verification). A transaction-bound code needs the same amount and payee.',
        body: verifyBody,
        response: {
          200: z.object({ verified: z.literal(true), challenge_id: z.string(), verification_id: z.string(), phone_number: z.string(), purpose: z.string() }),
          ...errorResponses,
        },
      },
    },
    async (request) => deps.otp.verify(requireTenant(request), request.body),
  );

  r.get(
    '/v1/otp/challenges/:id',
    { config: tenant, schema: { tags: ['passcodes'], description: 'One send (challenge): its status and attempts. Never the code.', params: z.strictObject({ id: z.string().min(1).max(64) }), response: { 200: challengeView, ...errorResponses } } },
    async (request) => deps.otp.getChallenge(requireTenant(request), request.params.id),
  );

  r.get(
    '/v1/otp/verifications/:id',
    {
      config: tenant,
      schema: { tags: ['passcodes'], description: 'A verification (a code and its resends): status, shared attempts, sends. Never the code.', params: verificationId, response: { 200: verificationView, ...errorResponses } },
    },
    async (request) => deps.otp.getVerification(requireTenant(request), request.params.id),
  );

  r.patch(
    '/v1/otp/verifications/:id',
    {
      config: tenant,
      schema: {
        tags: ['passcodes'],
        description: 'Cancels a pending verification (none of its codes verifies any more) or approves it without a code.',
        params: verificationId,
        body: z.strictObject({ status: z.enum(['canceled', 'approved']) }),
        response: { 200: verificationView, ...errorResponses },
      },
    },
    async (request) => deps.otp.updateVerification(requireTenant(request), request.params.id, request.body.status),
  );
}
