/**
 * Small shared components. Every piece of data is rendered as text by JSX (never as HTML), so hostile
 * tuple names and values stay inert.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useState } from 'preact/hooks';

/** A table row that is focusable and opens on Enter or click (j/k move between rows). */
export function Row(props: { onOpen?: () => void; selected?: boolean; children: ComponentChildren; label?: string }) {
  const { onOpen, selected, children, label } = props;
  return (
    <tr
      tabIndex={0}
      data-row=""
      aria-selected={selected ? 'true' : undefined}
      aria-label={label}
      class={selected ? 'selected' : undefined}
      onClick={onOpen}
      onKeyDown={(e: JSX.TargetedKeyboardEvent<HTMLTableRowElement>) => {
        if (e.key === 'Enter' && onOpen) {
          e.preventDefault();
          onOpen();
        }
      }}
    >
      {children}
    </tr>
  );
}

/** A number tile of the overview. */
export function Stat(props: { label: string; value: string; hint?: string; tone?: 'ok' | 'warn' | 'bad' }) {
  return (
    <div class={`stat ${props.tone ?? ''}`} title={props.hint}>
      <div class="stat-value">{props.value}</div>
      <div class="stat-label">{props.label}</div>
    </div>
  );
}

/** An error box with the server's message. */
export function ErrorBox(props: { error: unknown }) {
  if (props.error === undefined || props.error === null) return null;
  const msg = props.error instanceof Error ? props.error.message : String(props.error);
  return (
    <div class="error" role="alert">
      {msg}
    </div>
  );
}

/** A button that asks for a second click before doing something destructive (no native dialogs). */
export function ConfirmButton(props: { label: string; confirm: string; onConfirm: () => Promise<void> | void; disabled?: boolean }) {
  const [armed, setArmed] = useState(false);
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      class={armed ? 'danger armed' : 'danger'}
      disabled={props.disabled || busy}
      onBlur={() => setArmed(false)}
      onClick={async () => {
        if (!armed) {
          setArmed(true);
          return;
        }
        setBusy(true);
        try {
          await props.onConfirm();
        } finally {
          setBusy(false);
          setArmed(false);
        }
      }}
    >
      {armed ? props.confirm : props.label}
    </button>
  );
}

/** A state badge. */
export function Badge(props: { state: string; children?: ComponentChildren }) {
  return <span class={`badge state-${props.state.replace(/[^a-z]/g, '')}`}>{props.children ?? props.state}</span>;
}

/** A progress bar (0..1), or a dash when unknown. */
export function Progress(props: { value: number | null }) {
  if (props.value === null) return <span class="muted">–</span>;
  const v = Math.max(0, Math.min(1, props.value));
  return (
    <span class="progress-wrap">
      <progress max={1} value={v} />
      <span class="progress-num">{Math.round(v * 100)}%</span>
    </span>
  );
}

/** Empty-state text. */
export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}
