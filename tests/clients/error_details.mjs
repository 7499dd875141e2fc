// A Node @grpc/grpc-js client decoding SalesOps' structured error details
// (issue 17): the counterpart of tests/clients/error_details.py, with the same
// arguments and the same JSON on stdout.
//
// Sends one request to a running SalesOps service the way a third-party Node
// integrator would: @grpc/grpc-js for the call (a generic Client's
// makeUnaryRequest on '/salesops.v1.<Service>/<Method>') and protobufjs
// reading the repository's .proto files at run time (salesops/v1 and our
// google/rpc; google/protobuf from /usr/include). It expects the call to fail,
// reads the `grpc-status-details-bin` trailer, decodes it as google.rpc.Status,
// unpacks every google.protobuf.Any and prints
//
//   {"client": "node-grpc-js 1.x", "code": "INVALID_ARGUMENT", "message": ...,
//    "status_code": 3, "detail_types": [...], "violations": [{field,
//    description}, ...], "error_info": {reason, domain, metadata},
//    "precondition_failures": [], "retry_delay_seconds": null}
//
// A failure without the trailer prints "status_code": null and zero
// violations. Exit code: 0 when the call failed, 1 when it succeeded, 2 on bad
// arguments or protos that do not load. With --json_out FILE the JSON is also
// written to FILE.
//
// The npm packages are not installed next to this file: --deps names the
// directory tests/install_node_clients.sh installed them into.
//
// Usage:
//   node tests/clients/error_details.mjs --deps DIR --target 127.0.0.1:PORT \
//     --token TOKEN --method /salesops.v1.AccountsService/CreateAccount \
//     --request_type salesops.v1.CreateAccountRequest \
//     --request_json '{"account": {"name": " ", "tier": 99}}'

import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_PROTO_ROOT = path.resolve(HERE, '..', '..', 'proto');
// Debian's libprotobuf-dev: google/protobuf/{any,duration,descriptor}.proto.
const WELL_KNOWN_INCLUDE = '/usr/include';
const DETAILS_KEY = 'grpc-status-details-bin';
const KNOWN_DETAILS = new Set([
  'google.rpc.BadRequest', 'google.rpc.ErrorInfo',
  'google.rpc.PreconditionFailure', 'google.rpc.RetryInfo'
]);

function fail(message) {
  process.stderr.write(`error_details.mjs: ${message}\n`);
  process.exit(2);
}

const {values: args} = parseArgs({
  options: {
    deps: {type: 'string'},
    target: {type: 'string'},
    token: {type: 'string', default: ''},
    method: {type: 'string'},
    request_type: {type: 'string'},
    request_json: {type: 'string', default: '{}'},
    proto_root: {type: 'string', multiple: true, default: []},
    timeout: {type: 'string', default: '10'},
    json_out: {type: 'string', default: ''},
  },
});
for (const name of ['deps', 'target', 'method', 'request_type']) {
  if (!args[name]) fail(`--${name} is required`);
}
const require = createRequire(path.join(path.resolve(args.deps), 'package.json'));
const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');
const grpcVersion = require('@grpc/grpc-js/package.json').version;

// Every salesops/v1 and google/rpc proto under the roots, imports resolved
// against the roots and then /usr/include; field names as in the .proto
// (keepCase), as the JSON of the Python client has them.
function loadProtos(roots) {
  const includes = [...roots, WELL_KNOWN_INCLUDE];
  const files = [];
  for (const root of roots) {
    for (const dir of ['salesops/v1', 'google/rpc']) {
      const abs = path.join(root, dir);
      if (!fs.existsSync(abs)) continue;
      for (const f of fs.readdirSync(abs).sort()) {
        if (f.endsWith('.proto')) files.push(`${dir}/${f}`);
      }
    }
  }
  if (!files.includes('google/rpc/status.proto')) {
    fail(`google/rpc/status.proto not found under ${JSON.stringify(roots)}`);
  }
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of includes) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return target;
  };
  try {
    root.loadSync(files, {keepCase: true});
    root.resolveAll();
  } catch (e) {
    fail(`protobufjs could not load the protos: ${e.message}`);
  }
  return root;
}

function lookup(root, fullName) {
  try {
    return root.lookupType(fullName);
  } catch (e) {
    fail(`unknown message type ${fullName}`);
  }
}

// Keys sorted at every level, as the Python client's json.dumps(sort_keys).
function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, sorted(value[k])]));
}

function decode(err, root) {
  const report = {
    client: `node-grpc-js ${grpcVersion}`,
    code: grpc.status[err.code] ?? String(err.code),
    message: err.details,
    status_code: null,
    detail_types: [],
    violations: [],
    error_info: null,
    precondition_failures: [],
    retry_delay_seconds: null,
  };
  const trailer = err.metadata ? err.metadata.get(DETAILS_KEY) : [];
  if (trailer.length === 0) return report;
  const toObject = {longs: Number, defaults: true, arrays: true, objects: true};
  const status = lookup(root, 'google.rpc.Status').decode(trailer[0]);
  report.status_code = status.code;
  report.message = status.message || report.message;
  for (const any of status.details) {
    const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    report.detail_types.push(typeName);
    if (!KNOWN_DETAILS.has(typeName)) continue;  // listed, not decoded
    const type = lookup(root, typeName);
    const detail = type.toObject(type.decode(any.value), toObject);
    if (typeName === 'google.rpc.BadRequest') {
      for (const v of detail.field_violations) {
        report.violations.push({field: v.field, description: v.description});
      }
    } else if (typeName === 'google.rpc.ErrorInfo') {
      report.error_info = {
        reason: detail.reason,
        domain: detail.domain,
        metadata: detail.metadata
      };
    } else if (typeName === 'google.rpc.PreconditionFailure') {
      for (const v of detail.violations) {
        report.precondition_failures.push(
            {type: v.type, subject: v.subject, description: v.description});
      }
    } else {
      const d = detail.retry_delay ?? {seconds: 0, nanos: 0};
      report.retry_delay_seconds = d.seconds + d.nanos / 1e9;
    }
  }
  return report;
}

const roots = args.proto_root.length > 0 ?
    args.proto_root.map((r) => path.resolve(r)) :
    [DEFAULT_PROTO_ROOT];
const root = loadProtos(roots);
const requestType = lookup(root, args.request_type);
let request;
try {
  request = requestType.fromObject(JSON.parse(args.request_json));
} catch (e) {
  fail(`--request_json: ${e.message}`);
}
const metadata = new grpc.Metadata();
if (args.token) metadata.set('authorization', `Bearer ${args.token}`);
const client =
    new grpc.Client(args.target, grpc.credentials.createInsecure());
client.makeUnaryRequest(
    args.method, (m) => Buffer.from(requestType.encode(m).finish()),
    (bytes) => bytes, request, metadata,
    {deadline: Date.now() + Number(args.timeout) * 1000}, (err) => {
      client.close();
      const report = err ? decode(err, root) :
                           {client: `node-grpc-js ${grpcVersion}`, code: 'OK'};
      const text = JSON.stringify(sorted(report), null, 2);
      console.log(text);
      if (args.json_out) fs.writeFileSync(args.json_out, text + '\n');
      process.exit(err ? 0 : 1);
    });
