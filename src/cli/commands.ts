import type { Command } from 'commander';
import { serveCommand } from './serve.ts';
import { simCommand } from './sim.ts';
import { resourceCommand, policyCommand } from './resource.ts';
import { auditCommand } from './audit.ts';
import { agentCommand } from './agent.ts';
import { manifestCommand } from './manifest.ts';
import { generateCommand } from './generate.ts';
import { runCommand } from './run.ts';
import { convertCommand } from './convert.ts';
import { imageCommand } from './image.ts';
import { verifyCommand } from './verify.ts';
import { secretCommand } from './secret.ts';

/** Every top-level command, one file each; each exports a factory returning a commander Command. */
export const commands: Array<() => Command> = [
  serveCommand,
  simCommand,
  resourceCommand,
  secretCommand,
  policyCommand,
  auditCommand,
  manifestCommand,
  generateCommand,
  convertCommand,
  imageCommand,
  runCommand,
  verifyCommand,
  agentCommand,
];
