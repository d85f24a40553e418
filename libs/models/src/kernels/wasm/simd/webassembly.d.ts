/**
 * The part of the WebAssembly JS API this module uses. TypeScript declares it only in its DOM
 * library, which this Node-only workspace does not load (and @types/node 20 does not declare it).
 * Brought in by `import type {} from './webassembly'` (a type-only import: nothing at run time).
 */
declare global {
  namespace WebAssembly {
    interface MemoryDescriptor {
      initial: number;
      maximum?: number;
      shared?: boolean;
    }
    class Memory {
      constructor(descriptor: MemoryDescriptor);
      readonly buffer: ArrayBuffer | SharedArrayBuffer;
      grow(delta: number): number;
    }
    class Module {
      constructor(bytes: Uint8Array);
    }
    type Imports = Record<string, Record<string, Memory>>;
    class Instance {
      constructor(module: Module, imports?: Imports);
      readonly exports: Record<string, unknown>;
    }
  }
}

export {};
