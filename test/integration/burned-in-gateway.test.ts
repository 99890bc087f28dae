import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/main/core/gateway';
import { createLogger } from '../../src/main/core/log';
import { GatewaySettings } from '../../src/shared/settings';
import type { InstanceEvent } from '../../src/shared/domain';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { freePort } from '../support/ports';
import { run, waitFor } from '../support/processes';
import { storescu, DEBIAN_PYTHON } from '../support/dicom-tools';
import { COMPRESSIONS, compact, generateBurnedIn, independentOcr, type BurnedInFile } from '../support/burned-in';

/** pydicom: the pixel data's bytes and the transfer syntax of a file, to compare what arrived with what was sent. */
const PIXELS_OF = `
import sys, hashlib, json, pydicom
out = {}
for f in sys.argv[1:]:
    ds = pydicom.dcmread(f)
    out[f] = {"sop": str(ds.SOPInstanceUID), "pixels": hashlib.sha256(ds.PixelData).hexdigest(), "syntax": str(ds.file_meta.TransferSyntaxUID),
              "burnedIn": str(ds.get("BurnedInAnnotation", "")), "instanceNumber": str(ds.get("InstanceNumber", "")),
              "codes": [str(c.CodeValue) for c in ds.get("DeidentificationMethodCodeSequence", [])]}
print(json.dumps(out))
`;
interface PixelFacts {
  sop: string;
  pixels: string;
  syntax: string;
  burnedIn: string;
  instanceNumber: string;
  codes: string[];
}
const pixelFacts = async (files: string[]): Promise<Record<string, PixelFacts>> => JSON.parse((await run(DEBIAN_PYTHON, ['-c', PIXELS_OF, ...files])).stdout) as Record<string, PixelFacts>;

describe('burned-in text, through the running gateway to a real Orthanc', () => {
  let orthanc: OrthancServer;
  let gateway: Gateway;
  let corpus: { dir: string; files: BurnedInFile[] };
  const events: InstanceEvent[] = [];
  const logLines: string[] = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'burned-in-gw-'));
  const delivered: Record<string, PixelFacts & { file: string }> = {};
  let sent: Record<string, PixelFacts> = {};
  let compressedPhi: string;

  beforeAll(async () => {
    let port: number;
    [orthanc, corpus, port] = await Promise.all([startOrthanc(), generateBurnedIn(), freePort()]);
    compressedPhi = path.join(corpus.dir, 'jpeg2000-phi.dcm');
    await COMPRESSIONS.jpeg2000(corpus.files.find((f) => f.case === 'phi')!.path, compressedPhi);
    // A new instance (its own SOP Instance UID), not a resend of the uncompressed one.
    await run('dcmodify', ['-nb', '-gin', compressedPhi]);
    const settings = GatewaySettings.parse({
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
      // Images that say YES are screened and redacted like the others, then sent.
      screening: { burnedInAnnotationYes: 'release' },
    });
    gateway = createGateway({ settings, dataDir: path.join(scratch, 'data'), databaseKey: crypto.randomBytes(32).toString('hex'), logger: createLogger({ sink: (line) => logLines.push(line), level: 'info' }) });
    gateway.on('instance', (e) => events.push(e));
    await gateway.start();
    await storescu(port, corpus.files.map((f) => f.path));
    await waitFor('every uncompressed image delivered', async () => ((await orthanc.api<string[]>('/instances')).length >= corpus.files.length ? true : undefined), 90_000, 250);
    sent = await pixelFacts(corpus.files.map((f) => f.path));
    for (const id of await orthanc.api<string[]>('/instances')) {
      const file = path.join(scratch, `${id}.dcm`);
      fs.writeFileSync(file, await orthanc.download(`/instances/${id}/file`));
      const facts = (await pixelFacts([file]))[file]!;
      delivered[id] = { ...facts, file };
    }
  });

  afterAll(async () => {
    await gateway?.stop();
    await orthanc?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
    if (corpus) fs.rmSync(corpus.dir, { recursive: true, force: true });
  });

  // Delivered instances carry new UIDs; Instance Number (kept by the profile) tells which input each one is.
  const deliveredFor = (f: BurnedInFile): PixelFacts & { file: string } => Object.values(delivered).find((d) => d.instanceNumber === sent[f.path]!.instanceNumber)!;

  it('delivers images whose names, IDs and birth dates were burned in with that text blacked out: Debian\'s tesseract reads none of it at Orthanc', async () => {
    for (const f of corpus.files.filter((x) => x.texts.some((t) => t.kind === 'phi'))) {
      const words = f.texts.filter((t) => t.kind === 'phi').flatMap((t) => t.text.split(/[\s,]+/)).map(compact).filter((w) => w.length >= 4 && !['DOB', 'MRN'].includes(w));
      const read = compact(await independentOcr(deliveredFor(f).file));
      expect(words.filter((w) => read.includes(w)), f.file).toEqual([]);
    }
    // One check per delivered file: nothing of any patient's burned-in text is readable anywhere at the research side.
    const everything = compact((await Promise.all(Object.values(delivered).map((d) => independentOcr(d.file)))).join(' '));
    for (const f of corpus.files) expect(everything.includes(compact(f.needles[0].split('^')[0]!)), f.needles[0]).toBe(false);
  });

  it('marks redacted images (Burned In Annotation NO, Clean Pixel Data Option) and keeps clean and marker-only images byte-identical in their own syntax', () => {
    for (const f of corpus.files) {
      const out = deliveredFor(f);
      expect(out, f.file).toBeDefined();
      if (f.case === 'clean' || f.case === 'marker') {
        expect(out.pixels, f.file).toBe(sent[f.path]!.pixels);
        expect(out.syntax, f.file).toBe(sent[f.path]!.syntax);
        expect(out.codes, f.file).not.toContain('113101');
      } else {
        expect(out.pixels, f.file).not.toBe(sent[f.path]!.pixels);
        expect(out.burnedIn, f.file).toBe('NO');
        expect(out.codes, f.file).toContain('113101');
      }
    }
  });

  it('holds a compressed image with identifying text it cannot black out, says why without the text, and sends nothing of it', async () => {
    const before = (await orthanc.api<string[]>('/instances')).length;
    const port = gateway.dicomPort();
    await storescu(port, [compressedPhi], { extra: ['-xv'] });
    const held = await waitFor('the compressed image held', () => events.find((e) => e.state === 'held' && /cannot be blacked out/.test(e.error ?? '')));
    expect(held.error).toMatch(/^Burned-in identifying text found, but it cannot be blacked out here/);
    for (const f of corpus.files) expect(held.error!.toUpperCase()).not.toContain(f.needles[0].split('^')[0]!);
    expect((await orthanc.api<string[]>('/instances')).length).toBe(before);
    // The log says how many lines were found, never what they say.
    const log = logLines.join('\n').toUpperCase();
    for (const f of corpus.files) for (const t of f.texts.filter((x) => x.kind === 'phi')) expect(log).not.toContain(t.text.toUpperCase());
  });
});
