import { z } from 'zod';
import {
  budgetSchema,
  fraudGuardSchema,
  resolveFraudGuard,
  smsPricesSchema,
  type BudgetSettings,
  type FraudGuardPatch,
  type FraudGuardSettings,
  type SmsPrices,
} from '../domain/fraud/settings.js';
import { codeAlphabets, type CodeAlphabet } from '../domain/otp.js';

/** Tenant setting `resend_policy` (docs/verifications.md). */
export const resendPolicies = ['same_code', 'new_code'] as const;
export type ResendPolicy = (typeof resendPolicies)[number];

/**
 * A tenant's settings, each with its default and range (DESIGN.md "Tenant settings").
 * Stored sparse (only what the operator set); `resolveSettings` fills in the defaults.
 */
export const testNumberSchema = z.strictObject({
  phone_number: z.string().min(1),
  code: z.string().regex(/^\d{4,10}$/, 'must be 4 to 10 digits'),
});

export const tenantSettingsShape = {
  otp_length: z.number().int().min(4).max(10),
  otp_ttl_seconds: z.number().int().min(60).max(3600),
  max_verify_attempts: z.number().int().min(1).max(10),
  resend_cooldown_seconds: z.number().int().min(0).max(3600),
  max_sends_per_phone_per_hour: z.number().int().min(1).max(100_000),
  max_sends_per_ip_per_hour: z.number().int().min(1).max(100_000),
  allowed_countries: z.array(z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as US')).max(250),
  app_name: z.string().min(1).max(40),
  sender_id: z.string().min(1).max(17).nullable(),
  webotp_domain: z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'must be a host name such as example.com')
    .nullable(),
  android_app_hash: z.string().regex(/^[A-Za-z0-9+/]{11}$/, 'must be the 11-character app hash').nullable(),
  test_numbers: z.array(testNumberSchema).max(100),
  max_segments: z.number().int().min(1).max(10),
  default_locale: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a locale such as en or pt-BR'),
  resend_policy: z.enum(resendPolicies),
  code_alphabet: z.enum(codeAlphabets),
  fraud_guard: fraudGuardSchema,
  budget: budgetSchema,
  sms_prices: smsPricesSchema,
} as const;

export const tenantSettingsPatchSchema = z.strictObject(tenantSettingsShape).partial();
export type TenantSettingsPatch = z.infer<typeof tenantSettingsPatchSchema>;

// A type, not an interface: it is also a plain JSON record (the API documents it as one).
export type TenantSettings = {
  otp_length: number;
  otp_ttl_seconds: number;
  max_verify_attempts: number;
  resend_cooldown_seconds: number;
  max_sends_per_phone_per_hour: number;
  max_sends_per_ip_per_hour: number;
  allowed_countries: string[];
  app_name: string | null;
  sender_id: string | null;
  webotp_domain: string | null;
  android_app_hash: string | null;
  test_numbers: { phone_number: string; code: string }[];
  max_segments: number;
  default_locale: string;
  resend_policy: ResendPolicy;
  code_alphabet: CodeAlphabet;
  /** Fully resolved (every rule's defaults filled in); stored sparse. */
  fraud_guard: FraudGuardSettings;
  budget: BudgetSettings;
  sms_prices: SmsPrices;
};

export const defaultSettings: Readonly<TenantSettings> = Object.freeze({
  otp_length: 6,
  otp_ttl_seconds: 300,
  max_verify_attempts: 5,
  resend_cooldown_seconds: 30,
  max_sends_per_phone_per_hour: 5,
  max_sends_per_ip_per_hour: 20,
  allowed_countries: [],
  app_name: null,
  sender_id: null,
  webotp_domain: null,
  android_app_hash: null,
  test_numbers: [],
  max_segments: 2,
  default_locale: 'en',
  resend_policy: 'same_code',
  code_alphabet: 'digits',
  fraud_guard: resolveFraudGuard(undefined),
  budget: {},
  sms_prices: {},
});

export function resolveSettings(stored: TenantSettingsPatch): TenantSettings {
  return { ...defaultSettings, ...stored, fraud_guard: resolveFraudGuard(stored.fraud_guard as FraudGuardPatch | undefined) } as TenantSettings;
}
