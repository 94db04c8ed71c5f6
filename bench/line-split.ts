// Reference floor: read a file into one reused 1 MiB buffer and count newlines with Buffer#indexOf, nothing else.
import { open } from 'node:fs/promises';

let lines = 0;
const buffer = Buffer.allocUnsafe(1 << 20);
for (const path of process.argv.slice(2)) {
  const handle = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      let at = buffer.indexOf(10);
      while (at !== -1 && at < bytesRead) {
        lines++;
        at = buffer.indexOf(10, at + 1);
      }
    }
  } finally {
    await handle.close();
  }
}
process.stdout.write(`${lines}\n`);
