import vm from 'node:vm';

export interface LoadedBundle {
  exports: Record<string, unknown>;
  /** Every module id the bundle asked for, in order. */
  required: string[];
}

/**
 * Evaluates a CommonJS bundle with a `require` that knows only `modules`.
 * Electron cannot run here, so `electron` is a stand-in with the documented
 * shape of the parts the bundle uses; anything else the bundle requires fails,
 * as it would in a sandboxed preload.
 */
export function loadCommonJs(code: string, filename: string, modules: Record<string, unknown>): LoadedBundle {
  const required: string[] = [];
  const module = { exports: {} as Record<string, unknown> };
  const fakeRequire = (id: string): unknown => {
    required.push(id);
    if (Object.hasOwn(modules, id)) return modules[id];
    throw new Error(`the bundle cannot require "${id}"`);
  };
  const wrapper = vm.runInThisContext(`(function (require, module, exports) {${code}\n})`, { filename }) as (
    require: (id: string) => unknown,
    module: { exports: Record<string, unknown> },
    exports: Record<string, unknown>,
  ) => void;
  wrapper(fakeRequire, module, module.exports);
  return { exports: module.exports, required };
}
