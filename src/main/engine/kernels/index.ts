/**
 * Kernels tfjs-backend-wasm lacks (or has slow) that training needs. Each is registered only on
 * the wasm backend and each has a test against the cpu backend (tests/unit/engine/kernels).
 * Returns the names registered, for `atelier doctor`.
 */
export function registerWasmKernels(): string[] {
  return [];
}
