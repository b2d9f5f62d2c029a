import { AppError } from '../errors/app-error.js';
import { getProviderDescriptor } from '../providers/registry.js';
import { CallbackSignatureError, type CallbackRequest, type DeliveryReceipt, type DeliveryStatus } from '../providers/types.js';
import { findMessage, findMessageByProviderId, updateDeliveryStatus } from '../store/queries/messages.js';
import type { MessageStatus } from '../store/schema.js';
import type { ServiceContext } from './context.js';
import type { ProviderConfigService } from './provider-config-service.js';

/** Statuses a receipt may move a message out of: receipts arrive out of order and never regress. */
const upgradeFrom: Record<DeliveryStatus, readonly MessageStatus[]> = {
  sent: [],
  undelivered: ['sent'],
  failed: ['sent'],
  delivered: ['sent', 'undelivered', 'failed'],
};

export function createReceiptService(ctx: ServiceContext, deps: { providers: ProviderConfigService }) {
  return {
    /** Applies a provider's delivery receipts. Returns how many messages changed. */
    async handle(kind: string, tenantId: string, request: CallbackRequest): Promise<{ applied: number; received: number }> {
      const d = getProviderDescriptor(kind);
      if (!d?.receipts) throw new AppError('route.not_found', `otpgate takes no delivery receipts from ${kind}.`);
      const configs = await deps.providers.configsFor(tenantId, kind);
      if (configs.length === 0) throw new AppError('provider.not_configured', `This tenant has no ${kind} configuration.`);
      let receipts: DeliveryReceipt[] | undefined;
      let refused: CallbackSignatureError | undefined;
      // The first configuration whose credentials verify the signature wins.
      for (const config of configs) {
        try {
          receipts = d.receipts.parse(d.configSchema.parse(config), request);
          break;
        } catch (err) {
          if (!(err instanceof CallbackSignatureError)) throw new AppError('request.invalid', 'The callback could not be read.');
          refused ??= err;
        }
      }
      if (!receipts) {
        throw refused?.missing
          ? new AppError('auth.missing_credentials', 'The callback carries no signature.')
          : new AppError('auth.forbidden', 'The callback signature does not match.');
      }
      let applied = 0;
      for (const r of receipts) {
        // Providers that echo our own reference (Textlocal customID, MessageBird reference) are matched by it.
        const byOurs = r.messageId ? await findMessage(ctx.store.db, tenantId, r.messageId) : undefined;
        const m = byOurs?.provider === kind ? byOurs : await findMessageByProviderId(ctx.store.db, tenantId, kind, r.providerMessageId);
        if (!m) continue;
        // A receipt that may move the message out of no status (e.g. a late "sent") is news to no one;
        // and an empty `IN ()` is not valid SQL on PostgreSQL.
        if (upgradeFrom[r.status].length === 0) continue;
        const at = r.at?.getTime() ?? ctx.clock.now();
        // The change and its event commit together (docs/events.md).
        const ok = await ctx.store.writes.write(async (trx) => {
          const changed = await updateDeliveryStatus(trx, m.id, upgradeFrom[r.status], {
            status: r.status,
            updated_at: ctx.clock.now(),
            ...(r.status === 'delivered' ? { delivered_at: at } : {}),
            ...(r.status !== 'delivered' && r.status !== 'sent' ? { error_kind: 'delivery', error_code: r.providerErrorCode ?? null, error_message: `The provider reported ${r.providerStatus}.` } : {}),
          });
          if (changed) await ctx.events.emit(trx, tenantId, r.status === 'delivered' ? 'message.delivered' : 'message.failed', { message_id: m.id, provider: kind, provider_message_id: m.provider_message_id, status: r.status, provider_status: r.providerStatus, error_code: r.providerErrorCode ?? null });
          return changed;
        });
        if (ok) applied += 1;
      }
      return { applied, received: receipts.length };
    },
  };
}

export type ReceiptService = ReturnType<typeof createReceiptService>;
