/** Prometheus counters for the server, rendered as text exposition format. */
export class Metrics {
  private counters = new Map<string, { help: string; values: Map<string, number> }>();
  private readonly started = Date.now();

  inc(name: string, help: string, labels: Record<string, string> = {}): void {
    let c = this.counters.get(name);
    if (!c) this.counters.set(name, (c = { help, values: new Map() }));
    const key = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
      .join(',');
    c.values.set(key, (c.values.get(key) ?? 0) + 1);
  }

  render(): string {
    const lines = [
      '# HELP cloak_uptime_seconds Seconds since the server started.',
      '# TYPE cloak_uptime_seconds gauge',
      `cloak_uptime_seconds ${((Date.now() - this.started) / 1000).toFixed(0)}`,
    ];
    for (const [name, c] of this.counters) {
      lines.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [labels, v] of c.values) lines.push(`${name}${labels ? `{${labels}}` : ''} ${v}`);
    }
    return lines.join('\n') + '\n';
  }
}
