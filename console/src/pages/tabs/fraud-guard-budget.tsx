import { useState, type FormEvent } from 'react';
import type { Tenant } from '../../api/types.js';
import { errorText } from '../../api/client.js';
import { useApi } from '../../session.js';
import { Alert, Button, Section, TextField, issuesByPath } from '../../components/ui.js';
import { budgetIssues, budgetPayload, budgetRules, budgetToForm, PRICES_MAX, priceRule, validateBudget, type BudgetForm, type Errors } from '../../domain/fraud-guard.js';

const fieldPath = (p: string) => /^(settings\.sms_prices|settings\.budget\.[a-z_]+|settings\.sms_prices\.default|prices\.\d+\.(country|price))$/.test(p);

/**
 * The tenant's budgets (an empty field is no limit) and SMS prices per segment (per country,
 * and a default). Saved as whole `budget` and `sms_prices` objects.
 */
export function BudgetSettingsForm({ tenant, onTenantChange }: { tenant: Tenant; onTenantChange(t: Tenant): void }) {
  const api = useApi();
  const initial = () => budgetToForm(tenant.settings.budget, tenant.settings.sms_prices);
  const [form, setForm] = useState<BudgetForm>(initial);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: true; changed: boolean } | { ok: false; error: unknown; others: [string, string][] } | null>(null);

  const update = (patch: Partial<BudgetForm>, clear: string[]) => {
    setForm((f) => ({ ...f, ...patch }));
    setErrors((e) => {
      const n = { ...e };
      for (const k of clear) delete n[k];
      return n;
    });
  };
  const setPrice = (i: number, patch: Partial<BudgetForm['prices'][number]>) =>
    update(
      { prices: form.prices.map((p, j) => (j === i ? { ...p, ...patch } : p)) },
      Object.keys(patch).map((k) => `prices.${i}.${k}`),
    );

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setResult(null);
    const errs = validateBudget(form);
    setErrors(errs);
    if (Object.keys(errs).length > 0) {
      requestAnimationFrame(() => document.querySelector<HTMLElement>('.fg-budget-form [aria-invalid="true"]')?.focus());
      return;
    }
    const payload = budgetPayload(form);
    if (JSON.stringify(payload) === JSON.stringify(budgetPayload(initial()))) {
      setResult({ ok: true, changed: false });
      return;
    }
    setBusy(true);
    try {
      const t = await api.call('PATCH /v1/tenants/{id}', { params: { id: tenant.id }, body: { settings: payload } });
      onTenantChange(t);
      setForm(budgetToForm(t.settings.budget, t.settings.sms_prices));
      setResult({ ok: true, changed: true });
    } catch (err) {
      const issues = budgetIssues(issuesByPath(err), form);
      setErrors(issues);
      setResult({ ok: false, error: err, others: Object.entries(issues).filter(([p]) => !fieldPath(p)) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="fg-budget-form" onSubmit={(e) => void save(e)} noValidate aria-label="Budgets and SMS prices">
      <Section title="Budgets and prices" description="Budgets apply in every mode, the guard off included: a send that would pass one is refused until the day or month ends (UTC). Spend and prices are in one currency of your choice.">
        <h3>Budgets</h3>
        <div className="grid-2">
          {budgetRules.map((r) => (
            <TextField
              key={r.key}
              label={r.label}
              id={`fg-budget-${r.key}`}
              type="text"
              inputMode={r.integer ? 'numeric' : 'decimal'}
              value={form.budget[r.key] ?? ''}
              onChange={(e) => update({ budget: { ...form.budget, [r.key]: e.target.value } }, [`settings.budget.${r.key}`])}
              placeholder="no limit"
              help={`${r.help} Empty = no limit; ${r.exclusiveMin ? 'more than 0' : r.min.toLocaleString('en')} to ${r.max.toLocaleString('en')}.`}
              error={errors[`settings.budget.${r.key}`]}
            />
          ))}
        </div>

        <h3>SMS prices</h3>
        <p className="muted small">Price of one segment; the cost of a message is its segments × the price of its country, else the default price, else 0. At most {PRICES_MAX} prices.</p>
        <TextField
          label="Default price per segment"
          id="fg-price-default"
          type="text"
          inputMode="decimal"
          value={form.default_price}
          onChange={(e) => update({ default_price: e.target.value }, ['settings.sms_prices.default'])}
          placeholder="0"
          help={`For countries without their own price. Empty = 0; ${priceRule.min} to ${priceRule.max}.`}
          error={errors['settings.sms_prices.default']}
          className="price-default"
        />
        {form.prices.length === 0 ? <p className="muted">No price per country.</p> : null}
        <ul className="rows price-rows">
          {form.prices.map((p, i) => (
            <li key={i} className="row-item">
              <TextField
                label={
                  <>
                    <span className="sr-only">Price {i + 1}: </span>Country
                  </>
                }
                id={`fg-price-${i}-country`}
                value={p.country}
                maxLength={2}
                onChange={(e) => setPrice(i, { country: e.target.value.toUpperCase() })}
                placeholder="GB"
                error={errors[`prices.${i}.country`]}
              />
              <TextField
                label={
                  <>
                    <span className="sr-only">Price {i + 1}: </span>Price per segment
                  </>
                }
                id={`fg-price-${i}-price`}
                inputMode="decimal"
                value={p.price}
                onChange={(e) => setPrice(i, { price: e.target.value })}
                placeholder="0.04"
                error={errors[`prices.${i}.price`]}
              />
              <Button
                variant="ghost"
                className="row-remove"
                onClick={() => update({ prices: form.prices.filter((_, j) => j !== i) }, Object.keys(errors).filter((k) => k.startsWith('prices.')))}
                aria-label={`Remove the price of ${p.country || `row ${i + 1}`}`}
              >
                Remove
              </Button>
            </li>
          ))}
        </ul>
        <Button variant="secondary" onClick={() => update({ prices: [...form.prices, { country: '', price: '' }] }, [])} disabled={form.prices.length >= PRICES_MAX - 1}>
          Add a country price
        </Button>
        {errors['settings.sms_prices'] ? <p className="field-error">{errors['settings.sms_prices']}</p> : null}

        <div className="form-actions">
          <Button type="submit" busy={busy}>
            {busy ? 'Saving…' : 'Save budgets and prices'}
          </Button>
          <Button
            variant="secondary"
            disabled={busy}
            onClick={() => {
              setForm(initial());
              setErrors({});
              setResult(null);
            }}
          >
            Discard changes
          </Button>
        </div>
        <div aria-live="polite" data-testid="fg-budget-result">
          {result?.ok ? (
            <Alert kind="success" onDismiss={() => setResult(null)}>
              {result.changed ? 'Budgets and prices saved.' : 'Nothing changed.'}
            </Alert>
          ) : null}
          {result && !result.ok ? (
            <Alert kind="error" title="Not saved">
              <p>{errorText(result.error)}</p>
              {result.others.length > 0 ? (
                <ul>
                  {result.others.map(([p, m]) => (
                    <li key={p}>
                      <code>{p}</code>: {m}
                    </li>
                  ))}
                </ul>
              ) : null}
            </Alert>
          ) : null}
          {!result && Object.keys(errors).length > 0 ? <Alert kind="error">Not saved: some values are not valid, see the fields marked above.</Alert> : null}
        </div>
      </Section>
    </form>
  );
}
