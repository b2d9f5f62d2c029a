import type { ErrorTable } from '../adapter-support.js';

/**
 * Every Twilio error code otpgate knows (PROVIDERS.md §1.6), and what it means for the
 * dispatcher. Send-time codes arrive in the error JSON of a non-2xx answer; delivery-time codes
 * (30xxx) in a 2xx answer whose `status` is failed/undelivered, and in status callbacks.
 * Codes not listed fall back to the HTTP status's generic meaning.
 * @see https://www.twilio.com/docs/api/errors
 */
export const twilioErrors: ErrorTable = {
  '20003': { kind: 'auth', reason: 'rejected the credentials: check the Account SID and Auth Token' },
  '20404': { kind: 'auth', reason: 'does not know this account or resource: check the Account SID' },
  '20429': { kind: 'rate_limited', reason: 'is throttling requests (too many concurrent requests)' },
  '21211': { kind: 'invalid_recipient', reason: "refused the 'To' number as not a valid phone number" },
  '21212': { kind: 'rejected', reason: "refused the 'From' number as invalid: check the sender number" },
  '21408': { kind: 'rejected', reason: 'is not permitted to send to this region: enable it in Messaging Geographic Permissions' },
  '21604': { kind: 'rejected', reason: "found no 'To' number in the request" },
  '21606': { kind: 'rejected', reason: "refused the 'From' number: it is not SMS-capable or not owned by this account" },
  '21608': { kind: 'rejected', reason: 'refused an unverified recipient (trial account or missing compliance profile)' },
  '21610': { kind: 'invalid_recipient', reason: 'refused the recipient: they unsubscribed (replied STOP)' },
  '21611': { kind: 'rate_limited', reason: "reports the sender's SMS queue is full" },
  '21612': { kind: 'invalid_recipient', reason: 'cannot route to this recipient from this sender' },
  '21614': { kind: 'invalid_recipient', reason: "refused the 'To' number as not a mobile number" },
  '21617': { kind: 'rejected', reason: 'refused the message body as too long (over 1600 characters)' },
  '21635': { kind: 'invalid_recipient', reason: "refused the 'To' number as a landline" },
  '21701': { kind: 'rejected', reason: 'does not know the Messaging Service SID: check it' },
  '30003': { kind: 'invalid_recipient', reason: 'reports the destination handset is unreachable' },
  '30005': { kind: 'invalid_recipient', reason: 'reports the destination handset is unknown' },
  '30006': { kind: 'invalid_recipient', reason: 'reports a landline or unreachable carrier' },
  '30007': { kind: 'rejected', reason: 'reports the message was filtered as spam by Twilio or the carrier' },
  '30008': { kind: 'rejected', reason: 'reports an unknown delivery error from the carrier' },
  '30450': { kind: 'rejected', reason: 'blocked the message (SMS pumping protection)' },
  '30500': { kind: 'transient', reason: 'reports an internal error' },
};
