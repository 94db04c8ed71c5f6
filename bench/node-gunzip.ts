// Reference floor: gunzip files with node:zlib and discard the bytes; prints the uncompressed byte count.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

let bytes = 0;
for (const path of process.argv.slice(2)) {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }).pipe(createGunzip({ chunkSize: 1 << 16 }))) {
    bytes += (chunk as Buffer).length;
  }
}
process.stdout.write(`${bytes}\n`);
