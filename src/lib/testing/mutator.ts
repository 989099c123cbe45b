/** Seeded randomness and a byte mutator for fuzz tests in any layer (tests only; in lib so every folder may import it). */

/** A seeded integer source (mulberry32): `rand(n)` is in 0..n-1. */
export function seededRandom(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

/**
 * Mutations of a valid input: truncations, random inputs of up to
 * `maxRandomLength` bytes, bit flips, byte stamps, insertions, 16-bit stamps
 * (0, 0xffff, 0x8000, random) where length fields live.
 */
export function mutator(seed: number, maxRandomLength = 300) {
  const rand = seededRandom(seed);
  const mutate = (input: Buffer): Buffer => {
    const op = rand(7);
    if (op === 0) return Buffer.from(input.subarray(0, rand(input.length + 1)));
    if (op === 1) return Buffer.from(Array.from({ length: rand(maxRandomLength) }, () => rand(256)));
    const b = Buffer.from(input);
    if (op <= 3) {
      for (let k = 0; k <= rand(8); k++)
        if (b.length) {
          const at = rand(b.length);
          b[at] = b[at]! ^ (1 << rand(8));
        }
      return b;
    }
    if (op === 4) {
      const at = rand(b.length + 1);
      return Buffer.concat([
        b.subarray(0, at),
        Buffer.from(Array.from({ length: 1 + rand(8) }, () => rand(256))),
        b.subarray(at),
      ]);
    }
    if (op === 5 && b.length) {
      b[rand(b.length)] = rand(256);
      return b;
    }
    if (b.length > 2) b.writeUInt16BE([0, 0xffff, 0x8000, rand(0x10000)][rand(4)]!, rand(b.length - 1));
    return b;
  };
  return { rand, mutate };
}

/** How many mutated inputs each fuzz test tries; CLOAK_FUZZ_ITERATIONS raises it. */
export const FUZZ_ITERATIONS = Number(process.env.CLOAK_FUZZ_ITERATIONS ?? 2000);
