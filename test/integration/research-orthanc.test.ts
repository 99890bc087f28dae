import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResearchOrthanc, type ResearchOrthanc } from '../support/research-orthanc';
import { PYDICOM_TEST_FILES, DEBIAN_PYTHON } from '../support/dicom-tools';
import { run } from '../support/processes';

/** An address of this machine other than loopback: a request to it arrives as a remote client. */
const OTHER_ADDRESS = Object.values(os.networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4')?.address;

const CT = fs.readFileSync(path.join(PYDICOM_TEST_FILES, 'CT_small.dcm'));
const MR = fs.readFileSync(path.join(PYDICOM_TEST_FILES, 'MR_small.dcm'));

/** A STOW-RS body: one DICOM part in multipart/related. */
function stowBody(file: Buffer): { body: Buffer; contentType: string } {
  const boundary = 'research-orthanc-test-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

/** Lists a ZIP's entries with Python's zipfile, a reader independent of Orthanc. */
async function zipEntries(zip: Buffer): Promise<string[]> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zip-')), 'study.zip');
  fs.writeFileSync(file, zip);
  const { stdout } = await run(DEBIAN_PYTHON, ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print("\\n".join(z.namelist()))', file]);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return stdout.trim().split('\n');
}

describe('research Orthanc with the shipped configuration: gateways upload only, researchers read only', () => {
  let orthanc: ResearchOrthanc;
  let ct: { ID: string; ParentStudy: string };

  beforeAll(async () => {
    orthanc = await startResearchOrthanc();
    const { gateway } = orthanc.accounts;
    const answer = await orthanc.request(gateway, 'POST', '/instances', CT, { 'Content-Type': 'application/dicom' });
    expect(answer.status, answer.body.toString()).toBe(200);
    ct = answer.json();
  });

  afterAll(async () => {
    await orthanc?.stop();
  });

  // The Debian recipe puts nginx (TLS) in front on the same machine: Orthanc itself must refuse anyone else.
  it.skipIf(!OTHER_ADDRESS)(`answers only clients on this machine${OTHER_ADDRESS ? '' : ' (skipped: this machine has no non-loopback address to try)'}`, async () => {
    const { admin } = orthanc.accounts;
    expect((await orthanc.request(admin, 'GET', '/system')).status).toBe(200);
    const remote = await orthanc.request(admin, 'GET', '/system', undefined, {}, OTHER_ADDRESS);
    expect([401, 403]).toContain(remote.status); // Orthanc 1.10 answers 401 to a remote client when remote access is off
  });

  it('refuses requests without a password or with a wrong one', async () => {
    expect((await orthanc.request(undefined, 'GET', '/studies')).status).toBe(401);
    expect((await orthanc.request({ username: 'researcher-ana', password: 'wrong' }, 'GET', '/studies')).status).toBe(401);
    expect((await orthanc.request(undefined, 'POST', '/instances', MR, { 'Content-Type': 'application/dicom' })).status).toBe(401);
  });

  it('lets a gateway account upload through REST and through DICOMweb STOW-RS', async () => {
    const { gateway2, admin } = orthanc.accounts;
    const stow = stowBody(MR);
    const answer = await orthanc.request(gateway2, 'POST', '/dicom-web/studies', stow.body, { 'Content-Type': stow.contentType, Accept: 'application/dicom+json' });
    expect(answer.status, answer.body.toString()).toBe(200);
    const instances = (await orthanc.request(admin, 'GET', '/instances')).json<string[]>();
    expect(instances).toHaveLength(2);
    expect(instances).toContain(ct.ID);
  });

  it('refuses a gateway account every read: lists, studies, files, archives, searches, DICOMweb, the web UI', async () => {
    const { gateway } = orthanc.accounts;
    for (const route of ['/patients', '/studies', `/studies/${ct.ParentStudy}`, `/instances/${ct.ID}`, `/instances/${ct.ID}/file`, `/instances/${ct.ID}/tags`, `/studies/${ct.ParentStudy}/archive`, '/dicom-web/studies', '/app/explorer.html']) {
      expect((await orthanc.request(gateway, 'GET', route)).status, route).toBe(403);
    }
    const find = await orthanc.request(gateway, 'POST', '/tools/find', JSON.stringify({ Level: 'Study', Query: {} }));
    expect(find.status).toBe(403);
  });

  it('lets a gateway account confirm its own delivery by UID without reading the images', async () => {
    const { gateway } = orthanc.accounts;
    const sopInstanceUid = (await orthanc.request(orthanc.accounts.admin, 'GET', `/instances/${ct.ID}/simplified-tags`)).json<{ SOPInstanceUID: string }>().SOPInstanceUID;
    const lookup = await orthanc.request(gateway, 'POST', '/tools/lookup', sopInstanceUid);
    expect(lookup.status).toBe(200);
    expect(lookup.json<Array<{ ID: string }>>()[0]?.ID).toBe(ct.ID);
    const syntax = await orthanc.request(gateway, 'GET', `/instances/${ct.ID}/metadata/TransferSyntax`);
    expect(syntax.status).toBe(200);
    expect(syntax.body.toString()).toBe('1.2.840.10008.1.2.1');
    expect((await orthanc.request(gateway, 'GET', `/instances/${ct.ID}/attachments/dicom/md5`)).status).toBe(200);
    // DICOMweb's check: QIDO-RS for the instance within a study the gateway names by UID (listing studies stays refused).
    const studyUid = (await orthanc.request(orthanc.accounts.admin, 'GET', `/instances/${ct.ID}/simplified-tags`)).json<{ StudyInstanceUID: string }>().StudyInstanceUID;
    const qido = await orthanc.request(gateway, 'GET', `/dicom-web/studies/${studyUid}/instances?SOPInstanceUID=${sopInstanceUid}`, undefined, { Accept: 'application/dicom+json' });
    expect(qido.status).toBe(200);
    expect(qido.json<Array<Record<string, { Value: string[] }>>>()[0]?.['00080018']?.Value[0]).toBe(sopInstanceUid);
  });

  it('refuses a gateway account deleting, modifying, anonymizing or running scripts', async () => {
    const { gateway } = orthanc.accounts;
    expect((await orthanc.request(gateway, 'DELETE', `/instances/${ct.ID}`)).status).toBe(403);
    expect((await orthanc.request(gateway, 'DELETE', `/studies/${ct.ParentStudy}`)).status).toBe(403);
    expect((await orthanc.request(gateway, 'PUT', `/instances/${ct.ID}/metadata/1024`, 'x')).status).toBe(403);
    expect((await orthanc.request(gateway, 'POST', `/studies/${ct.ParentStudy}/anonymize`, '{}')).status).toBe(403);
    expect((await orthanc.request(gateway, 'POST', `/studies/${ct.ParentStudy}/modify`, '{"Replace":{"StudyDescription":"x"}}')).status).toBe(403);
    expect((await orthanc.request(gateway, 'POST', '/tools/execute-script', 'print(1)')).status).toBe(403);
  });

  it('lets a researcher find studies (web UI search, REST, DICOMweb QIDO-RS) and open the web UI', async () => {
    const { researcher } = orthanc.accounts;
    expect((await orthanc.request(researcher, 'GET', '/app/explorer.html')).status).toBe(200);
    expect((await orthanc.request(researcher, 'GET', '/studies')).json<string[]>()).toHaveLength(2);
    const find = await orthanc.request(researcher, 'POST', '/tools/find', JSON.stringify({ Level: 'Study', Query: { ModalitiesInStudy: 'CT' } }));
    expect(find.status).toBe(200);
    expect(find.json<string[]>()).toEqual([ct.ParentStudy]);
    const qido = await orthanc.request(researcher, 'GET', '/dicom-web/studies?ModalitiesInStudy=MR', undefined, { Accept: 'application/dicom+json' });
    expect(qido.status).toBe(200);
    expect(qido.json<unknown[]>()).toHaveLength(1);
  });

  it('lets a researcher download a study as a ZIP, as a DICOMDIR, and through WADO-RS', async () => {
    const { researcher } = orthanc.accounts;
    const zip = await orthanc.request(researcher, 'GET', `/studies/${ct.ParentStudy}/archive`);
    expect(zip.status).toBe(200);
    const entries = await zipEntries(zip.body);
    expect(entries.filter((e) => /\.dcm$/i.test(e))).toHaveLength(1);
    const media = await orthanc.request(researcher, 'GET', `/studies/${ct.ParentStudy}/media`);
    expect(media.status).toBe(200);
    expect(await zipEntries(media.body)).toContain('DICOMDIR');
    // Several studies at once, as a bulk download script does it.
    const studies = (await orthanc.request(researcher, 'GET', '/studies')).json<string[]>();
    const bulk = await orthanc.request(researcher, 'POST', '/tools/create-archive', JSON.stringify({ Resources: studies, Synchronous: true }));
    expect(bulk.status).toBe(200);
    expect((await zipEntries(bulk.body)).filter((e) => /\.dcm$/i.test(e))).toHaveLength(2);
    const studyUid = (await orthanc.request(researcher, 'GET', `/studies/${ct.ParentStudy}`)).json<{ MainDicomTags: { StudyInstanceUID: string } }>().MainDicomTags.StudyInstanceUID;
    const wado = await orthanc.request(researcher, 'GET', `/dicom-web/studies/${studyUid}`, undefined, { Accept: 'multipart/related; type="application/dicom"' });
    expect(wado.status).toBe(200);
    expect(wado.body.includes(Buffer.from('DICM'))).toBe(true);
  });

  it('refuses a researcher uploading, deleting, modifying or anonymizing', async () => {
    const { researcher } = orthanc.accounts;
    expect((await orthanc.request(researcher, 'POST', '/instances', MR, { 'Content-Type': 'application/dicom' })).status).toBe(403);
    const stow = stowBody(MR);
    expect((await orthanc.request(researcher, 'POST', '/dicom-web/studies', stow.body, { 'Content-Type': stow.contentType })).status).toBe(403);
    expect((await orthanc.request(researcher, 'DELETE', `/studies/${ct.ParentStudy}`)).status).toBe(403);
    expect((await orthanc.request(researcher, 'DELETE', `/instances/${ct.ID}`)).status).toBe(403);
    expect((await orthanc.request(researcher, 'PUT', `/patients/${(await orthanc.request(researcher, 'GET', '/patients')).json<string[]>()[0]}/protected`, '1')).status).toBe(403);
    expect((await orthanc.request(researcher, 'POST', `/studies/${ct.ParentStudy}/anonymize`, '{}')).status).toBe(403);
    expect((await orthanc.request(researcher, 'POST', `/studies/${ct.ParentStudy}/modify`, '{"Replace":{"StudyDescription":"x"}}')).status).toBe(403);
    expect((await orthanc.request(researcher, 'POST', '/tools/reset', '')).status).toBe(403);
    // Orthanc honours a method override header; the rules must see the overriding method, not the POST.
    expect((await orthanc.request(researcher, 'POST', `/studies/${ct.ParentStudy}/archive`, '', { 'X-HTTP-Method-Override': 'DELETE' })).status).toBe(403);
    expect((await orthanc.request(orthanc.accounts.gateway, 'POST', '/instances', '', { 'X-HTTP-Method-Override': 'DELETE' })).status).toBe(403);
    expect((await orthanc.request(orthanc.accounts.admin, 'GET', '/instances')).json<string[]>()).toHaveLength(2);
  });

  it('refuses an account whose name gives no role, and lets the admin account delete', async () => {
    const { admin } = orthanc.accounts;
    expect((await orthanc.request(orthanc.accounts.guest, 'GET', '/studies')).status).toBe(403);
    expect((await orthanc.request(orthanc.accounts.guest, 'POST', '/instances', MR, { 'Content-Type': 'application/dicom' })).status).toBe(403);
    expect((await orthanc.request(admin, 'DELETE', `/instances/${ct.ID}`)).status).toBe(200);
    expect((await orthanc.request(admin, 'GET', '/instances')).json<string[]>()).toHaveLength(1);
  });
});
