/** Progress on a terminal (one line redrawn), plain lines otherwise; silent with --json. */
export function progress(label: string, total: number, enabled = true) {
  const tty = process.stderr.isTTY === true;
  let done = 0;
  let bytes = 0;
  const count = () => (total ? `${done}/${total}` : `${done}`);
  const draw = () => {
    if (!enabled) return;
    const width = 24;
    const bar = total ? ` [${'#'.repeat(Math.round((done / total) * width)).padEnd(width, '.')}]` : '';
    process.stderr.write(`\r${label}${bar} ${count()} blobs, ${(bytes / 1048576).toFixed(1)} MiB`);
  };
  return {
    step(size: number, what: string) {
      done++;
      bytes += size;
      if (tty) draw();
      else if (enabled) process.stderr.write(`${label}: ${what} (${count()})\n`);
    },
    end() {
      if (tty && enabled) process.stderr.write('\n');
    },
  };
}
