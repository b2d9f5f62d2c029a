import { useState } from 'react';
import type { Tenant } from '../api/types.js';
import { useApi } from '../session.js';
import { navigate } from '../router.js';
import { Button, ConfirmDialog, Section } from './ui.js';

/** Deletes a tenant and everything it owns, after the operator types its name (as GitHub does for a repository). */
export function DeleteTenant({ tenant }: { tenant: Tenant }) {
  const api = useApi();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.call('DELETE /v1/tenants/{id}', { params: { id: tenant.id } });
      navigate(`/?deleted=${encodeURIComponent(tenant.name)}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Section title="Delete this tenant" description="Removes the tenant at once with its provider, settings, templates, API keys, messages and audit log; the stored rows are erased in the background. This cannot be undone.">
      <div className="danger-zone">
        <Button variant="danger" onClick={() => setOpen(true)}>
          Delete tenant…
        </Button>
      </div>
      <ConfirmDialog
        open={open}
        title={`Delete ${tenant.name}?`}
        confirmLabel="Delete this tenant"
        confirmText={tenant.name}
        busy={busy}
        error={error}
        onConfirm={() => void remove()}
        onCancel={() => {
          setOpen(false);
          setError(null);
        }}
      >
        <p>
          Every send with its API keys stops at once, and its messages, templates and audit log are deleted. Tenant id <code>{tenant.id}</code>.
        </p>
      </ConfirmDialog>
    </Section>
  );
}
