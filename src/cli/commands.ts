import type { Command } from 'commander';

/** Every top-level command, one file each; each exports a factory returning a commander Command. */
export const commands: Array<() => Command> = [];
