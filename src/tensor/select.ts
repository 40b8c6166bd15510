/**
 * Which kernel backend this thread runs, chosen once: on the first kernel call, or earlier by
 * configureKernels. Native (AVX-512F, else AVX2+FMA, from the addon built at install) where it loaded,
 * else WebAssembly. Nothing is loaded before the choice, and only the chosen backend is loaded.
 *
 * On Node the default loaders read build/gemm.wasm and require build/Release/conveyor_native.node through
 * process.getBuiltinModule, so this module imports no `node:` module and bundles for a browser unchanged;
 * there, call configureKernels({ backend: 'wasm', wasm: bytes }) before any kernel runs. Nothing here reads
 * the environment: the CLI turns CONVEYOR_KERNELS into a request (kernelRequestFromEnvironment).
 */
import { UsageError } from '../errors.js';
import type { KernelBackend } from './backend.js';
import { createNativeBackend, type NativeAddon } from './native-backend.js';
import { createWasmBackend, type WasmSource } from './wasm-backend.js';

export type BackendChoice = 'native' | 'wasm';

/** What a caller asks for; anything left out is decided here (native when it loads, one thread). */
export interface KernelRequest {
  readonly backend?: BackendChoice;
  /** Threads the native kernels split each call over (--threads); the WebAssembly kernels run on one. */
  readonly threads?: number;
  /** A native kernel table by name instead of the CPU's best: "avx2", "avx512", "avx512-on-avx2". */
  readonly isa?: string;
  /** The WebAssembly kernel module, where there is no file system to read build/gemm.wasm from. */
  readonly wasm?: WasmSource;
}

/** A resolved choice, the same for every rank of a run (sent to each in its set-up). */
export interface KernelSettings {
  readonly backend: BackendChoice;
  readonly threads: number;
  /** The native table, when backend is native. */
  readonly isa?: string;
}

const NATIVE_ISAS = ['avx2', 'avx512', 'avx512-on-avx2'] as const;
// the native thread team's limit (native/addon.cpp)
const MAXIMUM_THREADS = 256;

/**
 * CONVEYOR_KERNELS (native | wasm) and CONVEYOR_NATIVE_ISA (a table name) from an environment; unset means
 * "choose"; anything else is a usage error naming the variable and what it takes.
 */
export function kernelRequestFromEnvironment(environment: Readonly<Record<string, string | undefined>>): KernelRequest {
  const backend = environment['CONVEYOR_KERNELS'];
  const isa = environment['CONVEYOR_NATIVE_ISA'];
  if (backend !== undefined && backend !== '' && backend !== 'native' && backend !== 'wasm') {
    throw new UsageError(`CONVEYOR_KERNELS must be native or wasm, got '${backend}'`);
  }
  if (isa !== undefined && isa !== '' && !(NATIVE_ISAS as readonly string[]).includes(isa)) {
    throw new UsageError(`CONVEYOR_NATIVE_ISA must be one of ${NATIVE_ISAS.join(', ')}, got '${isa}'`);
  }
  if (isa && backend === 'wasm') throw new UsageError(`CONVEYOR_NATIVE_ISA=${isa} names a native table but CONVEYOR_KERNELS is wasm`);
  return {
    ...(backend ? { backend: backend as BackendChoice } : {}),
    ...(isa ? { isa, backend: 'native' as const } : {}),
  };
}

interface NodeBuiltins {
  readonly getBuiltinModule?: (name: string) => unknown;
}
const nodeProcess = (globalThis as { process?: NodeBuiltins }).process;

const buildDirectory = new URL('../../../build/', import.meta.url);

/** The addon, or why it is not there. Loaded at most once per thread. */
let nativeLoad: { addon: NativeAddon; isa: string } | { reason: string } | undefined;

/**
 * The addon itself and the best table this CPU runs, or why it cannot load: for bench/ (the FMA peak, GEMM
 * tuning); kernels go through the facade.
 */
export function loadNative(): { addon: NativeAddon; isa: string } | { reason: string } {
  if (nativeLoad) return nativeLoad;
  const moduleApi = nodeProcess?.getBuiltinModule?.('node:module') as { createRequire(from: string): (id: string) => unknown } | undefined;
  if (!moduleApi) return (nativeLoad = { reason: 'native kernels need Node.js 20.16 or later' });
  const file = new URL('Release/conveyor_native.node', buildDirectory);
  let addon: NativeAddon;
  try {
    addon = moduleApi.createRequire(import.meta.url)(file.pathname) as NativeAddon;
  } catch (error) {
    const missing = (error as { code?: string }).code === 'MODULE_NOT_FOUND';
    return (nativeLoad = { reason: missing ? `${file.pathname} was not built (run \`npm rebuild\` with a C++17 compiler)` : (error as Error).message });
  }
  const isa = addon.isa();
  return (nativeLoad = isa === null ? { reason: 'this CPU has neither AVX-512F nor AVX2 with FMA' } : { addon, isa });
}

function defaultWasmBytes(): Uint8Array {
  const fs = nodeProcess?.getBuiltinModule?.('node:fs') as { readFileSync(path: URL): Uint8Array } | undefined;
  if (!fs) throw new Error('no WebAssembly kernel module: call configureKernels({ backend: "wasm", wasm: bytes }) before any kernel runs (docs/kernels.md)');
  const file = new URL('gemm.wasm', buildDirectory);
  try {
    return fs.readFileSync(file);
  } catch {
    throw new Error(`kernel ${file.pathname} is missing: run \`npm run build:wasm\` to compile it`);
  }
}

/**
 * The concrete settings a request comes to on this thread: native when asked for or when it loads, with
 * the CPU's table unless one is named. Asking for native where it cannot load is a usage error that says why.
 */
export function resolveKernelSettings(request: KernelRequest = {}): KernelSettings {
  const threads = request.threads ?? 1;
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > MAXIMUM_THREADS) {
    throw new UsageError(`--threads must be a whole number from 1 to ${MAXIMUM_THREADS}, got ${threads}`);
  }
  if (request.backend === 'wasm') {
    if (threads > 1) throw new UsageError(`--threads ${threads} needs the native kernels; the WebAssembly kernels run on one thread (use --threads 1)`);
    return { backend: 'wasm', threads: 1 };
  }
  const native = loadNative();
  if ('reason' in native) {
    if (request.backend === 'native') throw new UsageError(`CONVEYOR_KERNELS=native, but the native kernels cannot load: ${native.reason}`);
    if (threads > 1) throw new UsageError(`--threads ${threads} needs the native kernels, which cannot load here (${native.reason}); use --threads 1`);
    return { backend: 'wasm', threads: 1 };
  }
  return { backend: 'native', threads, isa: request.isa ?? native.isa };
}

/** `train --json`'s `kernels`: "native-avx2", "native-avx512", "wasm-simd128". */
export function kernelsName(settings: KernelSettings): string {
  return settings.backend === 'wasm' ? 'wasm-simd128' : `native-${settings.isa}`;
}

function nativeBackend(settings: KernelSettings): KernelBackend {
  try {
    return createNativeBackend((loadNative() as { addon: NativeAddon }).addon, settings.isa!, settings.threads);
  } catch (error) {
    // a named table this CPU cannot run, or a team size out of range: the request was wrong, not the code
    if (error instanceof RangeError) throw new UsageError(`CONVEYOR_NATIVE_ISA=${settings.isa}: ${error.message.replace(/^native kernels: /, '')}`);
    throw error;
  }
}

let active: { readonly backend: KernelBackend; readonly settings: KernelSettings } | undefined;

/**
 * Chooses this thread's backend now. Call it before the first kernel (a worker does so from its rank set-up);
 * calling it again with the same settings is harmless, with different ones an error: the choice is per thread.
 */
export function configureKernels(request: KernelRequest = {}): KernelSettings {
  const settings = resolveKernelSettings(request);
  if (active) {
    const same = active.settings.backend === settings.backend && active.settings.threads === settings.threads && active.settings.isa === settings.isa;
    if (!same) {
      throw new Error(`this thread already runs the ${active.backend.name} kernels on ${active.settings.threads} thread(s); the backend is chosen once per thread`);
    }
    return active.settings;
  }
  const backend = settings.backend === 'native' ? nativeBackend(settings) : createWasmBackend(request.wasm ?? defaultWasmBytes());
  active = { backend, settings };
  return settings;
}

/** This thread's backend; when nothing was configured, the first call chooses the default (native where it loads, one thread). */
export function activeKernels(): KernelBackend {
  if (!active) configureKernels();
  return active!.backend;
}

/** The settings this thread runs with (choosing them as activeKernels would, when not chosen yet). */
export function activeKernelSettings(): KernelSettings {
  activeKernels();
  return active!.settings;
}
