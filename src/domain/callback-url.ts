/**
 * Where a provider posts delivery receipts for a tenant's messages:
 * `{OTPGATE_PUBLIC_URL}/v1/callbacks/{kind}/{tenant_id}` (src/http/routes/callbacks.ts).
 * Undefined without a public URL: providers then get no per-message callback.
 */
export function receiptCallbackUrl(publicUrl: string | undefined, kind: string, tenantId: string): string | undefined {
  if (!publicUrl) return undefined;
  return `${publicUrl.replace(/\/$/, '')}/v1/callbacks/${encodeURIComponent(kind)}/${encodeURIComponent(tenantId)}`;
}
