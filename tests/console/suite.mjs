// The browser tests' suite (issue 22): the four real services with bearer tokens, the demo data
// and salesops-console, on loopback, in a temp dir. Run by ctest as three steps of one fixture
// (tests/CMakeLists.txt):
//
//   node suite.mjs setup --state=FILE --accounts=BIN --pipeline=BIN --forecast=BIN --credit=BIN
//        --ctl=BIN --console=BIN --assets=DIR [--port_base=N]
//     starts the services (--auth=tokens, ADMIN + a SERVICE peer token), waits for SERVING, loads
//     the demo, finds Li Na's REP node and her manager's node, rewrites the tokens file with a REP
//     "lina" and a MANAGER, restarts the services (tokens are read at start; the data stays),
//     waits for the seed forecast again, starts the console, and writes FILE (state JSON: ports,
//     tokens, node ids, pids, the quarter; written as each process starts). On any failure, or
//     after 200 s, it kills what it started and prints the logs. On success the processes stay
//     up for the cases. A detached watchdog, started first, stops whatever FILE names after
//     --max_seconds (2700), should neither this step nor the cleanup get to it. ctest may run
//     other tests between a fixture's setup and its cases (it orders by cost under -j), so the
//     bound is the whole test run's, not the cases' own.
//   node suite.mjs cleanup --state=FILE
//     stops everything FILE names (SIGTERM, then SIGKILL after 20 s), the watchdog too.
//
// Ports are free loopback ports (bound to port 0 and released), or port_base+0..12 when given.
import {spawn, execFile} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {getForecast, listOrgNodes, minor, pathTo, waitFor} from './api.mjs';

const SETUP_DEADLINE_MS = 200000;
const SERVICES = ['accounts', 'pipeline', 'forecast', 'credit'];
// Who each service calls or follows (scripts/run.sh).
const PEERS = {
  accounts: [],
  pipeline: ['accounts', 'credit'],
  forecast: ['accounts', 'pipeline', 'credit'],
  credit: ['accounts', 'pipeline'],
};

export function parseArgs(argv) {
  const out = {_: []};
  for (const a of argv) {
    const m = /^--([a-z_]+)=(.*)$/s.exec(a);
    if (m) out[m[1]] = m[2];
    else out._.push(a);
  }
  return out;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function allocatePorts(base) {
  const ports = {};
  let i = 0;
  const next = async () => (base ? base + i++ : freePort());
  for (const s of SERVICES) {
    ports[s] = {grpc: await next(), http: await next(), metrics: await next()};
  }
  ports.console = await next();
  return ports;
}

// A tokens file line (common/server/auth.h): "<sha256 hex of token> <name> <ROLE> [<node>]".
function tokenLine(token, name, role, node = '') {
  const digest = crypto.createHash('sha256').update(token).digest('hex');
  return `${digest} ${name} ${role}${node ? ' ' + node : ''}\n`;
}

function writeSecret(file, text) {
  fs.writeFileSync(file, text, {mode: 0o600});
  fs.chmodSync(file, 0o600);
}

function newToken() {
  return crypto.randomBytes(24).toString('hex');
}

// True while `pid` is a live (not zombie) process.
export function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return false;
  }
}

function argv0(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return null;
  }
}

// True when `pid` runs `bin` (guards against a recycled pid).
function runs(pid, bin) {
  return argv0(pid) === bin;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// SIGTERM, wait up to `ms` for the exit, then SIGKILL. Only pids still running `bin`.
export async function stopPid(pid, bin, ms = 20000) {
  if (!pid || !runs(pid, bin)) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return 'stopped';
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch { /* gone meanwhile */ }
  return 'killed';
}

// Runs `bin args` to its exit (bounded); resolves to {code, out}.
function run(bin, args, timeoutMs) {
  return new Promise((resolve) => {
    execFile(bin, args, {timeout: timeoutMs, maxBuffer: 16 << 20}, (err, stdout, stderr) => {
      resolve({code: err ? (err.code ?? -1) : 0, out: `${stdout}${stderr}`});
    });
  });
}

class Harness {
  constructor(opts) {
    this.opts = opts;
    this.children = new Map();  // name -> ChildProcess
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'salesops-console-test-'));
    this.handedOver = false;
  }

  log(msg) {
    console.log(`suite: ${msg}`);
  }

  serviceArgs(name) {
    const p = this.ports;
    const args = [
      `--listen=127.0.0.1:${p[name].grpc}`, `--http_listen=127.0.0.1:${p[name].http}`,
      `--metrics_listen=127.0.0.1:${p[name].metrics}`, `--data_dir=${path.join(this.dir, name)}`,
      '--init', '--auth=tokens', `--tokens_file=${this.tokensFile}`,
      `--peer_token_file=${this.peerTokenFile}`,
    ];
    for (const peer of PEERS[name]) args.push(`--${peer}_addr=127.0.0.1:${p[peer].grpc}`);
    return args;
  }

  // Starts `bin args` detached (its own process group, stdio to <dir>/<name>.log, appended), so
  // it outlives this process when handed over to the cases.
  spawnLogged(name, bin, args) {
    const fd = fs.openSync(path.join(this.dir, `${name}.log`), 'a');
    const child = spawn(bin, args, {detached: true, stdio: ['ignore', fd, fd]});
    fs.closeSync(fd);
    child.exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({code, sig})));
    child.on('error', (e) => fs.appendFileSync(path.join(this.dir, `${name}.log`), `spawn: ${e}\n`));
    this.children.set(name, child);
    this.saveState();  // so that the watchdog and a cleanup find it, whatever happens next
    return child;
  }

  startServices() {
    for (const s of SERVICES) this.spawnLogged(s, this.opts[s], this.serviceArgs(s));
  }

  // SIGTERM each service, wait (20 s each) for its exit; a service that does not exit fails.
  async stopServices() {
    for (const s of SERVICES) this.children.get(s)?.kill('SIGTERM');
    for (const s of SERVICES) {
      const child = this.children.get(s);
      let timer;
      const r = await Promise.race([child.exited,
        new Promise((resolve) => (timer = setTimeout(() => resolve(null), 20000)))]);
      clearTimeout(timer);
      if (r === null) throw new Error(`${s} did not exit within 20 s of SIGTERM`);
      this.log(`${s} stopped (${r.sig ?? 'exit ' + r.code})`);
    }
  }

  ctlArgs() {
    return SERVICES.map((s) => `--${s}=127.0.0.1:${this.ports[s].grpc}`)
        .concat([`--token=${this.tokens.admin}`]);
  }

  async ctl(args, timeoutMs) {
    const r = await run(this.opts.ctl, this.ctlArgs().concat(args), timeoutMs);
    fs.appendFileSync(path.join(this.dir, 'salesopsctl.log'), `$ salesopsctl ${args.join(' ')}\n${r.out}\n`);
    if (r.code !== 0) throw new Error(`salesopsctl ${args.join(' ')} exited ${r.code}:\n${r.out}`);
    return r.out;
  }

  async waitServing() {
    await this.ctl(['demo', 'wait', '--wait_seconds=60'], 70000);
  }

  http(s) {
    return `http://127.0.0.1:${this.ports[s].http}`;
  }

  // Li Na's forecast for the demo quarter once it shows a weighted pipeline (the seed).
  async seedForecast(expectMinor) {
    return waitFor(`Li Na's forecast to show the seed${expectMinor ? ' ' + expectMinor : ''}`,
        30000, async () => {
          const f = await getForecast(this.http('forecast'), this.tokens.admin, this.nodes.lina,
              this.quarter.fy, this.quarter.fq);
          const w = minor(f.node?.pipelineWeighted);
          return (expectMinor ? w === expectMinor : w !== '0') ? w : null;
        }, 250);
  }

  async findNodes() {
    const nodes = await listOrgNodes(this.http('accounts'), this.tokens.admin);
    const lina = nodes.filter((n) => n.name === 'Li Na' && n.kind === 'ORG_NODE_KIND_REP');
    if (lina.length !== 1) throw new Error(`expected one REP node "Li Na", found ${lina.length}`);
    const roots = nodes.filter((n) => !n.parentId);
    if (roots.length !== 1) throw new Error(`expected one root org node, found ${roots.length}`);
    const manager = nodes.find((n) => n.id === lina[0].parentId);
    this.nodes = {
      root: roots[0].id, rootName: roots[0].name, lina: lina[0].id, manager: manager.id,
      managerName: manager.name, managerPrincipal: manager.managerPrincipal || 'manager',
      path: pathTo(nodes, lina[0].id).map((n) => ({id: n.id, name: n.name})),
    };
  }

  writeTokens(withScoped) {
    let text = tokenLine(this.tokens.admin, 'admin', 'ADMIN') +
        tokenLine(this.tokens.service, 'salesops-peer', 'SERVICE');
    if (withScoped) {
      text += tokenLine(this.tokens.rep, 'lina', 'REP', this.nodes.lina) +
          tokenLine(this.tokens.manager, this.nodes.managerPrincipal, 'MANAGER', this.nodes.manager);
    }
    writeSecret(this.tokensFile, text);
  }

  async startConsole() {
    const p = this.ports;
    const url = `http://127.0.0.1:${p.console}`;
    // The upstreams: the services' gRPC ports (--<service>_addr) when the console's --help names
    // that flag, else their Connect HTTP listeners (--<service>_http, the first contract's form).
    const help = await run(this.opts.console, ['--help'], 10000);
    const grpc = help.out.includes('--accounts_addr');
    const upstreams = SERVICES.map((s) => (grpc ? `--${s}_addr=127.0.0.1:${p[s].grpc}` : `--${s}_http=${this.http(s)}`));
    const child = this.spawnLogged('console', this.opts.console, [
      `--listen=127.0.0.1:${p.console}`, ...upstreams, `--assets_dir=${this.opts.assets}`,
      '--locale=en-US',
    ]);
    await waitFor('salesops-console to answer GET /config.json', 15000, async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw Object.assign(new Error(`salesops-console exited (${child.exitCode ?? child.signalCode})`), {fatal: true});
      }
      const r = await fetch(`${url}/config.json`, {signal: AbortSignal.timeout(2000)});
      return r.ok;
    }, 100);
    return url;
  }

  async setup() {
    for (const k of ['accounts', 'pipeline', 'forecast', 'credit', 'ctl', 'console', 'assets']) {
      if (!this.opts[k]) throw new Error(`setup: --${k}= is required`);
      if (!fs.existsSync(this.opts[k])) throw new Error(`setup: --${k}=${this.opts[k]} does not exist`);
    }
    const t0 = Date.now();
    this.startWatchdog();
    this.ports = await allocatePorts(Number(this.opts.port_base || 0));
    this.tokens = {admin: newToken(), service: newToken(), rep: newToken(), manager: newToken()};
    this.tokensFile = path.join(this.dir, 'tokens');
    this.peerTokenFile = path.join(this.dir, 'peer.token');
    writeSecret(this.peerTokenFile, `${this.tokens.service}\n`);
    this.writeTokens(false);
    const now = new Date();  // the demo quarter: the current calendar quarter (UTC)
    this.quarter = {fy: now.getUTCFullYear(), fq: Math.floor(now.getUTCMonth() / 3) + 1};
    this.log(`dir ${this.dir}; starting the services`);
    this.startServices();
    await this.waitServing();
    await this.ctl(['demo', 'load'], 120000);
    await this.findNodes();
    const seed = await this.seedForecast();
    this.log(`demo loaded; Li Na ${this.nodes.lina} weighted ${seed} (minor units); restarting with REP and MANAGER tokens`);
    this.writeTokens(true);
    await this.stopServices();
    this.startServices();
    await this.waitServing();
    await this.seedForecast(seed);
    this.consoleUrl = await this.startConsole();
    this.log(`console at ${this.consoleUrl} (setup took ${Date.now() - t0} ms)`);
  }

  state() {
    const pids = {};
    const bins = {};
    for (const [name, child] of this.children) {
      pids[name] = child.pid;
      bins[name] = argv0(child.pid) ?? child.spawnfile;  // what runs (a script's interpreter)
    }
    return {
      dir: this.dir, consoleUrl: this.consoleUrl, ports: this.ports, tokens: this.tokens,
      nodes: this.nodes, quarter: this.quarter, pids, bins,
      http: Object.fromEntries(SERVICES.map((s) => [s, this.http(s)])),
    };
  }

  // The watchdog (detached): stops what the state file names after max_seconds, should neither
  // this process nor the cleanup step get to it.
  startWatchdog() {
    const self = fileURLToPath(import.meta.url);
    const dog = spawn(process.execPath, [self, 'watchdog', `--state=${this.opts.state}`,
      `--max_seconds=${Number(this.opts.max_seconds || 2700)}`], {detached: true, stdio: 'ignore'});
    dog.unref();
    this.watchdog = {pid: dog.pid, bin: process.execPath};
  }

  saveState() {
    const state = {...this.state(), watchdog: this.watchdog};
    fs.writeFileSync(this.opts.state, JSON.stringify(state, null, 2), {mode: 0o600});
  }

  // Hands the processes over to the cases: the final state, and they outlive this process.
  handOver() {
    this.saveState();
    for (const child of this.children.values()) child.unref();
    this.handedOver = true;
  }

  // On failure (or exit before the handover): SIGKILL everything started.
  killAll() {
    if (this.handedOver) return;
    if (this.watchdog) {
      try {
        process.kill(this.watchdog.pid, 'SIGKILL');
      } catch { /* already gone */ }
    }
    for (const child of this.children.values()) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch { /* already gone */ }
      }
    }
  }

  printLogs() {
    for (const f of fs.readdirSync(this.dir).filter((f) => f.endsWith('.log'))) {
      const text = fs.readFileSync(path.join(this.dir, f), 'utf8');
      console.log(`----- ${f} (last 4000 chars) -----\n${text.slice(-4000)}`);
    }
  }
}

// Stops what the state file names (watchdog first, then the console, then the services).
export async function cleanup(stateFile) {
  let state;
  try {
    state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch {
    console.log(`suite: no state at ${stateFile}; nothing to stop`);
    return;
  }
  if (state.watchdog) await stopPid(state.watchdog.pid, state.watchdog.bin, 2000);
  const stop = async (name) => {
    if (state.pids?.[name]) {
      console.log(`suite: ${name} pid ${state.pids[name]}: ${await stopPid(state.pids[name], state.bins[name])}`);
    }
  };
  await stop('console');
  await Promise.all(SERVICES.map(stop));  // each drains on its own
  fs.rmSync(stateFile, {force: true});
  if (state.dir && process.env.SALESOPS_KEEP_TEST_DIR !== '1') {
    fs.rmSync(state.dir, {recursive: true, force: true});
  }
}

async function watchdog(stateFile, maxSeconds) {
  await sleep(maxSeconds * 1000);
  let state;
  try {
    state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch {
    return;
  }
  for (const [name, pid] of Object.entries(state.pids ?? {})) {
    if (pid !== state.watchdog?.pid) await stopPid(pid, state.bins[name], 5000);
  }
  fs.rmSync(stateFile, {force: true});
  if (state.dir && process.env.SALESOPS_KEEP_TEST_DIR !== '1') {
    fs.rmSync(state.dir, {recursive: true, force: true});
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const cmd = args._[0];
  if (!args.state) throw new Error('--state=FILE is required');
  if (cmd === 'cleanup') return cleanup(args.state);
  if (cmd === 'watchdog') return watchdog(args.state, Number(args.max_seconds || 2700));
  if (cmd !== 'setup') throw new Error(`usage: suite.mjs setup|cleanup|watchdog --state=FILE ...`);
  await cleanup(args.state);  // a previous run's leftovers, if any
  const h = new Harness(args);
  process.on('exit', () => h.killAll());
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
  const fail = (e) => {
    console.log(`suite: setup FAILED: ${e.stack ?? e}`);
    h.printLogs();
    process.exit(1);  // the exit handler kills what was started
  };
  // Every wait is bounded; this bounds their sum, below ctest's TIMEOUT of the step (240 s).
  const deadline = setTimeout(() => fail(new Error(`not done within ${SETUP_DEADLINE_MS} ms`)), SETUP_DEADLINE_MS);
  try {
    await h.setup();
  } catch (e) {
    fail(e);
  }
  clearTimeout(deadline);
  h.handOver();
  console.log(`suite: state in ${args.state}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.log(`suite: ${e.stack ?? e}`);
    process.exit(1);
  });
}
