// Builds the console's static files (docs/DECISIONS.md D65):
//   node console/web/build.mjs --deps DEPS_DIR --out OUT_DIR
// DEPS_DIR/node_modules holds the packages of package-lock.json (the build runs `npm ci` there);
// the sources stay in console/web/src. Writes OUT_DIR/index.html, app.js (bundled, minified,
// ES2020), app.css (minified) and favicon.svg, prints each file's raw and gzipped size and the
// gzipped total, and exits non-zero when that total exceeds the 500 KB. The output is
// deterministic: the same sources and packages give the same bytes (no timestamps, no hashes of
// paths).
import {copyFileSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import {parseArgs} from 'node:util';
import {gzipSync} from 'node:zlib';

const LIMIT_GZ = 500 * 1000;  // the "assets under 500 KB gzipped"
const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');

function usage(msg) {
  console.error(`build.mjs: ${msg}\nusage: node build.mjs --deps DEPS_DIR --out OUT_DIR`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({options: {deps: {type: 'string'}, out: {type: 'string'}}}).values;
} catch (e) {
  usage(e.message);
}
if (!args.deps || !args.out) usage('--deps and --out are required');
const deps = resolve(args.deps);
const out = resolve(args.out);
const nodeModules = join(deps, 'node_modules');

// esbuild from DEPS_DIR (never a global one), so the lock file decides its version.
let esbuild;
try {
  const entry = createRequire(join(deps, 'package.json')).resolve('esbuild');
  const mod = await import(pathToFileURL(entry).href);
  esbuild = mod.build ? mod : mod.default;
} catch (e) {
  console.error(`build.mjs: cannot load esbuild from ${nodeModules} (run npm ci there): ${e.message}`);
  process.exit(1);
}

mkdirSync(out, {recursive: true});
const common = {
  absWorkingDir: here,
  bundle: true,
  minify: true,
  write: false,
  logLevel: 'warning',
  legalComments: 'none',
  charset: 'utf8',
};
try {
  const js = await esbuild.build({
    ...common,
    entryPoints: [join(src, 'main.jsx')],
    format: 'esm',
    target: 'es2020',
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    nodePaths: [nodeModules],
    define: {'process.env.NODE_ENV': '"production"'},
  });
  writeFileSync(join(out, 'app.js'), js.outputFiles[0].contents);
  const css = await esbuild.build({...common, entryPoints: [join(src, 'app.css')], loader: {'.css': 'css'}});
  writeFileSync(join(out, 'app.css'), css.outputFiles[0].contents);
} catch (e) {
  console.error(`build.mjs: ${e.message}`);
  process.exit(1);
}
copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
copyFileSync(join(src, 'favicon.svg'), join(out, 'favicon.svg'));

let totalRaw = 0;
let totalGz = 0;
for (const name of ['index.html', 'app.js', 'app.css', 'favicon.svg']) {
  const bytes = readFileSync(join(out, name));
  const gz = gzipSync(bytes, {level: 9}).length;
  totalRaw += bytes.length;
  totalGz += gz;
  console.log(`${name.padEnd(12)} ${String(bytes.length).padStart(8)} B  ${String(gz).padStart(7)} B gzipped`);
}
console.log(`${'total'.padEnd(12)} ${String(totalRaw).padStart(8)} B  ${String(totalGz).padStart(7)} B gzipped` +
  ` (limit ${LIMIT_GZ} B)`);
if (totalGz > LIMIT_GZ) {
  console.error(`build.mjs: the assets are ${totalGz} B gzipped, over the ${LIMIT_GZ} B limit`);
  process.exit(1);
}
