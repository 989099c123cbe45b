import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CloakError } from '../../lib/index.ts';
import { fitDigest } from '../../attest/binding.ts';
import type { Attester } from '../kbs-client.ts';

export const TSM_REPORT_ROOT = '/sys/kernel/config/tsm/report';
const MAX_BLOB = 1 << 20;

/** The file operations configfs-tsm needs; tests pass a fake kernel. */
export interface TsmFs {
  existsSync(p: string): boolean;
  mkdirSync(p: string): unknown;
  rmdirSync(p: string): void;
  readFileSync(p: string): Buffer;
  writeFileSync(p: string, data: Buffer | string): void;
}

export interface TsmReport {
  provider: string; // "sev_guest", "tdx_guest", …
  outblob: Buffer; // the SNP report or the TDX quote
  auxblob?: Buffer; // SNP: the certificate table (VCEK…) when the host supplies it
  generation: number;
}

/**
 * Asks the kernel's configfs-tsm for a report over `reportData` (64 bytes):
 * make an entry, write inblob, read outblob/auxblob/provider, and retry when
 * `generation` shows another writer raced us. The entry is removed after.
 */
export function readTsmReport(
  reportData: Buffer,
  opts: { root?: string; privlevel?: number; attempts?: number; fs?: TsmFs } = {},
): TsmReport {
  const root = opts.root ?? TSM_REPORT_ROOT;
  const { existsSync, mkdirSync, rmdirSync, writeFileSync } = opts.fs ?? (nodeFs as unknown as TsmFs);
  const readFileSync = (p: string) => (opts.fs ?? (nodeFs as unknown as TsmFs)).readFileSync(p);
  if (!existsSync(root))
    throw new CloakError(
      'AGENT_NO_TSM',
      `no configfs-tsm at ${root}: not a TEE guest, or the kernel lacks CONFIG_TSM_REPORTS`,
    );
  if (reportData.length !== 64) throw new CloakError('AGENT_TSM_INBLOB', 'configfs-tsm report-data must be 64 bytes');
  const entry = join(root, `cloak-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(entry);
  try {
    for (let attempt = 0; attempt < (opts.attempts ?? 3); attempt++) {
      if (opts.privlevel !== undefined && existsSync(join(entry, 'privlevel')))
        writeFileSync(join(entry, 'privlevel'), String(opts.privlevel));
      const before = readGeneration(readFileSync, entry);
      writeFileSync(join(entry, 'inblob'), reportData);
      const outblob = readBlob(readFileSync, join(entry, 'outblob'));
      const auxPath = join(entry, 'auxblob');
      const auxblob = existsSync(auxPath) ? readFileSync(auxPath) : undefined;
      if (auxblob && auxblob.length > MAX_BLOB)
        throw new CloakError('AGENT_TSM_INVALID', `configfs-tsm auxblob is ${auxblob.length} bytes`);
      const provider = readFileSync(join(entry, 'provider')).toString('utf8').trim();
      const after = readGeneration(readFileSync, entry);
      // One write bumps generation by one; more means someone else wrote inblob in between.
      if (after === before + 1)
        return { provider, outblob, auxblob: auxblob?.length ? auxblob : undefined, generation: after };
    }
    throw new CloakError('AGENT_TSM_RACE', 'configfs-tsm entry kept changing under us (another writer); try again');
  } finally {
    try {
      rmdirSync(entry);
    } catch {
      /* the kernel removes its files with the directory; a fake tree may not */
    }
  }
}

function readGeneration(readFileSync: (p: string) => Buffer, entry: string): number {
  const text = readFileSync(join(entry, 'generation')).toString('utf8').trim();
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new CloakError('AGENT_TSM_INVALID', `configfs-tsm generation "${text.slice(0, 20)}" is not a counter`);
  return n;
}

function readBlob(readFileSync: (p: string) => Buffer, path: string): Buffer {
  const b = readFileSync(path);
  if (b.length === 0 || b.length > MAX_BLOB)
    throw new CloakError('AGENT_TSM_INVALID', `configfs-tsm ${path} is ${b.length} bytes`);
  return b;
}

/** The CoCo evidence for a configfs-tsm report, by provider. */
export type TsmEvidenceBuilder = (report: TsmReport) => { tee: string; evidence: unknown };

export function tdxEvidence(report: TsmReport): { tee: string; evidence: unknown } {
  return { tee: 'tdx', evidence: { quote: report.outblob.toString('base64'), cc_eventlog: null } };
}

/** An attester over configfs-tsm; `build` turns the provider's blob into CoCo evidence. */
export function tsmAttester(opts: { tee: string; root?: string; fs?: TsmFs; build: TsmEvidenceBuilder }): Attester {
  return {
    tee: opts.tee,
    async evidence(binding: Buffer) {
      const report = readTsmReport(fitDigest(binding, 64), { root: opts.root, fs: opts.fs });
      const { tee, evidence } = opts.build(report);
      if (tee !== opts.tee)
        throw new CloakError(
          'AGENT_TSM_PROVIDER',
          `configfs-tsm provider "${report.provider}" gives ${tee} evidence, not ${opts.tee}`,
        );
      return evidence;
    },
  };
}
