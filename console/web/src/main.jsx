// The SalesOps console's entry: boot (locale, stored token), sign-in, the header with the nav,
// and the hash router (CONSOLE_CONTRACT.md "The app").
import {render} from 'preact';
import {useEffect, useRef, useState} from 'preact/hooks';
import {call, getToken, setToken, setUnauthenticatedHandler} from './api.js';
import {env, loadConfig, resetSession, startOrgLoad} from './env.js';
import {dealHash, pageHash, parseHash, PAGES} from './route.js';
import {quarterOf} from './format.js';
import {ForecastPage} from './forecast.jsx';
import {ProgressPage} from './progress.jsx';
import {DealPage, DealsPage} from './deals.jsx';
import {CollectionsPage} from './collections.jsx';

const NAV = [['forecast', 'Forecast'], ['progress', 'Progress'], ['deals', 'Deals'], ['collections', 'Collections']];

// Signs in with `token`: GetCaller with it, then starts loading the org tree. Resolves once the
// route can render: at once when the start node is known (the caller's node, or the route names
// one; pages await env.orgReady themselves), else when the tree (and so the root) is loaded.
async function startSession(token) {
  const caller = await call('CallerService', 'GetCaller', {}, {token});
  env.caller = {name: caller.name || '', role: caller.role || '', orgNodeId: caller.orgNodeId || ''};
  env.startNode = env.caller.orgNodeId;
  setToken(token);
  const org = startOrgLoad();
  if (!env.startNode && !parseHash(location.hash).node) await org;
}

function SignIn({initialError, onSignedIn}) {
  const [token, setTok] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(initialError);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await startSession(token);
      onSignedIn();
    } catch (err) {
      setToken(null);
      resetSession();
      setError('Sign-in failed: ' + (err.message || String(err)));
      setBusy(false);
    }
  };
  return (
    <section class="signin" data-testid="sign-in-page" data-ready="true">
      <form class="signin-card" onSubmit={submit}>
        <div class="brand brand-dark"><Logo /> SalesOps <span class="brand-sub">Console</span></div>
        <p class="muted">Sign in with your API token. The console shows what the token's role and scope allow.</p>
        <label for="token">Bearer token</label>
        <input id="token" data-testid="token-input" type="password" autocomplete="current-password"
          value={token} onInput={(e) => setTok(e.currentTarget.value)} placeholder="empty for an --auth=none suite" />
        <button data-testid="sign-in-button" type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        {error && <div class="alert" role="alert" data-testid="sign-in-error">{error}</div>}
      </form>
    </section>
  );
}

function Logo() {
  return (
    <svg class="logo" viewBox="0 0 24 24" aria-hidden="true">
      <path d="M3 4h18l-7 8v6l-4 2v-8z" fill="currentColor" />
    </svg>
  );
}

function Header({ctx, active, onSignOut}) {
  return (
    <header class="topbar">
      <div class="topbar-inner">
        <a class="brand" href={pageHash('forecast', ctx)}><Logo /> SalesOps <span class="brand-sub">Console</span></a>
        <nav class="tabs" aria-label="Pages">
          {NAV.map(([page, label]) => (
            <a key={page} data-testid={'nav-' + page} href={pageHash(page, ctx)} class={active === page ? 'tab active' : 'tab'}>
              {label}
            </a>
          ))}
        </nav>
        <div class="who">
          <span data-testid="caller">{env.caller.name} · {env.caller.role}</span>
          <button data-testid="sign-out" class="link-button" onClick={onSignOut}>Sign out</button>
        </div>
      </div>
    </header>
  );
}

// The route with its defaults filled in: the start node and today's quarter.
function complete(route, today) {
  const r = {...route};
  if (!r.page || r.page === 'sign-in') r.page = 'forecast';
  if (r.page !== 'deal') {
    if (!r.node) r.node = env.startNode;
    if (!r.fy || !r.fq) Object.assign(r, today);
  }
  return r;
}

function hashOf(r) {
  return r.page === 'deal' ? dealHash(r.oppId) : pageHash(r.page, r);
}

function App() {
  const [session, setSession] = useState({status: 'booting', error: ''});
  const [hash, setHash] = useState(location.hash);
  const last = useRef({node: '', fy: 0, fq: 0});
  const wanted = useRef(PAGES.includes(parseHash(location.hash).page) || parseHash(location.hash).page === 'deal'
    ? location.hash : '');
  const now = new Date();
  const today = quarterOf(now);

  const signOut = (error) => {
    setToken(null);
    resetSession();
    last.current = {node: '', fy: 0, fq: 0};
    setSession({status: 'signed-out', error});
    location.hash = '#/sign-in';
  };

  useEffect(() => {
    const onHash = () => setHash(location.hash);
    addEventListener('hashchange', onHash);
    setUnauthenticatedHandler((err) => signOut('Sign-in failed: ' + err.message));
    (async () => {
      const config = loadConfig();
      const token = getToken();
      if (token === null) {
        await config;
        return setSession({status: 'signed-out', error: ''});
      }
      try {
        await startSession(token);  // pages await the locale (env.configReady) with their data
        setSession({status: 'signed-in', error: ''});
      } catch (err) {
        signOut('Sign-in failed: ' + (err.message || String(err)));
      }
    })();
    return () => removeEventListener('hashchange', onHash);
  }, []);

  if (session.status === 'booting') return <div class="boot muted">Loading…</div>;
  if (session.status === 'signed-out') {
    if (parseHash(hash).page !== 'sign-in') history.replaceState(null, '', '#/sign-in');
    const onSignedIn = () => {
      const target = wanted.current || pageHash('forecast', {node: env.startNode, ...today});
      wanted.current = '';
      setSession({status: 'signed-in', error: ''});
      location.hash = target;
    };
    return <SignIn initialError={session.error} onSignedIn={onSignedIn} />;
  }

  const route = complete(parseHash(hash), today);
  const full = hashOf(route);
  if (full !== location.hash) history.replaceState(null, '', full);
  // The nav keeps the node and quarter of the last page that had them (a deal's page has none).
  if (route.page !== 'deal') {
    const keepQuarter = route.page === 'deals' || route.page === 'collections';
    last.current = {node: route.node, fy: keepQuarter && last.current.fy ? last.current.fy : route.fy,
      fq: keepQuarter && last.current.fq ? last.current.fq : route.fq};
  }
  const ctx = {node: last.current.node || env.startNode, fy: last.current.fy || today.fy, fq: last.current.fq || today.fq};
  const active = route.page === 'deal' ? 'deals' : route.page;
  const props = {route, today, now, ctx};
  return (
    <>
      <Header ctx={ctx} active={active} onSignOut={() => signOut('')} />
      <main class="content">
        {route.page === 'forecast' && <ForecastPage key={full} {...props} />}
        {route.page === 'progress' && <ProgressPage key={full} {...props} />}
        {route.page === 'deals' && <DealsPage key={full} {...props} />}
        {route.page === 'deal' && <DealPage key={full} {...props} />}
        {route.page === 'collections' && <CollectionsPage key={full} {...props} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app'));
