import type { ErrorTable } from '../adapter-support.js';

/**
 * MessageBird error codes (PROVIDERS.md §2.5). Codes 9 and 10 depend on the `parameter` they
 * name: see `recipientParameters`. HTTP 429 means rate limited whatever the body says.
 * @see https://developers.messagebird.com/api/#errors
 */
export const messageBirdErrors: ErrorTable = {
  '2': { kind: 'auth', reason: 'rejected the access key (request not allowed)' },
  '9': { kind: 'rejected', reason: 'reported a missing parameter' },
  '10': { kind: 'rejected', reason: 'reported an invalid parameter (check the originator)' },
  '20': { kind: 'rejected', reason: 'reported a resource not found' },
  '21': { kind: 'rejected', reason: 'reported a bad request' },
  '25': { kind: 'rejected', reason: 'reported not enough balance: top up the account' },
  // Wrong URL: a configuration fault (endpoint), handled like bad credentials.
  '98': { kind: 'auth', reason: 'reported the API was not found: check the endpoint' },
  '99': { kind: 'transient', reason: 'reported an internal error' },
};

/** Codes 9/10 about these parameters mean the number itself is the problem. */
export const recipientParameters = new Set(['recipient', 'recipients']);

export const messageBirdRecipientErrors: ErrorTable = {
  '9': { kind: 'invalid_recipient', reason: 'found no recipient in the request' },
  '10': { kind: 'invalid_recipient', reason: 'refused the recipient as invalid' },
};
