import type { ErrorTable } from '../adapter-support.js';

/**
 * InstaAlerts (Karix) answers carry a `statuscode`; only `200` (accepted) is documented by
 * integrators, and Karix answers HTTP 200 even on failure (PROVIDERS.md §4.1a, all [P]). The
 * codes below follow their HTTP meanings; any other code (400 included: it covers bad numbers
 * and bad senders alike) is classified by the answer's words (see `classifyInfo`) and defaults
 * to `rejected`, so an unclear answer fails over instead of risking a duplicate SMS through the
 * same provider.
 */
export const instaAlertsErrors: ErrorTable = {
  '401': { kind: 'auth', reason: 'rejected the API key' },
  '403': { kind: 'auth', reason: 'refused access for this key (check the key and the IP allow-list)' },
  '429': { kind: 'rate_limited', reason: 'is throttling requests' },
  '500': { kind: 'transient', reason: 'reports an internal error' },
  '503': { kind: 'transient', reason: 'is temporarily unavailable' },
};

/** Words in the answer's `info` that tell what went wrong, when the code does not. */
export function classifyInfo(info: string): 'auth' | 'invalid_recipient' | 'rejected' {
  if (/\b(key|auth\w*|credential\w*|unauthori[sz]ed|ip)\b/i.test(info)) return 'auth';
  if (/\b(dest\w*|mobile|number|msisdn|recipient)\b/i.test(info) && /invalid|wrong|bad|incorrect/i.test(info)) return 'invalid_recipient';
  return 'rejected';
}
