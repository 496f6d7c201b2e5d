/**
 * Where the compiled contract is: `generated/descriptors.binpb`, the FileDescriptorSet buf writes at
 * `npm run generate` (server reflection serves it; the console's JSON codec reads it). From the sources
 * (src/shared) and from the build (dist/src/shared, which `npm run build` gives a copy in
 * dist/generated) it is two folders up.
 */
import path from 'node:path';

/** The path of the descriptor set. */
export function descriptorSetPath(): string {
  return path.resolve(__dirname, '..', '..', 'generated', 'descriptors.binpb');
}
