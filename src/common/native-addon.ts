import { existsSync } from 'fs';
import * as nodePath from 'path';

/**
 * Requires build/Release/<file> (built by node-gyp at npm ci), searching up
 * from this file: dist/src/common in a build, src/common under ts-node.
 */
export function loadNativeAddon<T>(file: string): T {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = nodePath.join(dir, 'build', 'Release', file);
    if (existsSync(candidate)) return require(candidate) as T;
    dir = nodePath.dirname(dir);
  }
  throw new Error(`${file} not built: run \`npm ci\` (node-gyp rebuild --nodedir=/usr)`);
}
