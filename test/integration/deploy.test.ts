/**
 * Deployment artefacts, checked offline (no Docker engine or Kubernetes cluster here): the Dockerfile
 * and .dockerignore, the manifests under deploy/kubernetes (parsed, then the properties that matter:
 * probes, ports, the headless Service, non-root, resources, the brokers' --nameservers), and
 * deploy/healthcheck.ts end to end against a real server.
 *
 * Full Kubernetes schema validation with the `kubernetes-models` package (a devDependency), and the
 * real kustomize (installed from its Go module by scripts/install-test-tools.sh) renders the directory.
 */
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { checkHealth, defaultHealthAddress, parseHealthCheckArgs, probeAddressOf } from '../../deploy/healthcheck';
import { makePki, type TestPki } from '../helpers/certs';
import { startServer, type Started } from '../helpers/server';
import { tool } from '../helpers/tools';

const root = path.resolve(__dirname, '..', '..');
const k8sDir = path.join(root, 'deploy', 'kubernetes');
const healthcheckPath = path.join(root, 'deploy', 'healthcheck.ts');

// ---- the little of the Kubernetes object model these checks read ----------------------------------

interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  spec?: Record<string, unknown>;
}
interface Probe {
  grpc?: { port: number; service?: string };
  tcpSocket?: { port: number | string };
  httpGet?: { port: number | string; path?: string };
  exec?: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  securityContext?: SecurityContext & { fsGroup?: number };
  terminationGracePeriodSeconds?: number;
  enableServiceLinks?: boolean;
  automountServiceAccountToken?: boolean;
  volumes?: { name: string }[];
}
interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    serviceName?: string;
    selector: { matchLabels?: Record<string, string> };
    template: { metadata?: Meta; spec: PodSpec };
    volumeClaimTemplates?: { metadata: Meta }[];
  };
}
interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
}
interface Service extends K8sObject {
  spec: { type?: string; clusterIP?: string; publishNotReadyAddresses?: boolean; selector?: Record<string, string>; ports?: ServicePort[] };
}
interface Pdb extends K8sObject {
  spec: { minAvailable?: number | string; maxUnavailable?: number | string; selector: { matchLabels?: Record<string, string> } };
}

/** The objects of deploy/kubernetes, each with the file it came from. */
interface Loaded {
  file: string;
  obj: K8sObject;
}

function loadManifests(): { objects: Loaded[]; kustomization: { resources?: string[]; namespace?: string; images?: { name: string; newName?: string; newTag?: string }[] } } {
  const objects: Loaded[] = [];
  let kustomization: ReturnType<typeof loadManifests>['kustomization'] | undefined;
  for (const file of readdirSync(k8sDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const docs = YAML.parseAllDocuments(readFileSync(path.join(k8sDir, file), 'utf8'));
    for (const [i, doc] of docs.entries()) {
      // Duplicate keys, bad indentation, tabs: a YAML error is a manifest that kubectl would reject.
      assert.deepEqual(doc.errors.map((e) => e.message), [], `${file} document ${i}: YAML errors`);
      assert.deepEqual(doc.warnings.map((e) => e.message), [], `${file} document ${i}: YAML warnings`);
      const obj = doc.toJS() as K8sObject | null;
      if (obj === null) continue; // an empty document (a trailing ---)
      if (file === 'kustomization.yaml') kustomization = obj as typeof kustomization;
      else objects.push({ file, obj });
    }
  }
  assert.ok(kustomization, 'deploy/kubernetes/kustomization.yaml');
  return { objects, kustomization };
}

const { objects, kustomization } = loadManifests();
const ofKind = <T extends K8sObject>(kind: string): T[] => objects.filter((l) => l.obj.kind === kind).map((l) => l.obj as T);
const workloads = [...ofKind<Workload>('Deployment'), ...ofKind<Workload>('StatefulSet')];
const services = ofKind<Service>('Service');

/** The workload with a container of this name. */
function workloadWith(container: string): { w: Workload; c: Container } {
  for (const w of workloads) {
    const c = w.spec.template.spec.containers.find((x) => x.name === container);
    if (c) return { w, c };
  }
  throw new Error(`no Deployment or StatefulSet has a container named ${container}`);
}

/** The value after `flag` in an argument list (`--flag value` or `--flag=value`). */
function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i]!.startsWith(`${flag}=`)) return args[i]!.slice(flag.length + 1);
  }
  return undefined;
}

/** The `--flags` used in an argument list. */
const flagsOf = (args: readonly string[]): string[] => args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!);

const isSubset = (sub: Record<string, string> | undefined, sup: Record<string, string> | undefined): boolean =>
  Object.keys(sub ?? {}).length > 0 && Object.entries(sub ?? {}).every(([k, v]) => sup?.[k] === v);

const podLabels = (w: Workload): Record<string, string> => w.spec.template.metadata?.labels ?? {};

/** The container port a Service targetPort names (by name or number) in a pod spec. */
function resolveTargetPort(pod: PodSpec, p: ServicePort): number | undefined {
  const target = p.targetPort ?? p.port;
  for (const c of pod.containers) {
    for (const cp of c.ports ?? []) if (typeof target === 'number' ? cp.containerPort === target : cp.name === target) return cp.containerPort;
  }
  return undefined;
}

/** A container port by name. */
function containerPort(c: Container, name: string): number {
  const p = c.ports?.find((x) => x.name === name);
  assert.ok(p, `container ${c.name} has a port named ${name}`);
  return p.containerPort;
}

/** Flags listed by a program's --help. */
function helpFlags(entry: string): Set<string> {
  // A compiled entry (dist/src/x.js) is asked through its source (src/x.ts), so no build is needed here.
  const source = entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, source), '--help'], { cwd: root, encoding: 'utf8' });
  return new Set([...out.matchAll(/(?:^|\s|,)(--[a-z0-9-]+)/g)].map((m) => m[1]!));
}

/** The broker agent's DNS re-resolution interval (its default, which the simulated broker uses). */
function brokerResolveIntervalMs(): number {
  const src = readFileSync(path.join(root, 'src', 'broker-agent', 'broker-agent.ts'), 'utf8');
  const m = /resolveIntervalMs:\s*([\d_]+)/.exec(src);
  assert.ok(m, 'the broker agent declares a default resolveIntervalMs');
  return Number(m[1]!.replace(/_/g, ''));
}

const nameserver = workloadWith('nameserver');
const broker = workloadWith('broker');
const headless = services.find((s) => s.spec.clusterIP === 'None' && isSubset(s.spec.selector, podLabels(nameserver.w)));

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  test('every document has apiVersion, kind and a valid metadata.name, with current API versions', () => {
    const current: Record<string, string> = {
      Namespace: 'v1',
      Service: 'v1',
      Secret: 'v1',
      ConfigMap: 'v1',
      Deployment: 'apps/v1',
      StatefulSet: 'apps/v1',
      PodDisruptionBudget: 'policy/v1',
    };
    assert.ok(objects.length >= 6, `found ${objects.length} objects`);
    const seen = new Set<string>();
    for (const { file, obj } of objects) {
      assert.equal(typeof obj.kind, 'string', `${file}: kind`);
      assert.equal(obj.apiVersion, current[obj.kind!], `${file}: apiVersion of ${obj.kind}`);
      const name = obj.metadata?.name ?? '';
      assert.match(name, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, `${file}: metadata.name ${JSON.stringify(name)}`);
      const key = `${obj.kind}/${name}`;
      assert.ok(!seen.has(key), `${key} is defined twice`);
      seen.add(key);
    }
  });

  test('kustomization.yaml lists exactly the manifest files, and names the image the containers use', () => {
    const files = readdirSync(k8sDir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort();
    assert.deepEqual([...(kustomization.resources ?? [])].sort(), files);
    const images = new Set(workloads.flatMap((w) => w.spec.template.spec.containers.map((c) => c.image!.split(':')[0])));
    assert.deepEqual([...images], ['mq-nameserver'], 'one image for the NameServer and the simulated broker');
    assert.ok(kustomization.images?.some((i) => i.name === 'mq-nameserver'), 'kustomization images[] overrides mq-nameserver');
  });

  test('workload selectors select their own pod template labels, and no two workloads share pods', () => {
    for (const w of workloads) assert.ok(isSubset(w.spec.selector.matchLabels, podLabels(w)), `${w.metadata?.name}: selector ⊆ template labels`);
    for (const a of workloads) {
      for (const b of workloads) if (a !== b) assert.ok(!isSubset(a.spec.selector.matchLabels, podLabels(b)), `${a.metadata?.name} would also select ${b.metadata?.name}'s pods`);
    }
  });

  test('NameServer: several replicas, listening on all interfaces on the declared ports, with flags the server knows', () => {
    const { w, c } = nameserver;
    assert.equal(w.kind, 'Deployment');
    assert.ok((w.spec.replicas ?? 1) >= 2, 'more than one replica');
    const args = c.args ?? [];
    assert.equal(c.command, undefined, 'the image entrypoint (the NameServer) runs; args are its flags');
    assert.equal(flagValue(args, '--listen'), `0.0.0.0:${containerPort(c, 'grpc')}`);
    assert.equal(flagValue(args, '--http-listen'), `0.0.0.0:${containerPort(c, 'http')}`);
    const known = helpFlags('src/server/main.ts');
    for (const f of flagsOf(args)) assert.ok(known.has(f), `${f} is not a NameServer flag (see --help)`);
  });

  test('NameServer: readiness is the gRPC health check on the gRPC port; liveness cannot fail during warm-up', () => {
    const { c } = nameserver;
    const grpcPort = containerPort(c, 'grpc');
    assert.equal(c.readinessProbe?.grpc?.port, grpcPort, 'readinessProbe.grpc.port is the gRPC container port');
    assert.ok(!c.readinessProbe?.grpc?.service, 'readiness asks about the whole server (service "")');
    assert.ok(c.livenessProbe, 'livenessProbe');
    const warmupMs = Number(flagValue(c.args ?? [], '--warmup-ms') ?? 10_000);
    if (c.livenessProbe.grpc) {
      // gRPC health is NOT_SERVING for the whole warm-up: as liveness it would restart the pod.
      const graceMs = ((c.livenessProbe.initialDelaySeconds ?? 0) + (c.livenessProbe.periodSeconds ?? 10) * (c.livenessProbe.failureThreshold ?? 3)) * 1000;
      assert.ok(graceMs > warmupMs, 'a gRPC liveness probe must not be able to fail before the warm-up ends');
    } else {
      const port = c.livenessProbe.tcpSocket?.port ?? c.livenessProbe.httpGet?.port;
      assert.ok(port === grpcPort || port === 'grpc' || port === 'http' || port === containerPort(c, 'http'), 'liveness probes one of the declared ports');
    }
  });

  test('NameServer: the warm-up outlasts the time brokers take to find a new replica through DNS', () => {
    const warmupMs = Number(flagValue(nameserver.c.args ?? [], '--warmup-ms') ?? 10_000);
    assert.ok(warmupMs > brokerResolveIntervalMs(), `--warmup-ms ${warmupMs} ≤ the brokers' re-resolution interval ${brokerResolveIntervalMs()} ms`);
  });

  test('NameServer: shutdown fits in the termination grace period', () => {
    const { w, c } = nameserver;
    const pre = c.lifecycle?.preStop;
    const preStopS = pre?.sleep?.seconds ?? (pre?.exec?.command[0] === 'sleep' ? Number(pre.exec.command[1]) : 0);
    assert.ok(preStopS > 0, 'a preStop pause lets kube-proxy drop the endpoint before the listener closes');
    const graceMs = Number(flagValue(c.args ?? [], '--shutdown-grace-ms') ?? 5000);
    const terminationS = w.spec.template.spec.terminationGracePeriodSeconds ?? 30;
    assert.ok(terminationS * 1000 > preStopS * 1000 + graceMs, `terminationGracePeriodSeconds ${terminationS} ≤ preStop ${preStopS} s + shutdown grace ${graceMs} ms`);
  });

  test('every container runs as non-root with a read-only root filesystem and has resources', () => {
    for (const w of workloads) {
      const pod = w.spec.template.spec;
      for (const c of pod.containers) {
        const where = `${w.metadata?.name}/${c.name}`;
        assert.equal(c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
        const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
        assert.ok(uid === undefined || uid > 0, `${where}: runAsUser ${uid}`);
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
        assert.ok(c.securityContext?.capabilities?.drop?.includes('ALL'), `${where}: capabilities drop ALL`);
        // tsx caches under /tmp; with a read-only root it must be a volume.
        assert.ok(c.volumeMounts?.some((m) => m.mountPath === '/tmp'), `${where}: a writable /tmp`);
        for (const m of c.volumeMounts ?? []) {
          const declared = pod.volumes?.some((v) => v.name === m.name) || w.spec.volumeClaimTemplates?.some((v) => v.metadata.name === m.name);
          assert.ok(declared, `${where}: volume ${m.name} is declared`);
        }
        for (const r of ['cpu', 'memory']) assert.ok(c.resources?.requests?.[r], `${where}: resources.requests.${r}`);
        assert.ok(c.resources?.limits?.memory, `${where}: resources.limits.memory`);
      }
      // Services named nameserver* would inject NAMESERVER_* variables: the server's own prefix.
      assert.equal(pod.enableServiceLinks, false, `${w.metadata?.name}: enableServiceLinks`);
    }
  });

  test('the headless Service publishes every NameServer replica, warming ones included', () => {
    assert.ok(headless, 'a Service with clusterIP: None selecting the NameServer pods');
    assert.equal(headless.metadata?.name, 'nameserver-headless');
    assert.equal(headless.spec.publishNotReadyAddresses, true, 'brokers must reach replicas that are still warming up');
    const grpc = headless.spec.ports?.find((p) => resolveTargetPort(nameserver.w.spec.template.spec, p) === containerPort(nameserver.c, 'grpc'));
    assert.ok(grpc, 'the headless Service exposes the gRPC port');
    assert.equal(grpc.port, 9876);
  });

  test('a ClusterIP Service serves clients from Ready replicas only', () => {
    const clusterIp = services.find((s) => s.spec.clusterIP !== 'None' && isSubset(s.spec.selector, podLabels(nameserver.w)));
    assert.ok(clusterIp, 'a ClusterIP Service selecting the NameServer pods');
    assert.ok((clusterIp.spec.type ?? 'ClusterIP') === 'ClusterIP');
    assert.ok(!clusterIp.spec.publishNotReadyAddresses, 'warming replicas stay out of the client Service');
  });

  test("every Service selects some workload's pods, and its targetPorts are ports of those containers", () => {
    for (const s of services) {
      const selected = workloads.filter((w) => isSubset(s.spec.selector, podLabels(w)));
      assert.ok(selected.length > 0, `Service ${s.metadata?.name} selects no pods`);
      assert.ok((s.spec.ports ?? []).length > 0, `Service ${s.metadata?.name} has ports`);
      for (const w of selected) {
        for (const p of s.spec.ports ?? []) {
          assert.ok(resolveTargetPort(w.spec.template.spec, p), `Service ${s.metadata?.name} port ${p.name ?? p.port}: targetPort ${p.targetPort} is not a container port of ${w.metadata?.name}`);
        }
      }
    }
    for (const s of services) {
      const http = s.spec.ports?.find((p) => p.name === 'http');
      if (http && isSubset(s.spec.selector, podLabels(nameserver.w))) assert.equal(http.port, 9877);
    }
  });

  test('the PodDisruptionBudget covers the NameServer pods and lets one go at a time', () => {
    const pdbs = ofKind<Pdb>('PodDisruptionBudget').filter((p) => isSubset(p.spec.selector.matchLabels, podLabels(nameserver.w)));
    assert.equal(pdbs.length, 1);
    const { minAvailable, maxUnavailable } = pdbs[0]!.spec;
    const replicas = nameserver.w.spec.replicas ?? 1;
    if (typeof maxUnavailable === 'number') assert.ok(maxUnavailable >= 1 && maxUnavailable < replicas);
    else if (typeof minAvailable === 'number') assert.ok(minAvailable >= 1 && minAvailable < replicas, 'minAvailable < replicas, or a drain never ends');
    else assert.fail('the PDB sets a numeric maxUnavailable or minAvailable');
  });

  test("brokers register through the headless Service's DNS name and gRPC port", () => {
    assert.ok(headless);
    const { c } = broker;
    const env = new Map((c.env ?? []).map((e) => [e.name, e]));
    const target = flagValue(c.args ?? [], '--nameservers');
    assert.ok(target, 'the broker container has --nameservers');
    const m = /^([^:,]+):(\d+)$/.exec(target);
    assert.ok(m, `--nameservers ${target}: one host:port (the name expands to every replica)`);
    const [host, port] = [m[1]!, Number(m[2])];
    const hm = /^([a-z0-9-]+)\.(\$\([A-Z_]+\)|[a-z0-9-]+)\.svc\.cluster\.local$/.exec(host);
    assert.ok(hm, `${host} is <service>.<namespace>.svc.cluster.local`);
    assert.equal(hm[1], headless.metadata?.name);
    const ns = hm[2]!;
    if (ns.startsWith('$(')) assert.equal(env.get(ns.slice(2, -1))?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace', `${ns} is the pod's namespace`);
    else assert.equal(ns, kustomization.namespace);
    const servicePort = headless.spec.ports?.find((p) => p.port === port);
    assert.ok(servicePort, `port ${port} is a port of ${headless.metadata?.name}`);
    assert.equal(resolveTargetPort(nameserver.w.spec.template.spec, servicePort), containerPort(nameserver.c, 'grpc'), 'and leads to the gRPC container port');
  });

  test("brokers run the simulated broker of `npm run broker`, with flags it knows and every $(VAR) defined", () => {
    const { w, c } = broker;
    const script = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.broker;
    assert.ok(script, 'package.json has a broker script');
    const entry = /\bnode (\S+\.js)\b/.exec(script)?.[1];
    assert.ok(entry && c.command?.includes(entry), `the broker container runs ${entry} (as npm run broker does): ${c.command?.join(' ')}`);
    assert.equal(c.command?.[0], 'node', 'node is PID 1, so SIGTERM reaches the broker (it unregisters)');
    const known = helpFlags(entry);
    for (const f of flagsOf(c.args ?? [])) assert.ok(known.has(f), `${f} is not a broker flag (see --help)`);
    for (const wl of workloads) {
      for (const ct of wl.spec.template.spec.containers) {
        const names = new Set((ct.env ?? []).map((e) => e.name));
        for (const s of [...(ct.command ?? []), ...(ct.args ?? [])]) {
          for (const ref of s.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) assert.ok(names.has(ref[1]!), `${wl.metadata?.name}/${ct.name}: $(${ref[1]}) is not defined in env (Kubernetes would pass it literally)`);
        }
      }
    }
    if (w.kind === 'StatefulSet') {
      const governing = services.find((s) => s.metadata?.name === w.spec.serviceName);
      assert.ok(governing?.spec.clusterIP === 'None', `serviceName ${w.spec.serviceName} is a headless Service`);
      assert.ok(isSubset(governing.spec.selector, podLabels(w)));
    }
    const dataDir = flagValue(c.args ?? [], '--data-dir');
    assert.ok(c.volumeMounts?.some((m) => m.mountPath === dataDir), `--data-dir ${dataDir} is a mounted volume (the root filesystem is read-only)`);
  });

  test('kustomize (the real one, from its Go module) renders the directory into the namespace with the image override', () => {
    let rendered: string;
    try {
      rendered = execFileSync(tool('kustomize'), ['build', k8sDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      throw new Error(`kustomize build failed: ${e.stderr ?? e.message}`);
    }
    const out = YAML.parseAllDocuments(rendered).map((d) => d.toJS() as K8sObject);
    assert.equal(out.length, objects.length);
    for (const o of out) {
      if (o.kind === 'Namespace') assert.equal(o.metadata?.name, kustomization.namespace);
      else assert.equal(o.metadata?.namespace, kustomization.namespace, `${o.kind}/${o.metadata?.name} namespace`);
      assert.equal(o.metadata?.labels?.['app.kubernetes.io/part-of'], 'mq');
    }
    const override = kustomization.images!.find((i) => i.name === 'mq-nameserver')!;
    const image = `${override.newName ?? override.name}:${override.newTag}`;
    for (const w of out.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet') as Workload[]) {
      for (const c of w.spec.template.spec.containers) assert.equal(c.image, image);
      // kustomize's labels must not have reached the (immutable) selectors.
      assert.ok(!w.spec.selector.matchLabels?.['app.kubernetes.io/part-of'], `${w.metadata?.name}: selector untouched`);
    }
  });

  test('schema validation with kubernetes-models (a devDependency)', () => {
    const load: (id: string) => unknown = require;
    for (const { file, obj } of objects) {
      // kubernetes-models/<group>/<version>/<Kind>; the core group is just "v1".
      const mod = load(`kubernetes-models/${obj.apiVersion}/${obj.kind}`) as Record<string, new (o: unknown) => { validate(): void }>;
      const Model = mod[obj.kind!];
      assert.ok(Model, `${file}: kubernetes-models has ${obj.apiVersion} ${obj.kind}`);
      assert.doesNotThrow(() => new Model(obj).validate(), `${file}: ${obj.kind} ${obj.metadata?.name} matches the Kubernetes schema`);
    }
  });
});

// ---- deploy/healthcheck.ts ----------------------------------------------------------------------

/** Run the health check script as Docker does; resolves with its exit code and output. */
function runHealthcheck(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NAMESERVER_')));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', healthcheckPath, ...args], { cwd: root, env: { ...clean, ...env }, timeout: 15_000 }, (err, stdout) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout });
    });
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('deploy/healthcheck.ts', () => {
  test('the address: argument, then NAMESERVER_HEALTHCHECK_ADDRESS, then NAMESERVER_LISTEN on loopback, then 127.0.0.1:9876', () => {
    assert.equal(probeAddressOf('0.0.0.0:9876'), '127.0.0.1:9876');
    assert.equal(probeAddressOf('[::]:7000'), '[::1]:7000');
    assert.equal(probeAddressOf('10.1.2.3:9876'), '10.1.2.3:9876');
    assert.equal(defaultHealthAddress({}), '127.0.0.1:9876');
    assert.equal(defaultHealthAddress({ NAMESERVER_LISTEN: '0.0.0.0:7001' }), '127.0.0.1:7001');
    assert.equal(defaultHealthAddress({ NAMESERVER_LISTEN: '0.0.0.0:7001', NAMESERVER_HEALTHCHECK_ADDRESS: 'h:1' }), 'h:1');
    const argv = (...a: string[]) => ['node', 'healthcheck.ts', ...a];
    assert.equal(parseHealthCheckArgs(argv('127.0.0.1:5'), { NAMESERVER_HEALTHCHECK_ADDRESS: 'h:1' }).address, '127.0.0.1:5');
    const d = parseHealthCheckArgs(argv(), {});
    assert.deepEqual([d.address, d.service, d.timeoutMs, d.tlsCaFile], ['127.0.0.1:9876', '', 2000, undefined]);
    assert.equal(parseHealthCheckArgs(argv(), { NAMESERVER_HEALTHCHECK_TIMEOUT_MS: '500' }).timeoutMs, 500);
    assert.throws(() => parseHealthCheckArgs(argv('--timeout-ms', '0'), {}), /--timeout-ms/);
    assert.throws(() => parseHealthCheckArgs(argv('--tls-ca', 'ca', '--tls-cert', 'c'), {}), /go together/);
  });

  describe('against a real server', () => {
    let s: Started;
    before(async () => {
      s = await startServer({ warmupMs: 60_000 });
    });
    after(async () => {
      await s.stop();
    });

    test('exit 1 while warming up, 0 once SERVING, found through NAMESERVER_LISTEN too', async () => {
      const warming = await runHealthcheck([s.address]);
      assert.equal(warming.code, 1);
      assert.match(warming.stdout, /NOT_SERVING/);
      s.server.warmup.finish();
      const ready = await runHealthcheck([s.address]);
      assert.equal(ready.code, 0, ready.stdout);
      assert.match(ready.stdout, /\bSERVING/);
      // As in the image: no argument, the server's own listen variable.
      assert.equal((await runHealthcheck([], { NAMESERVER_LISTEN: `0.0.0.0:${s.port}` })).code, 0);
    });

    test('exit 1 for an unknown service name and for bad usage', async () => {
      assert.equal((await runHealthcheck([s.address, '--service', 'no.such.Service'])).code, 1);
      assert.equal((await runHealthcheck([s.address, '--bogus'])).code, 1);
    });
  });

  test('exit 1 against a closed port', async () => {
    const r = await runHealthcheck([`127.0.0.1:${await closedPort()}`]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /UNAVAILABLE/);
  });

  test('exit 1 once the server is stopping (NOT_SERVING, then no listener)', async () => {
    const s = await startServer();
    const stopping = s.stop();
    assert.equal((await checkHealth({ address: s.address, service: '', timeoutMs: 2000 })).serving, false);
    await stopping;
  });

  describe('over TLS', () => {
    let pki: TestPki;
    before(() => {
      pki = makePki();
    });

    test('TLS: SERVING with the CA, not without it', async () => {
      const s = await startServer({ tlsCertFile: pki.serverCert, tlsKeyFile: pki.serverKey });
      try {
        assert.equal((await checkHealth({ address: s.address, service: '', timeoutMs: 2000, tlsCaFile: pki.caCert })).serving, true);
        assert.equal((await checkHealth({ address: s.address, service: '', timeoutMs: 2000 })).serving, false);
        const viaEnv = await runHealthcheck([s.address], { NAMESERVER_HEALTHCHECK_TLS_CA: pki.caCert });
        assert.equal(viaEnv.code, 0, viaEnv.stdout);
      } finally {
        await s.stop();
      }
    });

    test('mutual TLS: SERVING with a client certificate, not without one', async () => {
      const s = await startServer({ tlsCertFile: pki.serverCert, tlsKeyFile: pki.serverKey, tlsClientCaFile: pki.caCert });
      try {
        const base = { address: s.address, service: '', timeoutMs: 2000, tlsCaFile: pki.caCert };
        assert.equal((await checkHealth({ ...base, tlsCertFile: pki.clientCert, tlsKeyFile: pki.clientKey })).serving, true);
        assert.equal((await checkHealth(base)).serving, false);
      } finally {
        await s.stop();
      }
    });
  });
});
