// @ts-check
/**
 * The layers of src/, bottom to top: a folder imports only from folders in layers below its
 * own (and from itself), so a callback's flow reads from the folder names top to bottom and
 * nothing imports back up. Two folders in one layer do not import each other.
 * Run by `npm run check:layers` (and CI). Type-only imports count: a type is a dependency too.
 */
const layers = [
  ['core', 'gen'], //                       neutral request/response, HookError, deadline, clocks; generated protobuf
  ['signature', 'event', 'stream-api', 'observe'], // verify bytes, the typed event, Stream's API, logs and metrics
  ['decision'], //                          decisions, applying them, dedupe stores
  ['transports'], //                        rest/ twirp/ connect/: content type, decode, encode, errors
  ['dispatch'], //                          handler under the deadline → fallback → apply → remember
  ['pipeline', 'event-webhooks'], //        the stages in order (pending messages; event webhooks)
  ['hooks'], //                             createPendingHooks: options settled, the pipeline built
  ['server'], //                            node:http listener, fastify plugin, standalone server
  ['deliveries'], //                        SQS and SNS deliveries of event webhooks
  ['hooks-config'], //                      event_hooks settings through Stream's API
  ['emulator'], //                          Stream's side: mock API, callback sender, scenarios
  ['loadtest'], //                          the load generator (uses the emulator's sample messages)
  ['cli'], //                               pending-hooks serve | emulate | bench | hooks
  ['index'], //                             the public entry point
];

/** The files of a layer name: a folder of src/, or the files at the top of src/. */
const filesOf = {
  hooks: '^src/(pending-hooks|define-handlers|optional-dependency)\\.ts$',
  index: '^src/index\\.ts$',
};
const pathOf = (name) => filesOf[name] ?? `^src/${name}/`;

/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const layerRules = layers.flatMap((names, rank) =>
  names.flatMap((name) => {
    const notBelow = layers
      .slice(rank)
      .flat()
      .filter((other) => other !== name);
    if (notBelow.length === 0) return []; // the top layer may import every layer
    return {
      name: `layer-${name}`,
      comment: `${name} imports only from the layers below it: ${layers.slice(0, rank).flat().join(', ') || 'nothing of ours'}`,
      severity: 'error',
      from: { path: pathOf(name) },
      to: { path: notBelow.map(pathOf) },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'No import cycles, not even between files of one folder.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-not-to-outside',
      comment: 'The package imports nothing from tests, benchmarks or examples.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|examples|scripts|bin)/' },
    },
    {
      name: 'every-file-in-a-layer',
      comment: 'A new folder or top-level file of src/ gets a place in the layers above.',
      severity: 'error',
      from: { path: '^src/', pathNot: layers.flat().map(pathOf) },
      to: {},
    },
  ],
  options: {
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
