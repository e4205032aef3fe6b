/**
 * The tsdbr dashboard single-page app (Preact). Data only ever reaches the DOM as text through JSX.
 */
import { Fragment, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { SessionInfo } from '../../src/api-types.ts';
import { api, ApiCallError, setCsrf } from './api.ts';
import { STREAM_REFUSED } from './events.ts';
import { href, navigate, useRoute } from './router.ts';
import { applyTheme, initialTheme, type Theme } from './theme.ts';
import { ErrorBox } from './ui.tsx';
import { Namespaces } from './views/Namespaces.tsx';
import { Overview } from './views/Overview.tsx';
import { Queues } from './views/Queues.tsx';
import { Workers } from './views/Workers.tsx';
import { Workflows } from './views/Workflows.tsx';
import './styles.css';

const VIEWS = [
  { key: '1', view: 'overview', label: 'Overview', to: href('') },
  { key: '2', view: 'namespaces', label: 'Namespaces', to: href('ns') },
  { key: '3', view: 'queues', label: 'Queues', to: href('queues') },
  { key: '4', view: 'workers', label: 'Workers', to: href('workers') },
  { key: '5', view: 'workflows', label: 'Workflows', to: href('workflows') },
] as const;

function App() {
  const route = useRoute();
  const [session, setSession] = useState<SessionInfo | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [help, setHelp] = useState(false);

  const adoptSession = (s: SessionInfo) => {
    setCsrf(s.csrfToken);
    setSession(s);
  };
  const loadSession = () => api.session().then(adoptSession).catch(setError);
  useEffect(() => void loadSession(), []);
  // A refused event stream (the dashboard restarted with another token) shows the sign-in form if the session is gone.
  useEffect(() => {
    const recheck = () => void api.session().then(adoptSession).catch(() => undefined);
    window.addEventListener(STREAM_REFUSED, recheck);
    return () => window.removeEventListener(STREAM_REFUSED, recheck);
  }, []);
  useEffect(() => applyTheme(theme), [theme]);

  useEffect(() => {
    let pendingG = false;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      const typing = t !== null && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
      if (typing) {
        if (e.key === 'Escape') (t as HTMLElement).blur();
        return;
      }
      const view = VIEWS.find((v) => v.key === e.key);
      if (view) return navigate(view.to);
      switch (e.key) {
        case '/': {
          const f = document.querySelector<HTMLInputElement>('[data-filter]');
          if (f) {
            e.preventDefault();
            f.focus();
            f.select();
          }
          return;
        }
        case 't':
          setTheme((th) => {
            const next = th === 'dark' ? 'light' : 'dark';
            applyTheme(next, true);
            return next;
          });
          return;
        case '?':
          setHelp((h) => !h);
          return;
        case 'Escape':
          setHelp(false);
          return;
        case 'j':
        case 'k':
        case 'ArrowDown':
        case 'ArrowUp': {
          const rows = [...document.querySelectorAll<HTMLElement>('main [data-row]')];
          if (rows.length === 0) return;
          e.preventDefault();
          const i = rows.indexOf(document.activeElement as HTMLElement);
          const down = e.key === 'j' || e.key === 'ArrowDown';
          const next = i < 0 ? (down ? 0 : rows.length - 1) : Math.max(0, Math.min(rows.length - 1, i + (down ? 1 : -1)));
          rows[next]?.focus();
          return;
        }
        case 'n':
        case 'p':
          window.dispatchEvent(new CustomEvent('dbr:page', { detail: e.key === 'n' ? 'next' : 'prev' }));
          return;
        case 'g':
          pendingG = true;
          return;
        case 'h':
          if (pendingG) navigate(href(''));
          break;
      }
      pendingG = false;
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  if (error !== undefined) return <ErrorBox error={error} />;
  if (session === undefined) return <p class="muted pad">Connecting…</p>;
  if (session.authRequired && !session.authenticated) return <Login onDone={loadSession} />;

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">tsdbr</span>
        <nav aria-label="views">
          {VIEWS.map((v) => (
            <a key={v.view} href={v.to} class={route.view === v.view ? 'active' : ''} aria-current={route.view === v.view ? 'page' : undefined} title={`${v.label} (${v.key})`}>
              {v.label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <span class={`mode ${session.write ? 'write' : 'read'}`} title={session.write ? 'Write actions are enabled' : 'Read-only: start with --write to enable actions'}>
          {session.write ? 'read-write' : 'read-only'}
        </span>
        <span class="muted">{session.backend}</span>
        <button
          type="button"
          class="icon"
          aria-label="toggle theme (t)"
          title="Toggle theme (t)"
          onClick={() => {
            const next = theme === 'dark' ? 'light' : 'dark';
            applyTheme(next, true);
            setTheme(next);
          }}
        >
          {theme === 'dark' ? '☀' : '☾'}
        </button>
        <button type="button" class="icon" aria-label="keyboard shortcuts (?)" title="Keyboard shortcuts (?)" onClick={() => setHelp((h) => !h)}>
          ?
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {route.view === 'overview' && <Overview />}
        {route.view === 'namespaces' && <Namespaces route={route} session={session} />}
        {route.view === 'queues' && <Queues route={route} session={session} theme={theme} />}
        {route.view === 'workers' && <Workers />}
        {route.view === 'workflows' && <Workflows route={route} />}
      </main>
      {help && <Help onClose={() => setHelp(false)} />}
    </>
  );
}

function Help(props: { onClose: () => void }) {
  const keys: [string, string][] = [
    ['1 – 5', 'overview, namespaces, queues, workers, workflows'],
    ['j / k, ↓ / ↑', 'move between rows'],
    ['Enter', 'open the focused row'],
    ['/', 'focus the filter'],
    ['n / p', 'next / previous page of names'],
    ['t', 'toggle light / dark theme'],
    ['?', 'show / hide this help'],
    ['Esc', 'close / leave a field'],
  ];
  return (
    <div class="help" role="dialog" aria-label="keyboard shortcuts">
      <h2>Keyboard</h2>
      <dl>
        {keys.map(([k, v]) => (
          <Fragment key={k}>
            <dt>
              <kbd>{k}</kbd>
            </dt>
            <dd>{v}</dd>
          </Fragment>
        ))}
      </dl>
      <button type="button" onClick={props.onClose}>
        Close
      </button>
    </div>
  );
}

function Login(props: { onDone: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  return (
    <form
      class="login"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api.post('/api/login', { token });
          props.onDone();
        } catch (err) {
          setError(err instanceof ApiCallError ? err : new Error(String(err)));
        }
      }}
    >
      <h1>tsdbr dashboard</h1>
      <p>This dashboard is protected by a token. Paste the token it was started with (or open the URL it printed).</p>
      <label for="token">Token</label>
      <input id="token" type="password" autocomplete="current-password" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
      <button type="submit">Sign in</button>
      <ErrorBox error={error} />
    </form>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
