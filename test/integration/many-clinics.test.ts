import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResearchOrthanc, startTlsProxy, type Account, type ResearchOrthanc, type TlsProxy } from '../support/research-orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { generateMammograms, storescu, type ManifestFile } from '../support/dicom-tools';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { openDatabase } from '../../src/main/core/store';

interface StoredInstance {
  site: string;
  PatientID: string;
  InstitutionName: string;
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  SOPInstanceUID: string;
}

const SITES = ['KGH', 'STM'] as const;

describe('several clinics, one research archive: two gateways send the same patients', () => {
  let orthanc: ResearchOrthanc;
  let proxy: TlsProxy;
  const gateways = new Map<string, GatewayProcess>();
  let mammograms: { dir: string; files: ManifestFile[] };
  const stored: StoredInstance[] = [];
  /** Per site: original study UID -> research study UID, from that gateway's crosswalk. */
  const studyMap = new Map<string, Map<string, string>>();

  beforeAll(async () => {
    // Identical files at both clinics: the same Patient IDs, and even the same original UIDs (the worst case).
    [orthanc, mammograms] = await Promise.all([startResearchOrthanc(), generateMammograms(['--patients', '2', '--studies-per-patient', '2', '--views', '2'])]);
    // The clinics reach the archive as in the Debian recipe: HTTPS through nginx, whose certificate they trust.
    proxy = await startTlsProxy(orthanc);
    process.env.NODE_EXTRA_CA_CERTS = proxy.certificateFile;
    const accounts: Record<string, Account> = { KGH: orthanc.accounts.gateway, STM: orthanc.accounts.gateway2 };
    const ports = new Map<string, number>();
    for (const site of SITES) {
      const port = await freePort();
      ports.set(site, port);
      gateways.set(site, await startGateway({
        site: { code: site },
        intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
        destination: { url: proxy.url, username: accounts[site]!.username, password: accounts[site]!.password },
      }));
    }
    const files = mammograms.files.map((f) => path.join(mammograms.dir, f.file));
    await Promise.all(SITES.map((site) => storescu(ports.get(site)!, files)));

    const { researcher } = orthanc.accounts;
    const expected = files.length * SITES.length;
    await waitFor('every instance of both clinics at the research Orthanc', async () => {
      const ids = (await orthanc.request(researcher, 'GET', '/instances')).json<string[]>();
      return ids.length >= expected ? ids : undefined;
    }, 90_000, 250).catch((error: Error) => {
      throw new Error(`${error.message}\n${[...gateways.values()].map((g) => g.output()).join('\n---\n')}`);
    });
    // Wait until nothing is in flight, so a late duplicate would be seen.
    await waitFor('both gateways idle', () => [...gateways.values()].every((g) => (g.output().match(/instance \d+ uploaded/g) ?? []).length >= files.length) || undefined, 30_000, 250);

    for (const id of (await orthanc.request(researcher, 'GET', '/instances')).json<string[]>()) {
      const tags = (await orthanc.request(researcher, 'GET', `/instances/${id}/simplified-tags`)).json<Record<string, string>>();
      stored.push({
        site: tags.PatientID!.split('-')[0]!,
        PatientID: tags.PatientID!,
        InstitutionName: tags.InstitutionName!,
        StudyInstanceUID: tags.StudyInstanceUID!,
        SeriesInstanceUID: tags.SeriesInstanceUID!,
        SOPInstanceUID: tags.SOPInstanceUID!,
      });
    }
    for (const site of SITES) {
      const gateway = gateways.get(site)!;
      const db = openDatabase(path.join(gateway.dataDir, 'gateway.db'), gateway.databaseKey);
      const rows = db.prepare('SELECT original, replacement FROM uid_map').all() as Array<{ original: string; replacement: string }>;
      db.close();
      studyMap.set(site, new Map(rows.map((r) => [r.original, r.replacement])));
    }
  });

  afterAll(async () => {
    for (const gateway of gateways.values()) await gateway.stop();
    delete process.env.NODE_EXTRA_CA_CERTS;
    await proxy?.stop();
    await orthanc?.stop();
  });

  it('checks the research server at start-up through HTTPS and finds each gateway account may upload', () => {
    for (const gateway of gateways.values()) {
      expect(gateway.output()).toMatch(/research server check passed: Orthanc 1\.10\.1/);
      expect(gateway.output()).not.toMatch(/plain http/);
    }
  });

  it('stores every instance of both clinics: nothing merged, nothing dropped', () => {
    expect(stored).toHaveLength(mammograms.files.length * SITES.length);
    expect(stored.filter((s) => s.site === 'KGH')).toHaveLength(mammograms.files.length);
    expect(stored.filter((s) => s.site === 'STM')).toHaveLength(mammograms.files.length);
  });

  it('gives the same original Patient ID a different research ID at each clinic, each with its site code', () => {
    const patients = new Set(mammograms.files.map((f) => f.patientKey));
    for (const site of SITES) {
      const ids = new Set(stored.filter((s) => s.site === site).map((s) => s.PatientID));
      expect(ids.size).toBe(patients.size);
      for (const id of ids) expect(id).toMatch(new RegExp(`^${site}-[0-9A-Z]{8}$`));
    }
    expect(new Set(stored.map((s) => s.PatientID)).size).toBe(patients.size * SITES.length);
  });

  it('never gives two clinics the same study, series or instance UID, though the originals were identical', () => {
    for (const key of ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID'] as const) {
      const kgh = new Set(stored.filter((s) => s.site === 'KGH').map((s) => s[key]));
      const stm = new Set(stored.filter((s) => s.site === 'STM').map((s) => s[key]));
      expect([...kgh].filter((u) => stm.has(u)), key).toEqual([]);
      for (const uid of [...kgh, ...stm]) expect(uid).toMatch(/^2\.25\.\d{1,39}$/);
    }
    expect(new Set(stored.map((s) => s.SOPInstanceUID)).size).toBe(stored.length);
  });

  it('keeps each study complete at each clinic', async () => {
    const originalStudies = new Map<string, number>();
    for (const f of mammograms.files) originalStudies.set(f.studyInstanceUID, (originalStudies.get(f.studyInstanceUID) ?? 0) + 1);
    for (const site of SITES) {
      for (const [original, count] of originalStudies) {
        const researchUid = studyMap.get(site)!.get(original);
        expect(researchUid, `${site} ${original}`).toBeDefined();
        expect(stored.filter((s) => s.site === site && s.StudyInstanceUID === researchUid), `${site} study`).toHaveLength(count);
      }
    }
  });

  it('writes the site code as Institution Name, so a researcher can find one clinic\'s studies', async () => {
    for (const s of stored) expect(s.InstitutionName).toBe(s.site);
    const { researcher } = orthanc.accounts;
    const studiesPerSite = new Set(mammograms.files.map((f) => f.studyInstanceUID)).size;
    for (const site of SITES) {
      const found = await orthanc.request(researcher, 'POST', '/tools/find', JSON.stringify({ Level: 'Study', Query: { InstitutionName: site }, Expand: true }));
      const studies = found.json<Array<{ PatientMainDicomTags: { PatientID: string } }>>();
      expect(studies).toHaveLength(studiesPerSite);
      for (const study of studies) expect(study.PatientMainDicomTags.PatientID.startsWith(`${site}-`)).toBe(true);
      // The same filters through DICOMweb QIDO-RS, as the researchers' guide shows them.
      for (const query of [`InstitutionName=${site}`, `PatientID=${site}-*`]) {
        const qido = await orthanc.request(researcher, 'GET', `/dicom-web/studies?${query}`, undefined, { Accept: 'application/dicom+json' });
        expect(qido.json<unknown[]>(), query).toHaveLength(studiesPerSite);
      }
    }
  });
});
