/**
 * Transaction details bound into a code (PSD2 dynamic linking): the amount and the payee a
 * code authorises. They are shown to the user in the SMS, so they are short, printable text.
 */

export const maxAmountLength = 32;
export const maxPayeeLength = 64;

/**
 * Control, format (bidi overrides, zero-width characters) and line/paragraph separator
 * characters: none belongs in an amount or a payee, and a bidi override could make the SMS
 * show another payee than the one the code is bound to.
 */
const unprintable = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Why `value` is not a usable amount or payee, or undefined when it is. */
export function transactionFieldProblem(value: string, maxLength: number): string | undefined {
  if (value.trim() === '') return 'must not be empty';
  if (value.length > maxLength) return `must be at most ${maxLength} characters`;
  if (unprintable.test(value)) return 'must not contain control or formatting characters';
  if (value !== value.trim()) return 'must not start or end with white space';
  return undefined;
}

/** The problems of a send's or verify's `amount` and `payee`, each with its path. */
export function transactionProblems(input: { amount?: string | undefined; payee?: string | undefined }): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (input.amount !== undefined) {
    const p = transactionFieldProblem(input.amount, maxAmountLength);
    if (p) problems.push({ path: 'amount', message: p });
  }
  if (input.payee !== undefined) {
    const p = transactionFieldProblem(input.payee, maxPayeeLength);
    if (p) problems.push({ path: 'payee', message: p });
  }
  return problems;
}
