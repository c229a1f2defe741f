import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as written in a manifest. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
}

// kubernetes-models ships ES modules only; TypeScript's CommonJS output would turn import() into require().
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<Record<string, unknown>>;

/** The kubernetes-models module of an apiVersion/kind (its JSON schema ships inside the npm package). */
function modelModule(apiVersion: string, kind: string): string {
  if (apiVersion === 'monitoring.coreos.com/v1') return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/**
 * Validates one object against the Kubernetes (or Prometheus Operator)
 * JSON schema of its kind; throws with the schema's complaint.
 */
export async function validateObject(o: K8sObject): Promise<void> {
  let mod: Record<string, unknown>;
  try {
    mod = await importEsm(modelModule(o.apiVersion, o.kind));
  } catch (e) {
    throw new Error(`no schema for ${o.apiVersion} ${o.kind} (${(e as Error).message.split('\n')[0]})`);
  }
  const Model = mod[o.kind] as new (d: unknown) => { validate(): void };
  new Model(o).validate();
}

/** Every document of a multi-document YAML file. */
export function parseManifests(text: string, file: string): K8sObject[] {
  return parseAllDocuments(text).map((d, i) => {
    if (d.errors.length) throw new Error(`${file} document ${i + 1}: ${d.errors[0].message}`);
    return d.toJS() as K8sObject;
  }).filter(Boolean);
}
