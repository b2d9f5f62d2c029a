/**
 * The one catalog of problem codes otpgate answers with. Every code is documented in
 * docs/errors.md; test/meta/error-catalog.test.ts keeps the two in step both ways.
 *
 * `status` is the HTTP status the code is answered with; `title` is the short, stable,
 * human-readable summary placed in the problem document.
 */
export const errorCatalog = {
  'request.invalid': { status: 400, title: 'The request is invalid' },
  'request.malformed_json': { status: 400, title: 'The request body is not valid JSON' },
  'request.unsupported_media_type': { status: 415, title: 'The request body must be JSON' },
  'request.body_too_large': { status: 413, title: 'The request body is too large' },
  'request.idempotency_conflict': { status: 409, title: 'The idempotency key was used with another request' },
  'request.idempotency_in_progress': { status: 409, title: 'A request with this idempotency key is in progress' },
  'request.invalid_cursor': { status: 400, title: 'The pagination cursor is invalid' },
  'route.not_found': { status: 404, title: 'No such route' },
  'route.method_not_allowed': { status: 405, title: 'Method not allowed' },
  'auth.missing_credentials': { status: 401, title: 'Authentication is required' },
  'auth.invalid_api_key': { status: 401, title: 'The API key or token is invalid' },
  'auth.invalid_client': { status: 401, title: 'The client credentials are invalid' },
  'auth.forbidden': { status: 403, title: 'This credential may not do that' },
  'auth.tenant_required': { status: 400, title: 'This route acts on a tenant: send X-Tenant-Id with the admin key' },
  'tenant.not_found': { status: 404, title: 'No such tenant' },
  'tenant.invalid_settings': { status: 400, title: 'The tenant settings are invalid' },
  'api_key.not_found': { status: 404, title: 'No such API key' },
  'phone.invalid': { status: 400, title: 'The phone number is invalid' },
  'phone.country_blocked': { status: 403, title: 'Sending to this country is not allowed for this tenant' },
  'phone.number_type_blocked': { status: 422, title: 'Sending to this type of number is not allowed for this tenant' },
  'fraud.blocked': { status: 403, title: 'The fraud guard blocks sends to this destination or client' },
  'fraud.block_not_found': { status: 404, title: 'No such active block' },
  'fraud.feedback_not_applicable': { status: 422, title: 'Feedback applies only to passcode messages' },
  'budget.exhausted': { status: 429, title: "The tenant's SMS budget is used up for now" },
  'otp.rate_limited': { status: 429, title: 'Too many passcodes were requested' },
  'otp.resend_cooldown': { status: 429, title: 'A passcode was sent moments ago; wait before resending' },
  'otp.challenge_not_found': { status: 404, title: 'No such challenge' },
  'otp.invalid': { status: 400, title: 'The code is not correct' },
  'otp.expired': { status: 410, title: 'The code has expired' },
  'otp.attempts_exhausted': { status: 429, title: 'Too many wrong codes; request a new one' },
  'otp.already_verified': { status: 409, title: 'This challenge was already verified' },
  'otp.superseded': { status: 410, title: 'A newer code was sent for this phone and purpose' },
  'otp.canceled': { status: 410, title: 'The verification was canceled' },
  'otp.verification_not_found': { status: 404, title: 'No such verification' },
  'otp.transaction_details_required': { status: 422, title: 'The message template needs the amount and payee' },
  'template.not_found': { status: 404, title: 'No such template' },
  'template.invalid': { status: 422, title: 'The template is invalid' },
  'template.too_long': { status: 422, title: 'The template renders to more segments than allowed' },
  'message.not_found': { status: 404, title: 'No such message' },
  'receiver.not_found': { status: 404, title: 'No such platform receiver' },
  'provider.invalid_config': { status: 422, title: 'The provider configuration is invalid' },
  'provider.validation_failed': { status: 422, title: 'The provider did not pass validation' },
  'provider.unknown_kind': { status: 422, title: 'No such provider kind' },
  'provider.not_configured': { status: 409, title: 'No provider is configured' },
  'provider.endpoint_forbidden': { status: 422, title: 'The provider endpoint is not allowed' },
  'internal': { status: 500, title: 'Internal error' },
  'unavailable': { status: 503, title: 'The service is not ready' },
  'store.unavailable': { status: 503, title: 'The database is not answering; retry shortly' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export const errorCodes = Object.keys(errorCatalog) as ErrorCode[];
