// The web console's part of deploy_validate.js (DECISIONS D64): checks every Deployment of one
// rendered overlay as a salesops-console, against the overlay's parameters and the services
// rendered beside it. Contract: check(ctx) reports through ctx.fail and ctx.ok and returns
// nothing; ctx carries deploy_validate.js's parsed objects and helpers (see its call).
//  - the overlay's set of Deployments (config.deployments), each >= 2 replicas, no volume claim;
//  - command salesops-console with the overlay's image, args naming each of the four services'
//    ClusterIP Service on its grpc port (--<svc>_addr), the image's assets directory
//    (config.assetsDir, from the Dockerfile), --listen on all addresses at its https port;
//  - HTTPS from config.consoleTlsSecret (tls.crt, tls.key), the services verified with ca.crt of
//    config.tlsSecret and nothing else of it (the console never holds the services' key);
//  - readiness and liveness probes GET /config.json over HTTPS on its port; non-root, read-only
//    root filesystem, no privilege escalation, resources;
//  - a ClusterIP Service on its https port, named in the console's example Certificate;
//  - one PodDisruptionBudget that lets a drain evict one replica;
//  - a NetworkPolicy of its own; the browsers (any pod, any namespace) reach its https port;
//    it reaches each service's grpc port and each service admits it there;
//  - an example Ingress of the overlay's namespace names a rendered Service and its port, and
//    serves a certificate Secret of that namespace.
'use strict';
const path = require('path');

const UPSTREAMS = ['accounts', 'pipeline', 'forecast', 'credit'];

// --name=value args (after $(VAR) expansion from env) as {name: value}.
function flagsOf(args, env) {
  const flags = {};
  for (const a of args || []) {
    const m = /^--([a-z_]+)=(.*)$/.exec(String(a));
    if (m) flags[m[1]] = m[2].replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, v) => env[v] ?? '');
  }
  return flags;
}

// The Secret volume a file lies in, checked as read-only: {mount, volume} or null.
function secretOf(ctx, cw, mounts, volumes, flag, file) {
  const m = mounts.find((mm) => file && file.startsWith(mm.mountPath + '/'));
  const v = m && volumes.get(m.name);
  if (!v || !v.secret) { ctx.fail(cw, `--${flag}=${file} is not in a Secret volume`); return null; }
  if (!m.readOnly) ctx.fail(cw, `--${flag}: Secret volume ${m.name} is not mounted readOnly`);
  const key = path.relative(m.mountPath, file);
  const items = v.secret.items;
  const inItems = !items || items.some((it) => it.path === key);
  if (!inItems) ctx.fail(cw, `--${flag}: ${key} is not an item of volume ${m.name}`);
  const s = ctx.secrets.get(v.secret.secretName);
  const secretKey = items ? (items.find((it) => it.path === key) || {}).key : key;
  if (s && !(secretKey in s.keys)) ctx.fail(cw, `--${flag}: Secret ${v.secret.secretName} has no key ${secretKey}`);
  return { mount: m, volume: v };
}

function checkTls(ctx, cw, flags, mounts, volumes) {
  const { config } = ctx;
  for (const flag of ['tls_cert_file', 'tls_key_file']) {
    const s = secretOf(ctx, cw, mounts, volumes, flag, flags[flag]);
    if (s && s.volume.secret.secretName !== config.consoleTlsSecret) {
      ctx.fail(cw, `--${flag}: Secret ${s.volume.secret.secretName} is not the overlay's console Secret ${config.consoleTlsSecret}`);
    }
  }
  const ca = secretOf(ctx, cw, mounts, volumes, 'peer_tls_ca_file', flags.peer_tls_ca_file);
  if (ca) {
    const sec = ca.volume.secret;
    if (sec.secretName !== config.tlsSecret) ctx.fail(cw, `--peer_tls_ca_file: Secret ${sec.secretName} is not the services' ${config.tlsSecret}`);
    const keys = (sec.items || []).map((it) => it.key);
    if (!sec.items || keys.some((k) => k !== 'ca.crt')) {
      ctx.fail(cw, `the services' Secret ${sec.secretName} is mounted with more than ca.crt (${keys.join(',') || 'every key'})`);
    }
  }
}

function checkProbes(ctx, cw, c, httpsPort) {
  for (const probe of ['readinessProbe', 'livenessProbe']) {
    const g = (c[probe] || {}).httpGet;
    if (!g) { ctx.fail(cw, `${probe} is not an httpGet probe`); continue; }
    if (g.path !== '/config.json') ctx.fail(cw, `${probe} GETs ${g.path}, not /config.json`);
    if (g.port !== 'https' && g.port !== httpsPort) ctx.fail(cw, `${probe} port ${g.port} is not the https port`);
    if (g.scheme !== 'HTTPS') ctx.fail(cw, `${probe} scheme is not HTTPS (the console serves TLS)`);
  }
}

// The four upstream flags name the services' Services on their grpc ports: {svc: pod} called.
function checkUpstreams(ctx, cw, flags) {
  const called = {};
  for (const u of UPSTREAMS) {
    const v = flags[`${u}_addr`];
    const m = v && ctx.addrRe.exec(v);
    const svc = m && ctx.services.find((d) => d.obj.metadata.name === m[1] && d.obj.spec.clusterIP !== 'None');
    const port = svc && (svc.obj.spec.ports || []).find((p) => p.name === 'grpc');
    if (!port || String(port.port) !== m[2]) { ctx.fail(cw, `--${u}_addr=${v} is not a ClusterIP Service's grpc port in ${ctx.config.namespace}`); continue; }
    const sts = svc.obj.spec.selector['app.kubernetes.io/name'];
    if (sts !== `salesops-${u}` || !ctx.podsOf.has(sts)) { ctx.fail(cw, `--${u}_addr=${v} selects ${sts}, not the StatefulSet salesops-${u}`); continue; }
    called[u] = ctx.podsOf.get(sts);
  }
  return called;
}

function checkContainer(ctx, where, pod) {
  const { config } = ctx;
  if (pod.containers.length !== 1) ctx.fail(where, 'not exactly one container');
  const c = pod.containers[0];
  const cw = `${where} container ${c.name}`;
  const volumes = ctx.checkVolumes(where, pod, []);
  const env = ctx.environment(cw, c);
  const flags = flagsOf(c.args, env);
  const ports = {};
  for (const p of c.ports || []) ports[p.name] = p.containerPort;
  if (!ports.https) ctx.fail(cw, 'no container port named https');
  if (c.image !== config.image) ctx.fail(cw, `image ${c.image} is not the overlay's ${config.image}`);
  if (path.basename((c.command || [])[0] || '') !== 'salesops-console') ctx.fail(cw, 'command is not salesops-console');
  if (!/^(0\.0\.0\.0|\[::\]):\d+$/.test(flags.listen || '') || !flags.listen.endsWith(`:${ports.https}`)) {
    ctx.fail(cw, `--listen=${flags.listen} is not all addresses at the https port ${ports.https}`);
  }
  if (flags.assets_dir !== config.assetsDir) ctx.fail(cw, `--assets_dir=${flags.assets_dir} is not the image's ${config.assetsDir} (Dockerfile)`);
  if (!flags.locale) ctx.fail(cw, '--locale is empty');
  const sc = c.securityContext || {};
  if (!sc.readOnlyRootFilesystem) ctx.fail(cw, 'readOnlyRootFilesystem is not true');
  if (sc.allowPrivilegeEscalation !== false) ctx.fail(cw, 'allowPrivilegeEscalation is not false');
  if (!c.resources || !c.resources.requests || !c.resources.limits) ctx.fail(cw, 'resources requests/limits missing');
  const mounts = c.volumeMounts || [];
  for (const m of mounts) if (!volumes.has(m.name)) ctx.fail(cw, `volumeMount ${m.name} names no volume`);
  checkTls(ctx, cw, flags, mounts, volumes);
  checkProbes(ctx, cw, c, ports.https);
  return { ports, called: checkUpstreams(ctx, cw, flags) };
}

function checkNetwork(ctx, where, name, pod, called) {
  const { config } = ctx;
  if (!ctx.policies.some((pol) => pol.metadata.name === name && ctx.matchLabels(pol.spec.podSelector, pod.labels))) {
    ctx.fail(where, `no NetworkPolicy ${name} selects it`);
  }
  if (!ctx.admitsPod(pod, 'https', ctx.stranger)) ctx.fail(where, 'the browsers (any pod, any namespace) may not reach its https port');
  const src = { labels: pod.labels, ns: config.namespace };
  for (const [u, dst] of Object.entries(called)) {
    if (!ctx.admitsPod(dst, 'grpc', src)) ctx.fail(`StatefulSet/salesops-${u}`, `the console ${name} may not connect to its grpc port`);
    if (!ctx.egressAllowsPod(pod, dst, 'grpc', 'TCP')) ctx.fail(where, `egress to salesops-${u}'s grpc port is not allowed`);
  }
  const other = { labels: { 'app.kubernetes.io/name': 'elsewhere' }, ports: { grpc: 443 } };
  if (ctx.egressAllowsPod(pod, other, 'grpc', 'TCP')) ctx.fail(where, 'egress reaches pods other than the four services');
}

function checkDeployment(ctx, { obj, where }) {
  const { config } = ctx;
  const spec = obj.spec;
  const pod = spec.template.spec;
  const labels = spec.template.metadata.labels || {};
  if (!(spec.replicas >= 2)) ctx.fail(where, `replicas ${spec.replicas} is not 2 or more (the console is stateless)`);
  if ((pod.volumes || []).some((v) => v.persistentVolumeClaim)) ctx.fail(where, 'mounts a volume claim: the console holds no data');
  if (!(pod.securityContext && pod.securityContext.runAsNonRoot)) ctx.fail(where, 'pod securityContext.runAsNonRoot is not true');
  const c = checkContainer(ctx, where, pod);
  const svcs = ctx.services.filter((d) => ctx.selects(d.obj.spec.selector, labels));
  if (svcs.length === 0) ctx.fail(where, 'no Service selects it');
  for (const s of svcs) {
    const ports = s.obj.spec.ports || [];
    if (!ports.some((p) => p.targetPort === 'https' || p.targetPort === c.ports.https)) ctx.fail(s.where, 'no port targets the console\'s https port');
  }
  ctx.checkDnsNames(config.consoleTlsSecret, svcs.filter((d) => d.obj.spec.clusterIP !== 'None'));
  const pdbs = ctx.pdbs.filter((d) => ctx.matchLabels(d.obj.spec.selector, labels));
  if (pdbs.length !== 1) ctx.fail(where, `${pdbs.length} PodDisruptionBudgets select it, not 1`);
  for (const { obj: p, where: pw } of pdbs) {
    const s = p.spec;
    const drains = (Number.isInteger(s.maxUnavailable) && s.maxUnavailable >= 1) ||
      (Number.isInteger(s.minAvailable) && s.minAvailable < spec.replicas);
    if (!drains) ctx.fail(pw, `with ${spec.replicas} replicas it blocks every node drain`);
    if (s.unhealthyPodEvictionPolicy !== 'AlwaysAllow') ctx.fail(pw, 'unhealthyPodEvictionPolicy is not AlwaysAllow');
  }
  checkNetwork(ctx, where, obj.metadata.name, { labels, ports: c.ports }, c.called);
  return Object.keys(c.called).length;
}

// Example Ingresses (deploy/k8s/examples) of this namespace route to what the overlay renders.
function checkIngresses(ctx) {
  const ingresses = ctx.examples.filter((d) => d.obj.kind === 'Ingress' && d.obj.metadata.namespace === ctx.config.namespace);
  for (const { obj, where } of ingresses) {
    for (const t of obj.spec.tls || []) {
      if (!ctx.secrets.has(t.secretName)) ctx.fail(where, `tls Secret ${t.secretName} is in no example and no Certificate of ${ctx.config.namespace}`);
    }
    for (const r of obj.spec.rules || []) {
      for (const p of (r.http || {}).paths || []) {
        const b = (p.backend || {}).service || {};
        const svc = ctx.services.find((d) => d.obj.metadata.name === b.name);
        const port = svc && (svc.obj.spec.ports || []).find((pp) => pp.name === (b.port || {}).name || pp.port === (b.port || {}).number);
        if (!port) ctx.fail(where, `backend ${b.name}:${JSON.stringify(b.port)} is no rendered Service port`);
      }
    }
  }
  return ingresses.length;
}

function check(ctx) {
  const { config } = ctx;
  const want = [...(config.deployments || [])].sort();
  const names = ctx.deployments.map((d) => d.obj.metadata.name).sort();
  if (JSON.stringify(names) !== JSON.stringify(want)) {
    ctx.fail('rendered', `Deployments ${names.join(',') || '(none)'} are not ${want.join(',') || '(none)'}`);
  }
  if (ctx.deployments.length === 0) return;
  let upstreams = 0;
  for (const d of ctx.deployments) upstreams += checkDeployment(ctx, d);
  const ingresses = checkIngresses(ctx);
  ctx.ok(`${ctx.deployments.length} console Deployment(s): HTTPS from Secret ${config.consoleTlsSecret}, ${upstreams} upstreams on the services' grpc Services verified with ${config.tlsSecret}'s ca.crt, /config.json probes, assets ${config.assetsDir}; ${ingresses} example Ingress(es)`);
}

module.exports = { check };
