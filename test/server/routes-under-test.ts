import type { Express } from 'express';
import type { Route } from '../../main/server/route.js';

interface Layer {
  name?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every (method, path) pair Express itself has mounted, walking nested routers. */
export function mountedRoutes(app: Express): string[] {
  const result: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') result.push(`${method.toUpperCase()} ${layer.route.path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return result.sort();
}

/** A concrete URL path for a route pattern: parameters filled with harmless sample values. */
export function samplePath(route: Route): string {
  return route.path.replace(/\{\*\w+\}/g, 'some/page').replace(/:(\w+)/g, 'sample-$1');
}
