import fs from 'node:fs';
import { parseInstanceFile, specificCharacterSetOf } from './src/main/core/dicom';
import { identifyingValuesOf, findResidualPhi, ownValues } from './src/main/core/verify';
import { GatewaySettings } from './src/shared/settings';
import { generate } from './bench/lib';
const s = GatewaySettings.parse({});
for (const args of [['--rows','512','--cols','512','--patients','1','--studies-per-patient','1','--views','2'], ['--size-mb','27','--patients','1','--studies-per-patient','1','--views','1']]) {
  const d = await generate(args);
  const f = d.files[0]!;
  const p = parseInstanceFile(f);
  console.log('charset', specificCharacterSetOf(p.dataset), fs.statSync(f).size, 'pixel bulk?', !!p.dataset.get(0x7fe00010)?.bulk);
  let t = performance.now();
  for (let i = 0; i < 20; i++) identifyingValuesOf(p.dataset);
  console.log('collect ms', ((performance.now() - t) / 20).toFixed(2));
  const ids = identifyingValuesOf(p.dataset);
  console.log(ids.filter(v=>v.kind!=='uid').map(v => v.kind+':'+v.value).join(' | '));
  const own = ownValues(p.dataset, s.deid, { researchId: 'X-1', siteCode: 'X' });
  t = performance.now();
  for (let i = 0; i < 20; i++) findResidualPhi(p, ids, own);
  console.log('find ms (on the original itself)', ((performance.now() - t) / 20).toFixed(2), findResidualPhi(p, ids, own).length);
  p.close();
}
