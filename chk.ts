import fs from 'node:fs';
import path from 'node:path';
import { loadCodecs } from './src/main/core/screen/raster';
import { createOcrReader } from './src/main/core/screen/ocr';
import { screenInstance, DEFAULT_SCREENING } from './src/main/core/screen/screen';
import { identifyingValuesOf } from './src/main/core/screen/identifying';
import { parseInstanceFile } from './src/main/core/dicom';
await loadCodecs();
const reader = await createOcrReader();
const dir = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
for (const f of fs.readdirSync(dir).filter(f => f.endsWith('.dcm'))) {
  const file = path.join(dir, f);
  let values; try { const p = parseInstanceFile(file); if (!p.dataset.has(0x7fe00010)) { p.close(); continue; } values = identifyingValuesOf(p.dataset); p.close(); } catch { continue; }
  try {
    const r = await screenInstance(fs.readFileSync(file), values, DEFAULT_SCREENING, reader);
    if (r.found.length) console.log(f, r.verdict, JSON.stringify(r.found.map(x => [x.kind, x.text])));
  } catch (e) { console.log(f, 'ERR', (e as Error).message.slice(0, 80)); }
}
await reader.close();
