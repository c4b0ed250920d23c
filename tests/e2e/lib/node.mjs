// Starts `opal node --dev` for the end-to-end suites: a temporary datadir (or a given one, for
// restarts), a free port, and the prefunded dev keys read from what the node prints.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');

/** The opal binary: `OPAL_BIN`, else `target/debug/opal` of this checkout. */
export const opalBin = process.env.OPAL_BIN
  ? resolve(process.env.OPAL_BIN)
  : resolve(here, '../../../target/debug/opal');

export const CHAIN_ID = 72077;
export const GAS_PRICE_ORACLE = '0x420000000000000000000000000000000000000F';

/** The ERC-20 compiled by the repository's pinned solc-js. */
export function testErc20() {
  const artifact = JSON.parse(
    readFileSync(join(repoRoot, 'contracts/artifacts/TestERC20.json'), 'utf8'),
  );
  const bytecode = artifact.bytecode.startsWith('0x') ? artifact.bytecode : `0x${artifact.bytecode}`;
  return { abi: artifact.abi, bytecode };
}

/** A fresh temporary directory for a datadir. */
export function tempDatadir() {
  return mkdtempSync(join(tmpdir(), 'opal-e2e-'));
}

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Spawns the node and resolves once it prints `Listening on ADDR`.
 * Returns { url, wsUrl, keys, addresses, datadir, stop() }.
 */
export async function startNode({ datadir, blockTime = '500ms', timeoutMs = 60_000 } = {}) {
  const dir = datadir ?? tempDatadir();
  const child = spawn(
    opalBin,
    ['node', '--dev', '--http.port', '0', '--block-time', blockTime, '--datadir', dir],
    { env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  exited.then(() => running.delete(child));

  const keys = [];
  const addresses = [];
  const lines = createInterface({ input: child.stdout });
  const addr = await new Promise((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`opal did not print "Listening on" within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    let section = '';
    lines.on('line', (line) => {
      if (line.startsWith('Available Accounts')) section = 'accounts';
      else if (line.startsWith('Private Keys')) section = 'keys';
      const m = /^\((\d+)\) (0x[0-9a-fA-F]+)/.exec(line);
      if (m && section === 'accounts') addresses[Number(m[1])] = m[2];
      if (m && section === 'keys') keys[Number(m[1])] = m[2];
      const listening = /^Listening on (\S+)/.exec(line);
      if (listening) {
        clearTimeout(timer);
        res(listening[1]);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`opal exited (code ${code}, signal ${signal}) before listening; stderr:\n${stderr}`));
    });
  });

  let stopped = false;
  return {
    url: `http://${addr}`,
    wsUrl: `ws://${addr}`,
    keys,
    addresses,
    datadir: dir,
    child,
    /** SIGTERM and wait; resolves with the exit code (0 on a clean shutdown). */
    async stop() {
      if (!stopped) {
        stopped = true;
        child.kill('SIGTERM');
      }
      const { code, signal } = await exited;
      if (code === null) throw new Error(`opal was killed by ${signal}; stderr:\n${stderr}`);
      return code;
    },
    /** Stops the node and removes its datadir. */
    async destroy() {
      await this.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
    stderr: () => stderr,
  };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(fn, { timeoutMs = 20_000, intervalMs = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
