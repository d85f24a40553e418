export { initBackend, currentBackend, isBackendName, backendNames } from './backend/init-backend';
export type { BackendInfo, BackendName, InitBackendOptions } from './backend/init-backend';
export { registerWasmKernels, wasmKernelConfigs } from './kernels';
