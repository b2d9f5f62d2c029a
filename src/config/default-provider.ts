import { getProviderDescriptor, providerRegistry } from '../providers/registry.js';
import { envNames } from './schema.js';

/** The operator's `Default` provider: a kind and its configuration, parsed by the kind's schema. */
export interface DefaultProvider {
  kind: string;
  config: unknown;
  /** True when the operator set it (`OTPGATE_DEFAULT_PROVIDER`); then it also ends every tenant's chain. */
  explicit: boolean;
}

/**
 * Resolves `OTPGATE_DEFAULT_PROVIDER` + `OTPGATE_DEFAULT_PROVIDER_CONFIG`: unset means `Inbox`
 * in development and none in production. Returns every problem instead of throwing; the
 * messages name the setting and the field, never a value (the JSON holds credentials).
 */
export function resolveDefaultProvider(settings: {
  env: 'development' | 'production';
  defaultProvider?: string | undefined;
  defaultProviderConfig?: string | undefined;
}): { provider: DefaultProvider | null; problems: string[] } {
  const { env, defaultProvider: kind, defaultProviderConfig: json } = settings;
  const problems: string[] = [];
  let raw: unknown = {};
  if (json !== undefined) {
    try {
      raw = JSON.parse(json);
    } catch {
      // JSON.parse's message quotes the text, which holds credentials.
      problems.push(`${envNames.defaultProviderConfig}: not valid JSON`);
    }
  }
  if (!kind) {
    if (json !== undefined) problems.push(`${envNames.defaultProviderConfig}: set, but ${envNames.defaultProvider} is not (which kind is it for?)`);
    return { provider: problems.length === 0 && env === 'development' ? { kind: 'Inbox', config: {}, explicit: false } : null, problems };
  }
  const descriptor = kind === 'Default' ? undefined : getProviderDescriptor(kind);
  if (!descriptor) {
    // Quoted only when it looks like a kind name: a misplaced credential is not echoed.
    const shown = /^[A-Za-z][A-Za-z0-9]{0,40}$/.test(kind) ? ` "${kind}"` : '';
    problems.push(`${envNames.defaultProvider}: unknown provider kind${shown} (one of ${[...providerRegistry.keys()].join(', ')})`);
    return { provider: null, problems };
  }
  if (env === 'production' && descriptor.id === 'Inbox') problems.push(`${envNames.defaultProvider}: Inbox is for development only`);
  if (problems.length > 0) return { provider: null, problems };
  const parsed = descriptor.configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${envNames.defaultProviderConfig}: ${[...issue.path].join('.') || '(root)'}: ${issue.message}`);
    }
    return { provider: null, problems };
  }
  return { provider: { kind: descriptor.id, config: parsed.data, explicit: true }, problems };
}
