// Builds the native kernels (native/, binding.gyp) with node-gyp at install time, from source only: Node's
// headers must be on this machine (nothing is downloaded). When anything is missing or the build fails,
// the install still succeeds: one line says so, the WebAssembly kernels take over, and build/native-build.log
// holds node-gyp's output. Usage: node scripts/build-native.mjs [repo directory]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)));
const logFile = join(repoRoot, 'build', 'native-build.log');

function fallBack(reason) {
  process.stderr.write(`conveyor: native kernels not built (${reason}); the WebAssembly kernels will be used\n`);
  process.exit(0);
}

/** npm hands its bundled node-gyp to install scripts; run directly, use the one beside this node. */
function nodeGypScript() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((candidate) => candidate && existsSync(candidate));
}

/** Node's own headers (include/node/node_api.h) from npm's nodedir or beside this node; never fetched. */
function nodeHeaders() {
  const candidates = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..')];
  return candidates.find((candidate) => candidate && existsSync(join(candidate, 'include', 'node', 'node_api.h')));
}

if (process.arch !== 'x64' || process.platform !== 'linux') fallBack(`they are written for x86-64 Linux, this is ${process.arch} ${process.platform}`);
const nodeGyp = nodeGypScript();
if (!nodeGyp) fallBack('node-gyp was not found; it comes with npm');
const nodedir = nodeHeaders();
if (!nodedir) fallBack(`Node's headers (include/node/node_api.h) are not beside ${process.execPath}`);

mkdirSync(dirname(logFile), { recursive: true });
// configure + build, not rebuild: a clean would delete the WebAssembly kernels in build/ too
const result = spawnSync(process.execPath, [nodeGyp, 'configure', 'build', `--nodedir=${nodedir}`, '--jobs=max'], {
  cwd: repoRoot,
  encoding: 'utf8',
  env: { ...process.env, npm_config_nodedir: nodedir },
});
writeFileSync(logFile, `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`);
if (result.status !== 0) {
  // an addon left from an earlier build would load though this one failed
  rmSync(join(repoRoot, 'build', 'Release', 'conveyor_native.node'), { force: true });
  const firstError = `${result.stdout}\n${result.stderr}`.split('\n').find((line) => /error/i.test(line) && !/^gyp (ERR|info)/.test(line));
  fallBack(`${firstError ? firstError.trim() : `node-gyp exited with ${result.status ?? result.signal}`}; see ${logFile}`);
}
