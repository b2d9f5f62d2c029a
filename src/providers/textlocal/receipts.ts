import type { CallbackRequest, DeliveryReceipt, DeliveryStatus } from '../types.js';
import type { TextlocalConfig } from './config.js';

/**
 * Textlocal receipt statuses (PROVIDERS.md §3.7). `?` = no receipt after 4 days: nothing more
 * is known than that the message was sent.
 */
const statusMap: Readonly<Record<string, DeliveryStatus>> = { D: 'delivered', U: 'undelivered', I: 'failed', '?': 'sent' };

/** `datetime` is a MySQL datetime (`YYYY-MM-DD hh:mm:ss`), GMT. */
function parseMysqlDate(raw: string | null): Date | undefined {
  const m = raw === null ? null : /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(raw.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s));
}

/**
 * A Textlocal receipt: form POST `number, status, customID, datetime` (unsigned: Textlocal does
 * not sign receipts, so the callback URL itself is the only secret). Receipts carry no Textlocal
 * message id, only our `custom` reference, which the adapter sets to otpgate's message id.
 */
export function parseTextlocalReceipt(_config: TextlocalConfig, request: CallbackRequest): DeliveryReceipt[] {
  const form = request.rawBody.length > 0 ? new URLSearchParams(request.rawBody) : new URLSearchParams(request.query);
  const customId = form.get('customID');
  const providerStatus = form.get('status');
  if (!customId || providerStatus === null) return [];
  const status = statusMap[providerStatus];
  if (!status) return [];
  const receipt: DeliveryReceipt = { providerMessageId: customId, messageId: customId, status, providerStatus };
  const at = parseMysqlDate(form.get('datetime'));
  if (at) receipt.at = at;
  return [receipt];
}
