import type { ErrorTable } from '../adapter-support.js';

/**
 * Textlocal error codes (PROVIDERS.md §3.5). They arrive in `errors[]` of an answer with
 * `status: "failure"`, usually under HTTP 200.
 * @see https://api.txtlocal.com/docs/sendsms
 */
export const textlocalErrors: ErrorTable = {
  // 1/2: the request did not reach the send command: a wrong endpoint, i.e. configuration.
  '1': { kind: 'auth', reason: 'received no command: check the endpoint' },
  '2': { kind: 'auth', reason: 'did not recognise the command: check the endpoint' },
  '3': { kind: 'auth', reason: 'rejected the login details: check the API key (and its IP restrictions) or username and hash' },
  '4': { kind: 'invalid_recipient', reason: 'found no recipient' },
  '5': { kind: 'rejected', reason: 'found no message content' },
  '6': { kind: 'rejected', reason: 'refused the message as too long' },
  '7': { kind: 'rejected', reason: 'reports insufficient credits: top up the account' },
  '8': { kind: 'rejected', reason: 'refused the schedule date' },
  '9': { kind: 'rejected', reason: 'refused a schedule date in the past' },
  '10': { kind: 'rejected', reason: 'refused the group id' },
  '11': { kind: 'rejected', reason: 'reports the selected group is empty' },
  '32': { kind: 'invalid_recipient', reason: 'refused the number format' },
  '33': { kind: 'rejected', reason: 'refused too many numbers' },
  '34': { kind: 'rejected', reason: 'refused both a group id and numbers' },
  '43': { kind: 'rejected', reason: 'refused the sender name: check the sender (India: DLT-approved 6 letters)' },
  '44': { kind: 'rejected', reason: 'found no sender name' },
  '51': { kind: 'invalid_recipient', reason: 'found no valid number' },
  '80': { kind: 'rejected', reason: 'refused the text: it does not match an approved DLT template' },
  '191': { kind: 'rejected', reason: 'refused the schedule time as outside the allowed window' },
  '192': { kind: 'rejected', reason: 'refused to send at this time of day (India promotional hours)' },
  '202': { kind: 'invalid_recipient', reason: 'refused invalid or duplicate numbers' },
};
