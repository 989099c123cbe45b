/** A seeded byte mutator for the SNP fuzz test (tests only): truncations, random bytes, flips, insertions, 16-bit stamps. */
export function snpMutator(seed: number) {
  let s = seed >>> 0;
  const rand = (n: number): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const mutate = (input: Buffer): Buffer => {
    const op = rand(7);
    if (op === 0) return Buffer.from(input.subarray(0, rand(input.length + 1)));
    if (op === 1) return Buffer.from(Array.from({ length: rand(1400) }, () => rand(256)));
    const b = Buffer.from(input);
    if (op <= 3) { for (let k = 0; k <= rand(8); k++) if (b.length) { const at = rand(b.length); b[at] = b[at]! ^ (1 << rand(8)); } return b; }
    if (op === 4) { const at = rand(b.length + 1); return Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + rand(8) }, () => rand(256))), b.subarray(at)]); }
    if (op === 5 && b.length) { b[rand(b.length)] = rand(256); return b; }
    if (b.length > 2) b.writeUInt16BE([0, 0xffff, 0x8000, rand(0x10000)][rand(4)]!, rand(b.length - 1));
    return b;
  };
  return { rand, mutate };
}

export const SNP_FUZZ_ITERATIONS = Number(process.env.CLOAK_FUZZ_ITERATIONS ?? 2000);
