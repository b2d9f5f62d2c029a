import { useMemo } from 'react';
import type { Tenant } from '../api/types.js';
import { useApi, usePermissions } from '../session.js';
import { useAsync } from '../components/hooks.js';
import { Alert, CopyableId, EmptyState, ErrorState, Spinner } from '../components/ui.js';
import { Link } from '../router.js';
import { isApiError } from '../api/client.js';
import { receiptKindsOf } from '../domain/providers.js';
import { ReceiptKindsContext } from '../provider-kinds.js';
import { DashboardTab } from './tabs/dashboard.js';
import { ProviderTab } from './tabs/provider.js';
import { TestSmsTab } from './tabs/test-sms.js';
import { SettingsTab } from './tabs/settings.js';
import { TemplatesTab } from './tabs/templates.js';
import { MessagesTab } from './tabs/messages.js';
import { InboxTab } from './tabs/inbox.js';
import { ApiKeysTab } from './tabs/api-keys.js';
import { AuditTab } from './tabs/audit.js';
import { FraudGuardTab } from './tabs/fraud-guard.js';
import { EventsTab } from './tabs/events.js';

export interface TabProps {
  tenant: Tenant;
  /** Replace the tenant after a change (settings saved). */
  onTenantChange(t: Tenant): void;
}

/** `writes`: the tab is mostly forms; a viewer sees it read-only (the server refuses changes regardless). */
export const tabs = [
  { id: 'dashboard', label: 'Dashboard', component: DashboardTab },
  { id: 'provider', label: 'SMS provider', component: ProviderTab, writes: true },
  { id: 'test-sms', label: 'Send test SMS', component: TestSmsTab, writes: true },
  { id: 'settings', label: 'Settings', component: SettingsTab, writes: true },
  { id: 'templates', label: 'Templates', component: TemplatesTab, writes: true },
  { id: 'messages', label: 'Messages', component: MessagesTab },
  { id: 'inbox', label: 'Inbox', component: InboxTab },
  { id: 'fraud-guard', label: 'Fraud guard', component: FraudGuardTab },
  { id: 'events', label: 'Events', component: EventsTab, writes: true },
  { id: 'api-keys', label: 'API keys', component: ApiKeysTab, writes: true },
  { id: 'audit', label: 'Audit log', component: AuditTab },
] as const;

export function TenantPage({ id, tab }: { id: string; tab: string }) {
  const api = useApi();
  const tenant = useAsync((signal) => api.call('GET /v1/tenants/{id}', { params: { id }, signal }), [api, id]);
  const kinds = useAsync((signal) => api.call('GET /v1/provider-kinds', { signal }), [api]);
  const receiptKinds = useMemo(() => receiptKindsOf(kinds.data?.items ?? []), [kinds.data]);
  const can = usePermissions();
  const shown = tabs.filter((x) => can.write || x.id !== 'test-sms');
  const current = shown.find((t) => t.id === tab);

  if (tenant.error && tenant.data === undefined) {
    if (isApiError(tenant.error) && tenant.error.status === 404) {
      return (
        <EmptyState title="There is no such tenant">
          <p>
            <code>{id}</code> does not exist (it may have been deleted). <Link to="/">Back to the tenants</Link>
          </p>
        </EmptyState>
      );
    }
    return <ErrorState error={tenant.error} onRetry={tenant.reload} title="Could not load the tenant" />;
  }
  if (kinds.error && kinds.data === undefined) return <ErrorState error={kinds.error} onRetry={kinds.reload} title="Could not load the provider kinds" />;
  if (!tenant.data || !kinds.data) return <Spinner label="Loading the tenant…" />;
  const t = tenant.data;
  const base = `/tenants/${encodeURIComponent(t.id)}`;
  const Tab = current?.component;

  return (
    <div className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <ol>
          <li>
            <Link to="/">Tenants</Link>
          </li>
          <li aria-current="page" title={t.name}>
            {t.name}
          </li>
        </ol>
      </nav>
      <div className="page-head">
        <h1>{t.name}</h1>
        <p className="muted">
          <CopyableId value={t.id} what="tenant id" />
        </p>
      </div>
      <nav aria-label="Tenant sections" className="tabs">
        <ul>
          {shown.map((x) => (
            <li key={x.id}>
              <Link to={x.id === 'dashboard' ? base : `${base}/${x.id}`} aria-current={x.id === current?.id ? 'page' : undefined} className="tab">
                {x.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="tab-panel">
        {Tab ? (
          <ReceiptKindsContext.Provider value={receiptKinds}>
            {!can.write && 'writes' in current! ? (
              <>
                <Alert kind="info">You are signed in as a viewer: this section is read-only.</Alert>
                <fieldset disabled className="readonly-panel" aria-label="Read-only">
                  <Tab key={t.id} tenant={t} onTenantChange={(n) => tenant.setData(n)} />
                </fieldset>
              </>
            ) : (
              <Tab key={t.id} tenant={t} onTenantChange={(n) => tenant.setData(n)} />
            )}
          </ReceiptKindsContext.Provider>
        ) : (
          <EmptyState title="There is no such section">
            <Link to={base}>Go to the dashboard</Link>
          </EmptyState>
        )}
      </div>
    </div>
  );
}
