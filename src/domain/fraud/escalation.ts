/** The longest a block lasts, minutes (12 h). */
export const MAX_BLOCK_MINUTES = 720;
/** A block of the same key that started within this long escalates the next one, ms. */
export const ESCALATION_WINDOW_MS = 24 * 3_600_000;

/**
 * How long a block lasts: `baseMinutes` the first time; each repeat of the same key within
 * 24 h of the previous block doubles it, up to 12 h. `previous` is the level of the key's last
 * block if it started within 24 h (level 0 is a first block).
 */
export function blockDuration(baseMinutes: number, previousLevel: number | undefined): { level: number; minutes: number } {
  const level = previousLevel === undefined ? 0 : previousLevel + 1;
  const minutes = Math.min(MAX_BLOCK_MINUTES, baseMinutes * 2 ** Math.min(level, 10));
  return { level, minutes };
}
