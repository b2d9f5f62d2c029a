import { z } from 'zod';

/** The Inbox kind has no settings: messages stay in otpgate's own store (development). */
export const inboxConfigSchema = z.strictObject({ endpoint: z.string().optional() });
export type InboxConfig = z.infer<typeof inboxConfigSchema>;
