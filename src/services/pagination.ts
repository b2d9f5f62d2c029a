/** One page of a list, as every list route answers it. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/**
 * Turns the `limit + 1` rows a list query fetched into a page: the extra row only says that
 * there is a next page, whose cursor is the id of the page's last row.
 */
export function toPage<R extends { id: string }, T>(rows: readonly R[], limit: number, view: (row: R) => T): Page<T> {
  const page = rows.slice(0, limit);
  return { items: page.map(view), next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
}
