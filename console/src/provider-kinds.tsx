import { createContext, useContext } from 'react';

/**
 * The provider kinds that send delivery receipts (`receiptKindsOf` of GET /v1/provider-kinds),
 * loaded once by the tenant page for all its tabs.
 */
export const ReceiptKindsContext = createContext<ReadonlySet<string>>(new Set());

export function useReceiptKinds(): ReadonlySet<string> {
  return useContext(ReceiptKindsContext);
}
