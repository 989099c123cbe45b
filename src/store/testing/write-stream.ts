/**
 * Child process for the durability tests: opens the store at argv[2] with the
 * sealing key in CLOAK_TEST_KEY (hex), then writes resources, each with its audit
 * record, forever, printing `ack N` only after each write is acknowledged.
 * With argv[3] === 'open' it only opens (migration race) and prints `opened`.
 */
import { openStore } from '../index.ts';

const store = await openStore(process.argv[2]!, { sealingKey: Buffer.from(process.env.CLOAK_TEST_KEY ?? '', 'hex') });
if (process.argv[3] === 'open') {
  await store.close();
  process.stdout.write('opened\n');
} else {
  for (let i = 0; ; i++) {
    await store.putResource(`default/stream/k${i}`, Buffer.from(`value-${i}`), {
      kind: 'admin.resource.set',
      outcome: 'ok',
      subject: `default/stream/k${i}`,
    });
    process.stdout.write(`ack ${i}\n`);
  }
}
