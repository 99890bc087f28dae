// Seals an endless original full of one patient's name into a file, printing "writing" once the first chunks are on
// disk, until it is killed: what a gateway killed mid-receive leaves in its spool.
import { createSealedWriteStream, deriveSealingKey } from '../../src/main/core/store';

const [file, databaseKey, name] = process.argv.slice(2) as [string, string, string];
const writer = createSealedWriteStream(file, deriveSealingKey(databaseKey));
const piece = Buffer.from(`${name}\u0000`.repeat(Math.ceil(16_384 / (name.length + 1))), 'latin1');
let told = false;
const more = (): void => {
  while (writer.write(piece));
  if (!told && writer.fileBytes > 1 << 20) {
    told = true;
    process.stdout.write('writing\n');
  }
  writer.once('drain', more);
};
more();
