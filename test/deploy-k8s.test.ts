import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseConfig } from '../packages/core/src/config/index.js';
import { healthRoutes } from '../packages/core/src/observability/http.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const k8s = join(root, 'deploy/k8s');
type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; [k: string]: any };

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : []));
}
/** Kubernetes API objects (kustomize's own files and JSON patches are not API objects). */
const manifests: { file: string; doc: Doc }[] = yamlFiles(k8s)
  .filter((f) => !f.endsWith('kustomization.yaml') && !f.endsWith('-patch.yaml'))
  .flatMap((file) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => ({ file: relative(root, file), doc: d.toJS() as Doc })));

/** Validates against the Kubernetes API JSON schema of the object's apiVersion/kind (kubernetes-models' ajv validators). */
async function validate(doc: Doc): Promise<void> {
  const mod = await import(`kubernetes-models/${doc.apiVersion}/${doc.kind}`);
  const Model = mod[doc.kind] ?? mod.default;
  new Model(doc).validate();
}

/** The subset of RFC 6902 the GPU overlay uses (add), applied as kustomize would. */
function applyJsonPatch(doc: Doc, ops: { op: string; path: string; value: unknown }[]): Doc {
  const out = structuredClone(doc);
  for (const { op, path, value } of ops) {
    expect(op).toBe('add');
    const keys = path.slice(1).split('/').map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    let at: any = out;
    for (const k of keys.slice(0, -1)) {
      expect(at[k], `patch path ${path} exists up to ${k}`).toBeDefined();
      at = at[k];
    }
    // RFC 6902: "-" appends to an array
    if (keys.at(-1) === '-') {
      expect(Array.isArray(at), `patch path ${path} ends in an array`).toBe(true);
      at.push(value);
    } else at[keys.at(-1)!] = value;
  }
  return out;
}

const production = (() => {
  const text = readFileSync(join(root, 'examples/reference-app/config/production.toml'), 'utf8');
  const keys = Object.fromEntries([...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => [m[1]!, 'placeholder-not-a-key-0123456789']));
  return parseConfig(text, keys, 'production.toml', join(root, 'examples/reference-app/config')).config;
})();
const statefulSet = manifests.find((m) => m.doc.kind === 'StatefulSet')!.doc;
const container = statefulSet.spec.template.spec.containers[0];
const portOf = (name: string) => container.ports.find((p: { name: string }) => p.name === name)?.containerPort;

describe('deploy/k8s manifests', () => {
  it('every manifest is valid against the Kubernetes API schema', async () => {
    expect(manifests.map((m) => m.doc.kind).sort()).toEqual(['Secret', 'Service', 'StatefulSet']);
    for (const { file, doc } of manifests) await expect(validate(doc), file).resolves.toBeUndefined();
  });

  it('the schema check catches a broken manifest (the check can fail)', async () => {
    const broken = structuredClone(statefulSet);
    broken.spec.template.spec.containers[0].livenessProbe.httpGet.port = { name: 'health' };
    await expect(validate(broken)).rejects.toThrow();
    const noSelector = structuredClone(statefulSet);
    delete noSelector.spec.selector;
    await expect(validate(noSelector)).rejects.toThrow();
  });

  it('the kustomizations name files that exist, and the GPU overlay patches the base into a valid StatefulSet', async () => {
    for (const file of yamlFiles(k8s).filter((f) => f.endsWith('kustomization.yaml'))) {
      const k = parseYaml(readFileSync(file, 'utf8'));
      for (const r of k.resources ?? []) expect(existsSync(join(dirname(file), r)), `${relative(root, file)}: ${r}`).toBe(true);
      for (const p of k.patches ?? []) expect(existsSync(join(dirname(file), p.path)), `${relative(root, file)}: ${p.path}`).toBe(true);
    }
    const gpuDir = join(k8s, 'overlays/gpu');
    const overlay = parseYaml(readFileSync(join(gpuDir, 'kustomization.yaml'), 'utf8'));
    expect(overlay.patches[0].target).toMatchObject({ kind: 'StatefulSet', name: statefulSet.metadata.name });
    const patched = applyJsonPatch(statefulSet, parseYaml(readFileSync(join(gpuDir, overlay.patches[0].path), 'utf8')));
    await validate(patched);
    expect(patched.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    // the Vulkan backend of the image needs the driver's Vulkan ICD mounted ("graphics"), CUDA "compute"
    const caps = patched.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'NVIDIA_DRIVER_CAPABILITIES')?.value ?? '';
    expect(caps.split(',').sort()).toEqual(['compute', 'graphics', 'utility']);
    // the base's own environment is kept
    expect(patched.spec.template.spec.containers[0].env.length).toBe(container.env.length + 1);
  });

  it('GPU resources appear only in the GPU overlay', () => {
    for (const { file, doc } of manifests) expect(JSON.stringify(doc), file).not.toMatch(/nvidia\.com\/gpu|amd\.com\/gpu/);
  });

  it('the journal is on a per-pod volume claim mounted at CWTS_DATA_DIR', () => {
    const claims = statefulSet.spec.volumeClaimTemplates.map((c: Doc) => c.metadata.name);
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    const dataMount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === env.CWTS_DATA_DIR);
    expect(dataMount, 'a volume is mounted at CWTS_DATA_DIR').toBeDefined();
    expect(claims).toContain(dataMount.name);
    expect(dataMount.readOnly).not.toBe(true);
    expect(env.CWTS_BIND_ADDRESS).toBe('0.0.0.0');
    expect(statefulSet.spec.replicas).toBe(1);
  });

  it('probes hit the health routes the app serves, on the ports production.toml configures; the scrape annotation names the metrics port', () => {
    const routes = Object.keys(healthRoutes(() => [], () => ({})));
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      expect(routes).toContain(probe.httpGet.path);
      expect(portOf(probe.httpGet.port)).toBe(production.monitoring.health_check_port);
    }
    expect(portOf('metrics')).toBe(production.monitoring.metrics_port);
    const annotations = statefulSet.spec.template.metadata.annotations;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(Number(annotations['prometheus.io/port'])).toBe(production.monitoring.metrics_port);
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    expect(container.args.at(-1)).toBe('/etc/cwts-ultra/config/production.toml');
  });

  it('only the pod carries prometheus.io/* annotations: an annotated Service as well gets the pod scraped twice (doubled rates, duplicate pages)', () => {
    const annotated = (a: Record<string, string> | undefined) => Object.keys(a ?? {}).filter((k) => k.startsWith('prometheus.io/'));
    expect(annotated(statefulSet.spec.template.metadata.annotations).sort()).toEqual(['prometheus.io/path', 'prometheus.io/port', 'prometheus.io/scrape']);
    // Nothing else in the manifests (the Service, the StatefulSet object itself) nor the GPU patch.
    for (const { file, doc } of manifests) expect(annotated(doc.metadata.annotations), `${file} ${doc.kind}`).toEqual([]);
    for (const { file, doc } of manifests.filter((m) => m.doc.kind !== 'StatefulSet')) expect(JSON.stringify(doc), `${file} ${doc.kind}`).not.toContain('prometheus.io/');
    for (const file of yamlFiles(k8s).filter((f) => f.endsWith('-patch.yaml'))) expect(readFileSync(file, 'utf8'), relative(root, file)).not.toContain('prometheus.io');
  });
});
