import type { ReactNode } from 'react';
import { errorKindText, splitRawAnswer } from '../domain/providers.js';

/**
 * Why a provider call failed, as rows of a `<dl class="kv">`: the error kind (with what it
 * means), the provider's own code, the HTTP status, and the provider's answer, with any raw
 * JSON it quoted shown as a scrollable code block rather than wrapped mid-word.
 */
export function ProviderErrorRows({
  kind,
  providerCode,
  httpStatus,
  message,
  explain = false,
}: {
  kind: string | null;
  providerCode: string | null;
  httpStatus: number | null;
  message: string | null;
  /** Add what the kind means and what happens next. */
  explain?: boolean;
}) {
  const text = kind ? errorKindText[kind] : undefined;
  return (
    <>
      {kind ? (
        <>
          <dt>Error kind</dt>
          <dd>
            <code>{kind}</code>
          </dd>
          {explain && text ? <dd className="kv-wide muted small kind-text">{text.meaning}</dd> : null}
        </>
      ) : null}
      <dt>Provider code</dt>
      <dd data-testid="provider-code">{providerCode ? <code>{providerCode}</code> : <span className="muted">none given</span>}</dd>
      {httpStatus ? (
        <>
          <dt>HTTP status</dt>
          <dd data-testid="http-status">{httpStatus}</dd>
        </>
      ) : null}
      {message ? (
        <>
          <dt>Provider said</dt>
          <ProviderMessage message={message} wrap={(text, raw) => (
            <>
              <dd>{text}</dd>
              {raw ? <dd className="kv-wide">{raw}</dd> : null}
            </>
          )} />
        </>
      ) : null}
    </>
  );
}

/**
 * A provider's error message: the sentence, then any raw answer it quoted as a code block.
 * `wrap` places the two parts (in a `<dl>`, the block gets a row of its own, full width).
 */
export function ProviderMessage({ message, wrap }: { message: string; wrap?: (text: ReactNode, raw: ReactNode | null) => ReactNode }) {
  const { text, raw } = splitRawAnswer(message);
  const sentence = <span>{raw ? `${text}:` : text}</span>;
  const block = raw ? (
    <pre className="raw-answer" tabIndex={0} aria-label="The provider's raw answer" data-testid="raw-answer">
      {raw}
    </pre>
  ) : null;
  if (wrap) return <>{wrap(sentence, block)}</>;
  return (
    <>
      {sentence}
      {block}
    </>
  );
}
