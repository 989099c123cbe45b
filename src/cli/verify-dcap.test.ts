import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { testdata } from '../lib/testing/testdata.ts';

const { dir: E, skip } = testdata('evidence');

const MAIN = fileURLToPath(new URL('./testdata/verify-dcap-main.ts', import.meta.url));

function run(cmd: 'tdx' | 'sgx', args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'verify', cmd, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** The args for a capture's quote with its collateral, verified as of `at`, then `extra`. */
function withCollateral(tee: 'tdx' | 'sgx', at: string, ...extra: string[]): string[] {
  const base = `${E}${tee}/dcap-qvl_${tee}_quote`;
  return [`${base}.dat`, '--collateral', `${base}_collateral.json`, '--at', at, ...extra];
}

describe('cloak verify tdx|sgx', () => {
  const table = [
    {
      name: 'tdx genuine, --json',
      cmd: 'tdx' as const,
      args: withCollateral('tdx', '2025-07-01T00:00:00Z', '--json'),
      code: 0,
      out: /"tcb_status": "UpToDate"/,
    },
    {
      name: 'tdx collateral expired at --at',
      cmd: 'tdx' as const,
      args: withCollateral('tdx', '2025-08-01T00:00:00Z'),
      code: 1,
      err: /DCAP_COLLATERAL_EXPIRED: .*fetch fresh collateral/,
    },
    {
      name: 'tdx wrong --report-data',
      cmd: 'tdx' as const,
      args: withCollateral('tdx', '2025-07-01T00:00:00Z', '--report-data', '00'),
      code: 1,
      err: /TDX_REPORT_DATA_MISMATCH/,
    },
    {
      name: 'tdx without collateral',
      cmd: 'tdx' as const,
      args: [`${E}tdx/dcap-qvl_tdx_quote.dat`, '--at', '2025-07-01T00:00:00Z'],
      code: 1,
      err: /DCAP_COLLATERAL_UNAVAILABLE: .*--collateral/,
    },
    {
      name: 'sgx refused by default TCB policy',
      cmd: 'sgx' as const,
      args: withCollateral('sgx', '2025-07-01T00:00:00Z'),
      code: 1,
      err: /POLICY_TCB_STATUS_REFUSED: .*ConfigurationAndSWHardeningNeeded \(INTEL-SA-00289, INTEL-SA-00615\)/,
    },
    {
      name: 'sgx accepted with --accept-tcb',
      cmd: 'sgx' as const,
      args: withCollateral('sgx', '2025-07-01T00:00:00Z', '--accept-tcb', 'UpToDate,ConfigurationAndSWHardeningNeeded'),
      code: 0,
      err: /ok: genuine Intel SGX quote, TCB status ConfigurationAndSWHardeningNeeded/,
    },
    {
      name: '--help shows an example',
      cmd: 'tdx' as const,
      args: ['--help'],
      code: 0,
      out: /Example:\n {2}cloak verify tdx/,
    },
    {
      name: 'bad --at',
      cmd: 'sgx' as const,
      args: [`${E}sgx/dcap-qvl_sgx_quote.dat`, '--at', 'yesterday'],
      code: 2,
      err: /USAGE_AT/,
    },
  ];
  for (const t of table) {
    it(`${t.name} → exit ${t.code}`, { skip: t.args.some((a) => a.startsWith(E)) && skip }, () => {
      const r = run(t.cmd, t.args);
      assert.equal(r.code, t.code, r.err);
      if (t.out) assert.match(r.out, t.out);
      if (t.err) assert.match(r.err, t.err);
    });
  }
});
