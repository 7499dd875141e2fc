// Validates one rendered kustomize overlay of deploy/k8s (run by deploy_manifests_test.sh):
//  - every rendered document and every example (deploy/k8s/examples) against the Kubernetes
//    OpenAPI schema (npm kubernetes-models; the ServiceMonitor with
//    @kubernetes-models/prometheus-operator or by hand; cert-manager objects by hand);
//  - the overlay's parameters took: every object in its namespace, every image its image;
//  - every StatefulSet: TLS flags pointing into a read-only kubernetes.io/tls Secret volume,
//    native gRPC startup/readiness/liveness probes on the health port (--health_listen) and
//    never on the TLS service port, a PodDisruptionBudget that does not block node drains, a
//    NetworkPolicy selecting it that admits exactly the peers calling it, Prometheus on the
//    metrics port and the probes on the health port; a volumeClaimTemplate mounted, grace
//    period above the 10 s drain, non-root and read-only root filesystem, scrape annotations;
//  - every ConfigMap/Secret a container references exists (rendered, examples, or the Secret
//    of a cert-manager Certificate) with the keys it names; every ConfigMap key is
//    SALESOPS_<FLAG> of a flag README.md names; peer addresses name a Service's grpc port;
//  - every Service selects a StatefulSet's or the console's pods; the example Certificate of
//    the namespace's TLS Secret names every service's Service;
//  - the web console (a Deployment, DECISIONS D64): the overlay's set of Deployments, two or
//    more replicas, no volume claims, args naming the four services' Services on their grpc
//    ports, HTTPS from its own certificate Secret and the services verified with only ca.crt of
//    theirs, HTTP probes on GET /config.json, the image's assets directory, a draining
//    PodDisruptionBudget, a Service, and NetworkPolicies that let it reach the four services
//    (and only those) and let the browsers reach it.
// Usage: node deploy_validate.js <npm prefix> <README.md> <config.json>
//   config: {"overlay", "rendered": file, "examples": [files], "namespace", "image",
//            "tlsSecret", "statefulSets": [names], "deployments": [names],
//            "consoleTlsSecret", "assetsDir"}
'use strict';
const path = require('path');
const fs = require('fs');
const [prefix, readme, configFile] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
const req = (m) => require(path.resolve(prefix, 'node_modules', m));
const yaml = req('js-yaml');
const models = {
  'v1/Namespace': req('kubernetes-models/v1/Namespace').Namespace,
  'v1/ConfigMap': req('kubernetes-models/v1/ConfigMap').ConfigMap,
  'v1/Secret': req('kubernetes-models/v1/Secret').Secret,
  'v1/Service': req('kubernetes-models/v1/Service').Service,
  'apps/v1/StatefulSet': req('kubernetes-models/apps/v1/StatefulSet').StatefulSet,
  'apps/v1/Deployment': req('kubernetes-models/apps/v1/Deployment').Deployment,
  'policy/v1/PodDisruptionBudget': req('kubernetes-models/policy/v1/PodDisruptionBudget').PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': req('kubernetes-models/networking.k8s.io/v1/NetworkPolicy').NetworkPolicy,
  'networking.k8s.io/v1/Ingress': req('kubernetes-models/networking.k8s.io/v1/Ingress').Ingress,
};
let ServiceMonitor = null;
try {
  ServiceMonitor = req('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor').ServiceMonitor;
} catch (e) { /* checked by hand below */ }

const errors = [];
const fail = (where, msg) => errors.push(`${config.overlay}: ${where}: ${msg}`);
const ok = (msg) => console.log(`  ok   ${msg}`);

// Flags the README documents: `--name` in the "Running a service" section and beyond.
const flags = new Set([...fs.readFileSync(readme, 'utf8').matchAll(/`--([a-z_]+)/g)].map((m) => m[1]));

function load(file, external) {
  let parsed;
  try {
    parsed = yaml.loadAll(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(path.basename(file), `YAML does not parse: ${e.message}`);
    return [];
  }
  return parsed.filter((o) => o != null).map((obj, i) => ({
    obj, external, where: `${path.basename(file)}#${i} ${obj.kind}/${obj.metadata && obj.metadata.name}`,
  }));
}
const docs = load(config.rendered, false);
const examples = [].concat(...(config.examples || []).map((f) => load(f, true)));
if (docs.length === 0) fail('rendered', 'no documents found');

// 1. Schema validation of everything; the rendered objects are in the overlay's namespace.
function validateCertManager({ obj, where }) {
  const s = obj.spec || {};
  if (obj.kind === 'Certificate') {
    if (!s.secretName || !s.issuerRef || !s.issuerRef.name) fail(where, 'Certificate lacks secretName or issuerRef');
    if (!s.isCA && !(Array.isArray(s.dnsNames) && s.dnsNames.length)) fail(where, 'Certificate names no dnsNames');
  } else if (obj.kind === 'ClusterIssuer' || obj.kind === 'Issuer') {
    if (!s.selfSigned && !s.ca) fail(where, 'issuer is neither selfSigned nor ca');
  } else {
    fail(where, `unexpected cert-manager kind ${obj.kind}`);
  }
}
for (const d of [...docs, ...examples]) {
  const { obj, where } = d;
  const key = `${obj.apiVersion}/${obj.kind}`;
  if (obj.apiVersion === 'cert-manager.io/v1') {
    validateCertManager(d);
    continue;
  }
  if (key === 'monitoring.coreos.com/v1/ServiceMonitor') {
    if (ServiceMonitor) {
      try { new ServiceMonitor(obj).validate(); } catch (e) { fail(where, `schema: ${e.message}`); }
    } else if (!obj.spec || !obj.spec.selector || !Array.isArray(obj.spec.endpoints)) {
      fail(where, 'spec.selector or spec.endpoints missing');
    }
    continue;
  }
  const Model = models[key];
  if (!Model) { fail(where, `unexpected apiVersion/kind ${key}`); continue; }
  try { new Model(obj).validate(); } catch (e) { fail(where, `schema: ${e.message}`); }
  if (d.external) continue;
  if (obj.kind === 'Namespace') {
    if (obj.metadata.name !== config.namespace) fail(where, `Namespace is not the overlay's ${config.namespace}`);
  } else if (obj.metadata.namespace !== config.namespace) {
    fail(where, `metadata.namespace ${obj.metadata.namespace} is not the overlay's ${config.namespace}`);
  }
}
ok(`${docs.length} rendered documents and ${examples.length} examples pass the schema; namespace ${config.namespace}`);

const byKind = (k) => docs.filter((d) => d.obj.kind === k);
const configMaps = new Map(byKind('ConfigMap').map((d) => [d.obj.metadata.name, d.obj.data || {}]));
// Secrets come from outside the overlay: the examples, and the Secrets cert-manager
// Certificates of the overlay's namespace write (type kubernetes.io/tls with ca.crt).
const secrets = new Map();
for (const { obj } of examples) {
  if (obj.kind === 'Secret') {
    secrets.set(obj.metadata.name, { type: obj.type, keys: Object.assign({}, obj.data || {}, obj.stringData || {}) });
  }
}
const certificates = examples.filter((d) => d.obj.kind === 'Certificate' && d.obj.metadata.namespace === config.namespace);
for (const { obj } of certificates) {
  secrets.set(obj.spec.secretName, { type: 'kubernetes.io/tls', keys: { 'tls.crt': 1, 'tls.key': 1, 'ca.crt': 1 } });
}

// 2. ConfigMap keys are SALESOPS_<flag> of documented flags. ConfigMaps mounted as files
// (labelled salesops/config-kind: file, e.g. the global forecast's regions file) hold files.
const fileMaps = new Set(byKind('ConfigMap')
  .filter((d) => ((d.obj.metadata.labels || {})['salesops/config-kind']) === 'file')
  .map((d) => d.obj.metadata.name));
for (const [name, data] of configMaps) {
  if (fileMaps.has(name)) continue;
  for (const k of Object.keys(data)) {
    const m = /^SALESOPS_([A-Z0-9_]+)$/.exec(k);
    if (!m) fail(`ConfigMap/${name}`, `key ${k} is not SALESOPS_<FLAG>`);
    else if (!flags.has(m[1].toLowerCase())) fail(`ConfigMap/${name}`, `${k}: README.md names no --${m[1].toLowerCase()}`);
  }
}

// 3. StatefulSets: the overlay's set, each with TLS, probes, volumes and environment.
const statefulSets = byKind('StatefulSet');
const names = statefulSets.map((d) => d.obj.metadata.name).sort();
if (JSON.stringify(names) !== JSON.stringify([...config.statefulSets].sort())) {
  fail('rendered', `StatefulSets ${names.join(',')} are not ${[...config.statefulSets].sort().join(',')}`);
}
const podsOf = new Map();  // StatefulSet name -> {labels, ports: {name: number}, env}

function checkVolumes(where, pod, vcts) {
  const volumes = new Map((pod.volumes || []).map((v) => [v.name, v]));
  for (const v of vcts) volumes.set(v.metadata.name, { pvc: true });
  for (const v of pod.volumes || []) {
    if (v.secret) {
      const s = secrets.get(v.secret.secretName);
      if (!s) fail(where, `volume ${v.name}: Secret ${v.secret.secretName} is in no example and no Certificate of ${config.namespace}`);
      else for (const it of v.secret.items || []) if (!(it.key in s.keys)) fail(where, `volume ${v.name}: Secret ${v.secret.secretName} has no key ${it.key}`);
    }
    if (v.configMap) {
      const keys = configMaps.get(v.configMap.name);
      if (!keys) fail(where, `volume ${v.name}: ConfigMap ${v.configMap.name} is not in the manifests`);
      else for (const it of v.configMap.items || []) if (!(it.key in keys)) fail(where, `volume ${v.name}: ConfigMap ${v.configMap.name} has no key ${it.key}`);
    }
  }
  return volumes;
}

// The effective SALESOPS_* variables of a container and where they come from.
function environment(cw, c) {
  const env = {};
  for (const ef of c.envFrom || []) {
    if (ef.configMapRef) {
      const data = configMaps.get(ef.configMapRef.name);
      if (!data) fail(cw, `envFrom ConfigMap ${ef.configMapRef.name} is not in the manifests`);
      else Object.assign(env, data);
    } else if (ef.secretRef) {
      const s = secrets.get(ef.secretRef.name);
      if (!s) fail(cw, `envFrom Secret ${ef.secretRef.name} is not in the examples`);
      else for (const k of Object.keys(s.keys)) env[k] = '<secret>';
    }
  }
  for (const e of c.env || []) {
    const vf = e.valueFrom || {};
    if (vf.configMapKeyRef) {
      const data = configMaps.get(vf.configMapKeyRef.name);
      if (!data || !(vf.configMapKeyRef.key in data)) fail(cw, `env ${e.name}: ConfigMap ${vf.configMapKeyRef.name} key ${vf.configMapKeyRef.key} does not exist`);
      else env[e.name] = data[vf.configMapKeyRef.key];
    } else if (vf.secretKeyRef) {
      const s = secrets.get(vf.secretKeyRef.name);
      if (!s || !(vf.secretKeyRef.key in s.keys)) fail(cw, `env ${e.name}: Secret ${vf.secretKeyRef.name} key ${vf.secretKeyRef.key} does not exist`);
      else env[e.name] = '<secret>';
    } else {
      env[e.name] = e.value;
    }
  }
  for (const a of [...(c.command || []), ...(c.args || [])]) {
    for (const m of String(a).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
      if (!(m[1] in env)) fail(cw, `command/args use $(${m[1]}), which no env or ConfigMap/Secret key defines`);
    }
  }
  return env;
}

// Native gRPC probes on the plaintext health listener, never on the TLS service port.
function checkProbes(cw, c, env, ports) {
  if (!ports.health) { fail(cw, 'no container port named health (--health_listen)'); return; }
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const p = c[probe];
    if (!p || !p.grpc) fail(cw, `${probe} is not a native gRPC probe`);
    else if (p.grpc.port === ports.grpc) fail(cw, `${probe} probes the TLS service port ${ports.grpc}`);
    else if (p.grpc.port !== ports.health) fail(cw, `${probe}.grpc.port ${p.grpc.port} is not the health port ${ports.health}`);
  }
  const hl = env.SALESOPS_HEALTH_LISTEN || '';
  if (!hl.endsWith(`:${ports.health}`)) fail(cw, `SALESOPS_HEALTH_LISTEN=${hl} is not the health port`);
  else if (!/^(0\.0\.0\.0|\[::\]):/.test(hl)) fail(cw, `SALESOPS_HEALTH_LISTEN=${hl}: kubelet probes the pod IP, listen on all addresses`);
}

// TLS on: cert, key and peer CA from a read-only mount of the overlay's kubernetes.io/tls Secret.
function checkTls(cw, env, mounts, volumes) {
  for (const k of ['SALESOPS_TLS_CERT_FILE', 'SALESOPS_TLS_KEY_FILE', 'SALESOPS_PEER_TLS_CA_FILE']) {
    const file = env[k];
    if (!file) { fail(cw, `${k} is not set: TLS is off`); continue; }
    const m = mounts.find((mm) => file.startsWith(mm.mountPath + '/'));
    const v = m && volumes.get(m.name);
    if (!v || !v.secret) { fail(cw, `${k}=${file} is not in a Secret volume`); continue; }
    if (!m.readOnly) fail(cw, `${k}: the TLS Secret is not mounted readOnly`);
    if (v.secret.secretName !== config.tlsSecret) fail(cw, `${k}: Secret ${v.secret.secretName} is not the overlay's ${config.tlsSecret}`);
    const s = secrets.get(v.secret.secretName);
    if (s && s.type !== 'kubernetes.io/tls') fail(cw, `${k}: Secret ${v.secret.secretName} is not of type kubernetes.io/tls`);
    if (s && !(path.basename(file) in s.keys)) fail(cw, `${k}: Secret ${v.secret.secretName} has no key ${path.basename(file)}`);
  }
  if (env.SALESOPS_AUTH !== 'tokens') fail(cw, 'SALESOPS_AUTH is not tokens');
}

function checkContainer(where, c, ann, volumes, vcts) {
  const cw = `${where} container ${c.name}`;
  const ports = {};
  for (const p of c.ports || []) ports[p.name] = p.containerPort;
  if (!ports.grpc || !ports.metrics) { fail(cw, 'ports named grpc and metrics missing'); return null; }
  if (c.image !== config.image) fail(cw, `image ${c.image} is not the overlay's ${config.image}`);
  if (String(ports.metrics) !== ann['prometheus.io/port']) fail(cw, 'prometheus.io/port is not the metrics port');
  const sc = c.securityContext || {};
  if (!sc.readOnlyRootFilesystem) fail(cw, 'readOnlyRootFilesystem is not true');
  if (sc.allowPrivilegeEscalation !== false) fail(cw, 'allowPrivilegeEscalation is not false');
  if (!c.resources || !c.resources.requests || !c.resources.limits) fail(cw, 'resources requests/limits missing');
  const mounts = c.volumeMounts || [];
  for (const m of mounts) if (!volumes.has(m.name)) fail(cw, `volumeMount ${m.name} names no volume`);
  for (const v of vcts) if (!mounts.some((m) => m.name === v.metadata.name && !m.readOnly)) fail(cw, `volumeClaimTemplate ${v.metadata.name} is not mounted writable`);
  for (const m of mounts) {
    const v = volumes.get(m.name);
    if (v && v.secret && !m.readOnly) fail(cw, `Secret volume ${m.name} is not mounted readOnly`);
  }
  const env = environment(cw, c);
  checkProbes(cw, c, env, ports);
  checkTls(cw, env, mounts, volumes);
  if (!(env.SALESOPS_LISTEN || '').endsWith(`:${ports.grpc}`)) fail(cw, `SALESOPS_LISTEN=${env.SALESOPS_LISTEN} is not the grpc port`);
  if (!(env.SALESOPS_METRICS_LISTEN || '').endsWith(`:${ports.metrics}`)) fail(cw, 'SALESOPS_METRICS_LISTEN is not the metrics port');
  const underMount = (file) => mounts.some((m) => file && file.startsWith(m.mountPath + '/'));
  for (const k of ['SALESOPS_TOKENS_FILE', 'SALESOPS_DATA_DIR', 'SALESOPS_PEER_TOKEN_FILE']) {
    if (k in env && !underMount(env[k])) fail(cw, `${k}=${env[k]} is not under a volume mount`);
  }
  if (!env.SALESOPS_TOKENS_FILE || !env.SALESOPS_DATA_DIR) fail(cw, 'SALESOPS_TOKENS_FILE or SALESOPS_DATA_DIR missing');
  const bin = path.basename((c.command || [])[0] || '');
  // A global forecast (--regions_file) follows the headquarters' accounts and the regions.
  const global = bin === 'salesops-forecast' && env.SALESOPS_REGIONS_FILE;
  if (global && !underMount(env.SALESOPS_REGIONS_FILE)) fail(cw, 'SALESOPS_REGIONS_FILE is not under a volume mount');
  const needs = global ? ['ACCOUNTS'] : { 'salesops-pipeline': ['ACCOUNTS'], 'salesops-forecast': ['ACCOUNTS', 'PIPELINE'], 'salesops-credit': ['ACCOUNTS', 'PIPELINE'] }[bin] || [];
  for (const p of needs) if (!env[`SALESOPS_${p}_ADDR`]) fail(cw, `${bin} needs SALESOPS_${p}_ADDR`);
  if (needs.length && !env.SALESOPS_PEER_TOKEN_FILE) fail(cw, `${bin} calls peers but has no SALESOPS_PEER_TOKEN_FILE`);
  if (!/^salesops-(accounts|pipeline|forecast|credit)$/.test(bin)) fail(cw, `command ${bin} is not a SalesOps service`);
  return { ports, env };
}

for (const { obj, where } of statefulSets) {
  const spec = obj.spec;
  const pod = spec.template.spec;
  const ann = spec.template.metadata.annotations || {};
  if (spec.replicas !== 1) fail(where, 'replicas is not 1');
  const vcts = spec.volumeClaimTemplates || [];
  if (vcts.length === 0) fail(where, 'no volumeClaimTemplates');
  if (!(pod.terminationGracePeriodSeconds > 10)) fail(where, 'terminationGracePeriodSeconds is not above the 10 s drain');
  if (!(pod.securityContext && pod.securityContext.runAsNonRoot)) fail(where, 'pod securityContext.runAsNonRoot is not true');
  if (ann['prometheus.io/scrape'] !== 'true' || !ann['prometheus.io/port'] || !ann['prometheus.io/path']) {
    fail(where, 'pod template lacks prometheus.io/scrape, port and path annotations');
  }
  const volumes = checkVolumes(where, pod, vcts);
  if (pod.containers.length !== 1) fail(where, 'not exactly one container');
  const c = checkContainer(where, pod.containers[0], ann, volumes, vcts);
  if (c) podsOf.set(obj.metadata.name, { labels: spec.template.metadata.labels || {}, ports: c.ports, env: c.env });
}
ok(`${statefulSets.length} StatefulSets: TLS from Secret ${config.tlsSecret}, gRPC probes on the health port, image ${config.image}`);

// 4. Services select StatefulSet pods and name their ports grpc and metrics (the console's
// Services: section 7); peer addresses name a Service of this namespace on its grpc port.
const services = byKind('Service');
const deployments = byKind('Deployment');
const selects = (sel, l) => Object.keys(sel || {}).length > 0 && Object.entries(sel).every(([k, v]) => l[k] === v);
const podLabels = statefulSets.map((d) => d.obj.spec.template.metadata.labels || {});
const deploymentLabels = deployments.map((d) => d.obj.spec.template.metadata.labels || {});
for (const { obj, where } of services) {
  const sel = obj.spec.selector || {};
  if (deploymentLabels.some((l) => selects(sel, l))) continue;
  if (!podLabels.some((l) => selects(sel, l))) fail(where, 'selector matches no StatefulSet or Deployment pod template');
  const ports = (obj.spec.ports || []).map((p) => p.name);
  if (!ports.includes('grpc') || !ports.includes('metrics')) fail(where, 'ports grpc and metrics not both named');
}
for (const { obj, where } of statefulSets) {
  const svc = services.find((d) => d.obj.metadata.name === obj.spec.serviceName);
  if (!svc || svc.obj.spec.clusterIP !== 'None') fail(where, `serviceName ${obj.spec.serviceName} is not a headless Service`);
}
const ns = config.namespace.replace(/[.]/g, '\\.');
const addrRe = new RegExp(`^([a-z0-9-]+)(?:\\.${ns}(?:\\.svc(?:\\.cluster\\.local)?)?)?:(\\d+)$`);
const calls = [];  // [caller StatefulSet, callee Service name]
for (const [sts, p] of podsOf) {
  for (const [k, v] of Object.entries(p.env)) {
    if (!/_ADDR$/.test(k)) continue;
    const m = addrRe.exec(v);
    const svc = m && services.find((d) => d.obj.metadata.name === m[1]);
    const port = svc && svc.obj.spec.ports.find((pp) => pp.name === 'grpc');
    if (!port || String(port.port) !== m[2]) fail(`StatefulSet/${sts}`, `${k}=${v} is not a Service's grpc port in ${config.namespace}`);
    else calls.push([sts, svc.obj.spec.selector['app.kubernetes.io/name']]);
  }
}

// The example Certificate of the TLS Secret names every service's ClusterIP Service, short
// and full; the console's Certificate (section 7) its own.
function checkDnsNames(secretName, servicesNamed) {
  const certs = certificates.filter((d) => d.obj.spec.secretName === secretName);
  if (certs.length === 0) fail('examples', `no cert-manager Certificate writes Secret ${secretName} in namespace ${config.namespace}`);
  for (const { obj, where } of certs) {
    const dns = new Set(obj.spec.dnsNames || []);
    for (const s of servicesNamed) {
      const n = s.obj.metadata.name;
      for (const name of [n, `${n}.${config.namespace}.svc`, `${n}.${config.namespace}.svc.cluster.local`]) {
        if (!dns.has(name)) fail(where, `dnsNames lack ${name}`);
      }
    }
  }
}
const clusterServices = services.filter((d) => d.obj.spec.clusterIP !== 'None');
checkDnsNames(config.tlsSecret, clusterServices.filter((d) => podLabels.some((l) => selects(d.obj.spec.selector, l))));

// 5. PodDisruptionBudgets: one per StatefulSet, and none that blocks a node drain forever.
const matchLabels = (sel, labels) => !!sel && !(sel.matchExpressions || []).length &&
  Object.entries(sel.matchLabels || {}).every(([k, v]) => labels[k] === v);
for (const [sts, p] of podsOf) {
  const pdbs = byKind('PodDisruptionBudget').filter((d) => matchLabels(d.obj.spec.selector, p.labels));
  if (pdbs.length !== 1) { fail(`StatefulSet/${sts}`, `${pdbs.length} PodDisruptionBudgets select it, not 1`); continue; }
  const s = pdbs[0].obj.spec;
  const drains = (Number.isInteger(s.maxUnavailable) && s.maxUnavailable >= 1) || s.minAvailable === 0;
  if (!drains) fail(pdbs[0].where, 'with 1 replica it blocks every node drain (use maxUnavailable: 1)');
  if (s.unhealthyPodEvictionPolicy !== 'AlwaysAllow') fail(pdbs[0].where, 'unhealthyPodEvictionPolicy is not AlwaysAllow');
}

// 6. NetworkPolicies. A source is {labels, ns}; a port is a container port name of the pod.
const policies = byKind('NetworkPolicy').map((d) => d.obj);
const peerMatches = (peer, src) => {
  if (peer.ipBlock) return false;
  const nsOk = !peer.namespaceSelector ? src.ns === config.namespace
    : Object.entries(peer.namespaceSelector.matchLabels || {}).every(([k, v]) => k === 'kubernetes.io/metadata.name' && v === src.ns);
  return nsOk && (!peer.podSelector || matchLabels(peer.podSelector, src.labels));
};
const portMatches = (rulePorts, name, number) => !rulePorts || rulePorts.length === 0 ||
  rulePorts.some((rp) => rp.port === undefined || rp.port === name || rp.port === number);
// p: {labels, ports: {name: number}} of the destination pod.
function admitsPod(p, portName, src) {
  return policies.some((pol) => matchLabels(pol.spec.podSelector, p.labels) &&
    (pol.spec.ingress || []).some((r) => portMatches(r.ports, portName, p.ports[portName]) &&
      (!r.from || r.from.length === 0 || r.from.some((peer) => peerMatches(peer, src)))));
}
const admits = (sts, portName, src) => admitsPod(podsOf.get(sts), portName, src);
function egressAllowsPod(p, dst, portName, protocol) {
  const selecting = policies.filter((pol) => matchLabels(pol.spec.podSelector, p.labels) &&
    (pol.spec.policyTypes || []).includes('Egress'));
  if (selecting.length === 0) return true;
  return selecting.some((pol) => (pol.spec.egress || []).some((r) =>
    (!r.ports || r.ports.some((rp) => (rp.port === portName || rp.port === dst.ports[portName]) && (rp.protocol || 'TCP') === protocol)) &&
    (!r.to || r.to.length === 0 || r.to.some((peer) => peerMatches(peer, { labels: dst.labels, ns: config.namespace })))));
}
const egressAllows = (sts, dstSts, portName, protocol) =>
  egressAllowsPod(podsOf.get(sts), podsOf.get(dstSts), portName, protocol);
const stranger = { labels: { 'app.kubernetes.io/name': 'stranger' }, ns: 'elsewhere' };
for (const [sts, p] of podsOf) {
  const where = `StatefulSet/${sts}`;
  if (!policies.some((pol) => pol.metadata.name === sts && matchLabels(pol.spec.podSelector, p.labels))) {
    fail(where, `no NetworkPolicy ${sts} selects it`);
  }
  // Named ports of every policy that selects it exist on its container.
  for (const pol of policies.filter((x) => matchLabels(x.spec.podSelector, p.labels))) {
    for (const r of [...(pol.spec.ingress || [])]) {
      for (const rp of r.ports || []) if (typeof rp.port === 'string' && !(rp.port in p.ports)) fail(`NetworkPolicy/${pol.metadata.name}`, `port ${rp.port} is no port of ${sts}`);
    }
  }
  for (const [src, sp] of podsOf) {
    if (src === sts) continue;
    const calls_ = calls.some(([a, b]) => a === src && b === sts);
    const client = sp.labels['salesops/client'] === 'true';
    const admitted = admits(sts, 'grpc', { labels: sp.labels, ns: config.namespace });
    if (calls_ && !admitted) fail(where, `its peer ${src} may not connect to its grpc port`);
    if (!calls_ && !client && admitted) fail(where, `${src}, which does not call it, may connect to its grpc port`);
    if (calls_ && !egressAllows(src, sts, 'grpc', 'TCP')) fail(`StatefulSet/${src}`, `egress to its peer ${sts} is not allowed`);
  }
  if (admits(sts, 'grpc', stranger)) fail(where, 'any pod may connect to its grpc port');
  if (admits(sts, 'metrics', stranger)) fail(where, 'any pod may connect to its metrics port');
  if (!policies.some((pol) => matchLabels(pol.spec.podSelector, p.labels) && (pol.spec.ingress || [])
    .some((r) => (r.ports || []).some((rp) => rp.port === 'metrics') && (r.from || []).length > 0))) {
    fail(where, 'no policy admits Prometheus on the metrics port');
  }
  if (!admits(sts, 'health', { labels: {}, ns: 'kube-system' })) fail(where, 'the health port is not open to the probes');
  if (!admits(sts, 'grpc', { labels: { 'salesops/client': 'true' }, ns: 'clients' })) fail(where, 'API clients (salesops/client: "true") may not connect');
}
ok(`${podsOf.size} StatefulSets: one draining PodDisruptionBudget each; NetworkPolicies admit exactly the peers (${calls.length} calls), clients, Prometheus, probes`);

require('./deploy_validate_console.js').check({
  config, fail, ok, deployments, services, examples, statefulSets, podsOf, addrRe, secrets, environment,
  checkVolumes, checkDnsNames, selects, matchLabels, admitsPod, egressAllowsPod,
  pdbs: byKind('PodDisruptionBudget'), policies, stranger,
});

if (errors.length) {
  console.error(`FAIL: ${errors.length} problem(s) in the Kubernetes manifests:`);
  for (const e of errors) console.error(`  - ${e}`);
  process.exit(1);
}
console.log(`k8s ${config.overlay}: ${docs.length} documents valid`);
