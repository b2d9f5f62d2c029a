import { useState } from 'react';
import type { FraudStatsWindow } from '../../api/types.js';
import { useApi } from '../../session.js';
import { useAsync } from '../../components/hooks.js';
import { modes } from '../../domain/fraud-guard.js';
import type { TabProps } from '../tenant.js';
import { ActiveBlocks } from './fraud-guard-blocks.js';
import { BudgetSettingsForm } from './fraud-guard-budget.js';
import { DecisionLog } from './fraud-guard-decisions.js';
import { GuardSettingsForm } from './fraud-guard-settings.js';
import { BudgetUseSection, ConversionSection } from './fraud-guard-stats.js';

/**
 * The fraud guard of a tenant (DESIGN.md "Fraud guard"): what it blocks now, budget use,
 * conversion and cost per country and prefix, every decision, and its settings. Everything
 * shown is read from the server; after a change the affected parts are read again.
 */
export function FraudGuardTab({ tenant, onTenantChange }: TabProps) {
  const api = useApi();
  const [win, setWin] = useState<FraudStatsWindow>('24h');
  const [lifts, setLifts] = useState(0);
  const stats = useAsync((signal) => api.call('GET /v1/fraud-guard/stats', { tenant: tenant.id, query: { window: win }, signal }), [api, tenant.id, win]);
  const mode = tenant.settings.fraud_guard.mode;
  const modeInfo = modes.find((m) => m.value === mode);

  return (
    <div className="fraud-guard">
      <p className={`mode-banner mode-${mode}`} data-testid="fg-mode">
        <span>
          Mode: <strong>{modeInfo?.label ?? mode}</strong> <code className="small">{mode}</code>
        </span>
        <span className="muted small">{modeInfo?.help}</span>
      </p>
      <ActiveBlocks tenantId={tenant.id} mode={mode} onLifted={() => setLifts((n) => n + 1)} />
      <BudgetUseSection stats={stats} />
      <ConversionSection stats={stats} win={win} onWindow={setWin} />
      <DecisionLog tenantId={tenant.id} version={lifts} />
      <GuardSettingsForm tenant={tenant} onTenantChange={onTenantChange} />
      <BudgetSettingsForm
        tenant={tenant}
        onTenantChange={(t) => {
          onTenantChange(t);
          // Budget use shows the limits the server now has.
          stats.reload();
        }}
      />
    </div>
  );
}
