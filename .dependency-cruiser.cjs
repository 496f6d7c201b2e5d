/**
 * The walls between the rooms of src/ (npm run lint:deps, run by CI): the server's network and
 * metadata modules, and the separately usable parts that must stay usable on their own.
 *
 *  - src/shared and generated/ depend on nothing of ours (only on each other);
 *  - the parts (client, broker-agent, cli, broker-sim, console) import only inward: generated/,
 *    src/shared, and the parts they are built on (cli -> client, broker-sim -> broker-agent ->
 *    client's public API); never src/server;
 *  - src/server/metadata knows nothing of the network module, of gRPC or of the parts;
 *  - no import cycles anywhere.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle: split the module or invert the dependency.',
      from: { path: '^(src|generated)/' },
      to: { circular: true },
    },
    {
      name: 'parts-import-inward',
      severity: 'error',
      comment: 'A separately usable part (SDK, CLI, simulated broker, console) may not reach into the server.',
      from: { path: '^src/(client|broker-agent|cli|broker-sim|console)/' },
      to: { path: '^src/server/' },
    },
    {
      name: 'client-is-self-contained',
      severity: 'error',
      comment: 'The client SDK depends only on generated/ and src/shared.',
      from: { path: '^src/client/' },
      to: { path: '^src/(broker-agent|cli|broker-sim|console)/' },
    },
    {
      name: 'broker-agent-is-self-contained',
      severity: 'error',
      comment: 'The broker agent SDK depends only on generated/ and src/shared.',
      from: { path: '^src/broker-agent/' },
      to: { path: '^src/(client|cli|broker-sim|console)/' },
    },
    {
      name: 'shared-depends-on-nothing-of-ours',
      severity: 'error',
      comment: 'src/shared is the small utility every room may use; it uses no room.',
      from: { path: '^src/shared/' },
      to: { path: '^src/(server|client|broker-agent|cli|broker-sim|console)/' },
    },
    {
      name: 'metadata-knows-no-network',
      severity: 'error',
      comment: 'The metadata module owns state and rules; gRPC, the front doors and the parts stay outside it.',
      from: { path: '^src/server/metadata/' },
      to: { path: ['^src/server/network/', '^src/(client|broker-agent|cli|broker-sim|console)/', '@grpc/grpc-js', '^src/server/(server|http|main|options)\\.ts$'] },
    },
    {
      name: 'no-test-code-in-src',
      severity: 'error',
      from: { path: '^(src|generated)/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    // The TypeScript 7 package (a native compiler) has no JavaScript API to parse with; swc parses TS.
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^src/console/static/' },
  },
};
