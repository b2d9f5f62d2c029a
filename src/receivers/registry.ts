import { auth0Receiver } from './auth0/index.js';
import { kratosReceiver } from './kratos/index.js';
import { logtoReceiver } from './logto/index.js';
import { mosaicReceiver } from './mosaic/index.js';
import { supabaseReceiver } from './supabase/index.js';
import type { Platform, ReceiverDescriptor } from './types.js';
import { zitadelReceiver } from './zitadel/index.js';

/** Every platform receiver, by the name in its route (`/v1/receivers/{platform}/{tenant_id}`). */
export const receiverRegistry: Readonly<Record<Platform, ReceiverDescriptor>> = Object.freeze({
  supabase: supabaseReceiver,
  logto: logtoReceiver,
  auth0: auth0Receiver,
  zitadel: zitadelReceiver,
  kratos: kratosReceiver,
  mosaic: mosaicReceiver,
});

export function receiverFor(platform: string): ReceiverDescriptor | undefined {
  return Object.hasOwn(receiverRegistry, platform) ? receiverRegistry[platform as Platform] : undefined;
}
