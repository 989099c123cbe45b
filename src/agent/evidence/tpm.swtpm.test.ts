import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, X509Certificate } from 'node:crypto';
import { isCloakError } from '../../lib/index.ts';
import { fitDigest } from '../../attest/index.ts';
import { readAkPublic, tpmVerifier, verifyTpmQuote } from '../../attest/tpm/index.ts';
import { connectTcpTpm, openTpmDevice } from './tpm-transport.ts';
import { HCL_USER_DATA_NV_INDEX, TpmClient } from './tpm-client.ts';
import { collectAzVtpmEvidence, collectTpmEvidence } from './tpm-evidence.ts';
import { freePortPair, provisionAzureAk, startSwtpm, type Swtpm } from './testing/swtpm.ts';
import { testdata } from '../../lib/testing/testdata.ts';

const EV = testdata('evidence');
const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const SKIP = ['swtpm', 'tpm2_createak', 'tpm2_nvdefine', 'tpm2_checkquote'].filter((b) => !has(b));
const skip = SKIP.length
  ? `skipped: ${SKIP.join(', ')} not installed (apt-get install -y swtpm swtpm-tools tpm2-tools)`
  : EV.skip;

/**
 * tpm2-tools' own PCR file (what `tpm2_quote -o` writes: its in-memory structs,
 * little-endian): TPML_PCR_SELECTION with 16 8-byte slots, a count of
 * TPML_DIGESTs, each 8 slots of {u16 size, 64-byte buffer}. Its raw-values
 * form with `-l` fails in tpm2_checkquote 5.4 for 24 PCRs, so the test writes this one.
 */
function tpm2ToolsPcrFile(pcrs: Buffer[]): Buffer {
  const sel = Buffer.alloc(4 + 16 * 8);
  sel.writeUInt32LE(1, 0);
  sel.writeUInt16LE(0x000b, 4);
  sel[6] = 3;
  sel[7] = 0xff;
  sel[8] = 0xff;
  sel[9] = 0xff;
  const lists: Buffer[] = [];
  for (let i = 0; i < pcrs.length; i += 8) {
    const l = Buffer.alloc(4 + 8 * 66);
    const chunk = pcrs.slice(i, i + 8);
    l.writeUInt32LE(chunk.length, 0);
    chunk.forEach((d, j) => {
      l.writeUInt16LE(d.length, 4 + j * 66);
      d.copy(l, 4 + j * 66 + 2);
    });
    lists.push(l);
  }
  const count = Buffer.alloc(4);
  count.writeUInt32LE(lists.length);
  return Buffer.concat([sel, count, ...lists]);
}

test('no TPM: clear CloakError for a missing device and for a closed TCP port', async () => {
  assert.throws(
    () => openTpmDevice('/nonexistent/tpmrm0'),
    (e) => isCloakError(e, 'AGENT_NO_TPM') && /no TPM at/.test((e as Error).message),
  );
  const port = await freePortPair();
  await assert.rejects(connectTcpTpm('127.0.0.1', port), (e) => isCloakError(e, 'AGENT_NO_TPM'));
});

test(
  "swtpm: Cloak's client collects tpm and az-snp-vtpm evidence; Cloak's verifier and tpm2_checkquote agree",
  { skip, timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloak-swtpm-'));
    let swtpm: Swtpm | undefined;
    try {
      swtpm = await startSwtpm(dir);
      const { port, env, tool } = swtpm;
      // Provision as on Azure: an RSA AK (RSASSA-SHA256) persisted at 0x81000003, and NV 0x01400001 holding a test blob.
      // The blob is made here (not an HCL report: swtpm caps NV indices at 2048 bytes and has no HCL behind it);
      // 2000 bytes means two NV_Read chunks.
      provisionAzureAk(swtpm);
      // A second AK, ECC P-256 / ECDSA-SHA256, for the ECDSA form of the quote.
      tool(
        'tpm2_createak',
        '-C',
        'ek.ctx',
        '-c',
        'akecc.ctx',
        '-G',
        'ecc',
        '-g',
        'sha256',
        '-s',
        'ecdsa',
        '-u',
        'akecc.pem',
        '-f',
        'pem',
        '-n',
        'akecc.name',
      );
      tool('tpm2_flushcontext', '-t');
      tool('tpm2_evictcontrol', '-C', 'o', '-c', 'akecc.ctx', '0x81000004');
      tool('tpm2_flushcontext', '-t');
      const blob = Buffer.concat(
        Array.from({ length: 63 }, (_, i) => createHash('sha256').update(`blob ${i}`).digest()),
      ).subarray(0, 2000);
      writeFileSync(join(dir, 'blob.bin'), blob);
      tool(
        'tpm2_nvdefine',
        '0x01400001',
        '-C',
        'o',
        '-s',
        String(blob.length),
        '-a',
        'ownerread|ownerwrite|authread|authwrite',
      );
      tool('tpm2_nvwrite', '0x01400001', '-C', 'o', '-i', 'blob.bin');
      tool('tpm2_pcrextend', `8:sha256=${createHash('sha256').update('init-data').digest('hex')}`);
      const akPem = readFileSync(join(dir, 'ak.pem'), 'utf8');

      const binding = createHash('sha384').update('kbs binding').digest();
      const client = new TpmClient(await connectTcpTpm('127.0.0.1', port));
      let tpmEvidence: { ak_public: string; tpm_quote: { message: string; signature: string; pcrs: string[] } };
      let az: Awaited<ReturnType<typeof collectAzVtpmEvidence>>;
      let userData: Buffer;
      let eccEvidence: typeof tpmEvidence;
      try {
        tpmEvidence = (await collectTpmEvidence(client, binding)) as typeof tpmEvidence;
        eccEvidence = (await collectTpmEvidence(client, binding, { akHandle: 0x81000004 })) as typeof tpmEvidence;
        await assert.rejects(
          collectAzVtpmEvidence(client, binding, {
            kind: 'snp',
            akHandle: 0x81000004,
            vcek: async () => Buffer.alloc(1),
          }),
          (e) => isCloakError(e, 'AGENT_TPM_AK_SCHEME'),
        );
        const vcek = new X509Certificate(EV.read('az-snp-vtpm/vcek.pem')).raw;
        az = await collectAzVtpmEvidence(client, binding, {
          kind: 'snp',
          vcek: async () => vcek,
          bindUserData: true,
          refreshDelayMs: 0,
        });
        userData = await client.nvReadAll(HCL_USER_DATA_NV_INDEX);
      } finally {
        client.close();
      }

      // Cloak's verifier accepts the tpm evidence with the AK enrolled, bound to the KBS binding.
      const v = await tpmVerifier.verify(tpmEvidence, { now: new Date(), trust: { tpm: { trustedAks: [akPem] } } });
      assert.deepEqual(v.reportData, tpmVerifier.expectedReportData(binding));
      assert.deepEqual(v.initData, tpmVerifier.expectedInitData!(createHash('sha256').update('init-data').digest()));
      assert.equal(
        readAkPublic(tpmEvidence.ak_public).export({ format: 'pem', type: 'spki' }),
        readAkPublic(akPem).export({ format: 'pem', type: 'spki' }),
      );

      // az-snp-vtpm v2 shape: HCL from NV read in chunks equals the blob, quote (bare RSA signature) verifies with the AK, nonce = binding.
      assert.equal(az.evidence.version, 2);
      assert.deepEqual(az.hcl, blob);
      assert.deepEqual(Buffer.from(az.evidence.hcl_report as string, 'base64url'), blob);
      const tq = az.evidence.tpm_quote as { message: string; signature: string; pcrs: string[] };
      const q = verifyTpmQuote(
        {
          message: Buffer.from(tq.message, 'hex'),
          signature: Buffer.from(tq.signature, 'hex'),
          pcrs: tq.pcrs.map((p) => Buffer.from(p, 'hex')),
        },
        readAkPublic(akPem),
      );
      assert.deepEqual(q.extraData, fitDigest(binding, 48));
      assert.deepEqual(userData.subarray(0, 48), fitDigest(binding, 48));
      assert.equal(typeof az.evidence.vcek, 'string');

      // tpm2-tools' own checker on the same quote: signature, nonce and PCR values.
      const m = Buffer.from(tpmEvidence.tpm_quote.message, 'base64');
      writeFileSync(join(dir, 'quote.msg'), m);
      writeFileSync(join(dir, 'quote.sig'), Buffer.from(tpmEvidence.tpm_quote.signature, 'base64'));
      writeFileSync(
        join(dir, 'quote.pcrs'),
        tpm2ToolsPcrFile(tpmEvidence.tpm_quote.pcrs.map((p) => Buffer.from(p, 'hex'))),
      );
      const nonceHex = v.reportData.toString('hex');
      const check = (msg: string) =>
        spawnSync(
          'tpm2_checkquote',
          ['-u', 'ak.pem', '-m', msg, '-s', 'quote.sig', '-f', 'quote.pcrs', '-g', 'sha256', '-q', nonceHex],
          { cwd: dir, env },
        );
      const ok = check('quote.msg');
      assert.equal(ok.status, 0, `tpm2_checkquote refused Cloak's quote: ${ok.stderr}`);
      // The ECDSA P-256 AK: Cloak and tpm2_checkquote both accept its quote.
      const eccPem = readFileSync(join(dir, 'akecc.pem'), 'utf8');
      const ve = await tpmVerifier.verify(eccEvidence, { now: new Date(), trust: { tpm: { trustedAks: [eccPem] } } });
      assert.equal((ve.claims.quote as { signature_alg: string }).signature_alg, 'ecdsa');
      writeFileSync(join(dir, 'ecc.msg'), Buffer.from(eccEvidence.tpm_quote.message, 'base64'));
      writeFileSync(join(dir, 'ecc.sig'), Buffer.from(eccEvidence.tpm_quote.signature, 'base64'));
      const eccCheck = spawnSync(
        'tpm2_checkquote',
        ['-u', 'akecc.pem', '-m', 'ecc.msg', '-s', 'ecc.sig', '-f', 'quote.pcrs', '-g', 'sha256', '-q', nonceHex],
        { cwd: dir, env },
      );
      assert.equal(eccCheck.status, 0, `tpm2_checkquote refused Cloak's ECDSA quote: ${eccCheck.stderr}`);
      // And both refuse the same mutated quote.
      const bad = Buffer.from(m);
      bad[bad.length - 40]! ^= 1;
      writeFileSync(join(dir, 'bad.msg'), bad);
      assert.notEqual(check('bad.msg').status, 0);
      await assert.rejects(
        tpmVerifier.verify(
          { ...tpmEvidence, tpm_quote: { ...tpmEvidence.tpm_quote, message: bad.toString('base64') } },
          { now: new Date(), trust: { tpm: { trustedAks: [akPem] } } },
        ),
        (e) => isCloakError(e, 'TPM_SIGNATURE_INVALID'),
      );
    } finally {
      swtpm?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
