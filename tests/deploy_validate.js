// Validates deploy/k8s/*.yaml (run by deploy_manifests_test.sh):
//  - every document against the Kubernetes OpenAPI schema (npm kubernetes-models), the
//    ServiceMonitor with @kubernetes-models/prometheus-operator or by hand;
//  - every StatefulSet: gRPC readiness and liveness probes on its grpc port, a
//    volumeClaimTemplate mounted by the container, terminationGracePeriodSeconds above the
//    10 s drain, non-root and read-only root filesystem, Prometheus scrape annotations;
//  - every ConfigMap/Secret a container references (envFrom, env valueFrom, volumes) exists
//    with the keys it names; every ConfigMap key is SALESOPS_<FLAG> of a flag README.md names;
//  - every Service selects a StatefulSet's pods and exposes ports named grpc and metrics.
// Usage: node deploy_validate.js <npm prefix with node_modules> <README.md> <yaml files...>
'use strict';
const path = require('path');
const fs = require('fs');
const [prefix, readme, ...files] = process.argv.slice(2);
const req = (m) => require(path.resolve(prefix, 'node_modules', m));
const yaml = req('js-yaml');
const models = {
  'v1/Namespace': req('kubernetes-models/v1/Namespace').Namespace,
  'v1/ConfigMap': req('kubernetes-models/v1/ConfigMap').ConfigMap,
  'v1/Secret': req('kubernetes-models/v1/Secret').Secret,
  'v1/Service': req('kubernetes-models/v1/Service').Service,
  'apps/v1/StatefulSet': req('kubernetes-models/apps/v1/StatefulSet').StatefulSet,
};
let ServiceMonitor = null;
try {
  ServiceMonitor = req('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor').ServiceMonitor;
} catch (e) { /* checked by hand below */ }

const errors = [];
const fail = (where, msg) => errors.push(`${where}: ${msg}`);
const ok = (msg) => console.log(`  ok   ${msg}`);

// Flags the README documents: `--name` in the "Running a service" section and beyond.
const flags = new Set([...fs.readFileSync(readme, 'utf8').matchAll(/`--([a-z_]+)/g)].map((m) => m[1]));

const docs = [];
for (const file of files) {
  let parsed;
  try {
    parsed = yaml.loadAll(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(path.basename(file), `YAML does not parse: ${e.message}`);
    continue;
  }
  parsed.forEach((obj, i) => {
    if (obj == null) return;
    docs.push({ obj, where: `${path.basename(file)}#${i} ${obj.kind}/${obj.metadata && obj.metadata.name}` });
  });
}
if (docs.length === 0) fail('manifests', 'no documents found');

// 1. Schema validation.
for (const { obj, where } of docs) {
  const key = `${obj.apiVersion}/${obj.kind}`;
  if (key === 'monitoring.coreos.com/v1/ServiceMonitor') {
    if (ServiceMonitor) {
      try { new ServiceMonitor(obj).validate(); ok(`${where} (schema, prometheus-operator)`); }
      catch (e) { fail(where, `schema: ${e.message}`); }
    } else {
      const s = obj.spec || {};
      if (!obj.metadata || !obj.metadata.name) fail(where, 'metadata.name missing');
      if (!s.selector || typeof s.selector !== 'object') fail(where, 'spec.selector missing');
      if (!Array.isArray(s.endpoints) || s.endpoints.length === 0) fail(where, 'spec.endpoints missing');
      else ok(`${where} (required fields, by hand)`);
    }
    continue;
  }
  const Model = models[key];
  if (!Model) { fail(where, `unexpected apiVersion/kind ${key}`); continue; }
  try { new Model(obj).validate(); ok(`${where} (schema)`); }
  catch (e) { fail(where, `schema: ${e.message}`); }
  if (obj.kind !== 'Namespace' && (obj.metadata || {}).namespace !== 'salesops') {
    fail(where, 'metadata.namespace is not salesops');
  }
}

const byKind = (k) => docs.filter((d) => d.obj.kind === k);
const configMaps = new Map(byKind('ConfigMap').map((d) => [d.obj.metadata.name, d.obj.data || {}]));
const secrets = new Map(byKind('Secret').map((d) => [d.obj.metadata.name,
  Object.assign({}, d.obj.data || {}, d.obj.stringData || {})]));

// 2. ConfigMap keys are SALESOPS_<flag> of documented flags.
// ConfigMaps mounted as files (labelled salesops/config-kind: file, e.g. the global forecast's
// regions file) hold files, not flags.
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

// 3. StatefulSets.
const statefulSets = byKind('StatefulSet');
// The four services of a regional suite, and the headquarters' global forecast beside them.
const expectedSets = statefulSets.some((d) => d.obj.metadata.name === 'salesops-global-forecast') ? 5 : 4;
if (statefulSets.length !== expectedSets) fail('manifests', `expected ${expectedSets} StatefulSets, found ${statefulSets.length}`);
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
  const volumes = new Map((pod.volumes || []).map((v) => [v.name, v]));
  for (const v of vcts) volumes.set(v.metadata.name, { pvc: true });
  for (const v of pod.volumes || []) {
    if (v.secret) {
      const keys = secrets.get(v.secret.secretName);
      if (!keys) fail(where, `volume ${v.name}: Secret ${v.secret.secretName} is not in the manifests`);
      else for (const it of v.secret.items || []) if (!(it.key in keys)) fail(where, `volume ${v.name}: Secret ${v.secret.secretName} has no key ${it.key}`);
    }
    if (v.configMap) {
      const keys = configMaps.get(v.configMap.name);
      if (!keys) fail(where, `volume ${v.name}: ConfigMap ${v.configMap.name} is not in the manifests`);
      else for (const it of v.configMap.items || []) if (!(it.key in keys)) fail(where, `volume ${v.name}: ConfigMap ${v.configMap.name} has no key ${it.key}`);
    }
  }
  for (const c of pod.containers) {
    const cw = `${where} container ${c.name}`;
    const grpcPort = (c.ports || []).find((p) => p.name === 'grpc');
    const metricsPort = (c.ports || []).find((p) => p.name === 'metrics');
    if (!grpcPort || !metricsPort) { fail(cw, 'ports named grpc and metrics missing'); continue; }
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      const p = c[probe];
      if (!p || !p.grpc) fail(cw, `${probe} is not a native gRPC probe`);
      else if (p.grpc.port !== grpcPort.containerPort) fail(cw, `${probe}.grpc.port ${p.grpc.port} is not the grpc port ${grpcPort.containerPort}`);
    }
    if (String(metricsPort.containerPort) !== ann['prometheus.io/port']) fail(cw, 'prometheus.io/port is not the metrics port');
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
    // Environment: the effective SALESOPS_* variables and where they come from.
    const env = {};
    for (const ef of c.envFrom || []) {
      if (ef.configMapRef) {
        const data = configMaps.get(ef.configMapRef.name);
        if (!data) fail(cw, `envFrom ConfigMap ${ef.configMapRef.name} is not in the manifests`);
        else Object.assign(env, data);
      } else if (ef.secretRef) {
        const data = secrets.get(ef.secretRef.name);
        if (!data) fail(cw, `envFrom Secret ${ef.secretRef.name} is not in the manifests`);
        else for (const k of Object.keys(data)) env[k] = '<secret>';
      }
    }
    for (const e of c.env || []) {
      const vf = e.valueFrom || {};
      if (vf.configMapKeyRef) {
        const data = configMaps.get(vf.configMapKeyRef.name);
        if (!data || !(vf.configMapKeyRef.key in data)) fail(cw, `env ${e.name}: ConfigMap ${vf.configMapKeyRef.name} key ${vf.configMapKeyRef.key} does not exist`);
        else env[e.name] = data[vf.configMapKeyRef.key];
      } else if (vf.secretKeyRef) {
        const data = secrets.get(vf.secretKeyRef.name);
        if (!data || !(vf.secretKeyRef.key in data)) fail(cw, `env ${e.name}: Secret ${vf.secretKeyRef.name} key ${vf.secretKeyRef.key} does not exist`);
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
    // The environment configures a runnable service.
    const listen = env.SALESOPS_LISTEN || '';
    if (!listen.endsWith(`:${grpcPort.containerPort}`)) fail(cw, `SALESOPS_LISTEN=${listen} is not the grpc port`);
    if (!(env.SALESOPS_METRICS_LISTEN || '').endsWith(`:${metricsPort.containerPort}`)) fail(cw, 'SALESOPS_METRICS_LISTEN is not the metrics port');
    if (env.SALESOPS_AUTH !== 'tokens') fail(cw, 'SALESOPS_AUTH is not tokens');
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
  }
  ok(`${where} (probes, volume claim, env and secret references, security, annotations)`);
}

// 4. Services select StatefulSet pods and name their ports grpc and metrics.
const podLabels = statefulSets.map((d) => d.obj.spec.template.metadata.labels || {});
for (const { obj, where } of byKind('Service')) {
  const sel = obj.spec.selector || {};
  const matches = podLabels.some((l) => Object.keys(sel).length && Object.entries(sel).every(([k, v]) => l[k] === v));
  if (!matches) fail(where, 'selector matches no StatefulSet pod template');
  const names = (obj.spec.ports || []).map((p) => p.name);
  if (!names.includes('grpc') || !names.includes('metrics')) fail(where, 'ports grpc and metrics not both named');
}
for (const { obj, where } of statefulSets) {
  const svc = byKind('Service').find((d) => d.obj.metadata.name === obj.spec.serviceName);
  if (!svc || svc.obj.spec.clusterIP !== 'None') fail(where, `serviceName ${obj.spec.serviceName} is not a headless Service`);
}
// Peer addresses point at Services that exist, on their grpc port.
for (const [name, data] of configMaps) {
  for (const [k, v] of Object.entries(data)) {
    if (!/_ADDR$/.test(k)) continue;
    const m = /^([a-z0-9-]+)\.salesops\.svc(?:\.cluster\.local)?:(\d+)$/.exec(v);
    const svc = m && byKind('Service').find((d) => d.obj.metadata.name === m[1]);
    const port = svc && svc.obj.spec.ports.find((p) => p.name === 'grpc');
    if (!port || String(port.port) !== m[2]) fail(`ConfigMap/${name}`, `${k}=${v} is not a Service's grpc port`);
  }
}

if (errors.length) {
  console.error(`FAIL: ${errors.length} problem(s) in the Kubernetes manifests:`);
  for (const e of errors) console.error(`  - ${e}`);
  process.exit(1);
}
console.log(`k8s: ${docs.length} documents valid`);
