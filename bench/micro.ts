/**
 * Micro-benchmarks of the hot-path pieces, each against a baseline measured in the same run:
 * HMAC verify, REST decode, Twirp protobuf decode, Twirp JSON decode, encode per transport.
 * Inputs cycle through the same 2,000 signed payloads as the macro suite.
 *
 *   npx tsx bench/micro.ts [--quick] [--json FILE]
 *
 * (run by `npm run bench` after the macro table, pinned to CPU 0 when taskset exists).
 * ns/op is mitata's mean time per call; ratio is against the group's baseline (first row).
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { create, fromBinary, fromJson, toBinary, toJsonString, type JsonValue } from '@bufbuild/protobuf';
import { do_not_optimize, measure } from 'mitata';
import { StreamChat } from 'stream-chat';
import { pendingMessageBodySchema } from '../src/event/message-schema.js';
import {
  Action,
  PendingMessageRequestSchema,
  PendingMessageResponseSchema,
} from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import { createAppKeyring, type ResolvedApp } from '../src/signature/app-keyring.js';
import { verify } from '../src/signature/sign.js';
import { verifyRequestSignature } from '../src/signature/verify-request.js';
import { jsonNestsDeeperThan, jsonTextNestsDeeperThan } from '../src/transports/json-depth.js';
import { decodeRestBody } from '../src/transports/rest/decode.js';
import { encodeRestPassOn } from '../src/transports/rest/encode.js';
import { decodeTwirpJson, decodeTwirpProtobuf } from '../src/transports/twirp/decode.js';
import { twirpJsonEncoder, twirpProtobufEncoder } from '../src/transports/twirp/encode.js';
import type { Outcome } from '../src/decision/decision.js';
import { benchApiKey, benchSecret, decideText, restAnswer, restPath, twirpPath } from './lib/common.js';
import { createPendingHooks, decide } from '../src/index.js';
import pino from 'pino';
import { buildPayloads, type EncodedBodies } from './lib/payloads.js';
import { PendingMessageRequest as TsPendingMessageRequest } from './twirp-ts/gen/pendingmessage/v1/pending_message.js';

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } },
  strict: true,
});

const payloads = buildPayloads(2000);
const limits = { maxJsonDepth: 64 };
const n = payloads.count;

/** A function over payload i, called with i cycling through the payloads. */
type Case = { name: string; fn: (i: number) => unknown };
interface Group {
  name: string;
  cases: Case[];
}

function cycling(body: (i: number) => unknown): () => void {
  let i = 0;
  return () => {
    do_not_optimize(body(i));
    i = i + 1 === n ? 0 : i + 1;
  };
}

const rest = payloads.rest;
const restTexts = rest.bodies.map((body) => body.toString('utf8'));
const restParsed = restTexts.map((text) => JSON.parse(text) as unknown);
const protobufBodies = payloads['twirp-protobuf'].bodies.map((body) => new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
const twirpJsonTexts = payloads['twirp-json'].bodies.map((body) => body.toString('utf8'));

const app: ResolvedApp = (() => {
  const resolved = createAppKeyring([{ apiKey: benchApiKey, secrets: [benchSecret] }]).resolve(benchApiKey);
  if (!('keys' in resolved)) throw new Error('keyring');
  return resolved;
})();
const keyObject = createSecretKey(Buffer.from(benchSecret, 'utf8'));
const streamChat = new StreamChat(benchApiKey, benchSecret);

function hmacGroup(label: string, encoded: EncodedBodies): Group {
  const { bodies, signatures } = encoded;
  return {
    name: `HMAC verify (${label}, avg ${encoded.averageBytes} B)`,
    cases: [
      {
        name: 'baseline: createHmac(string secret) + timingSafeEqual',
        fn: (i) => timingSafeEqual(createHmac('sha256', benchSecret).update(bodies[i]!).digest(), Buffer.from(signatures[i]!, 'hex')),
      },
      {
        name: 'createHmac(prepared KeyObject) + timingSafeEqual',
        fn: (i) => timingSafeEqual(createHmac('sha256', keyObject).update(bodies[i]!).digest(), Buffer.from(signatures[i]!, 'hex')),
      },
      { name: 'stream-chat verifyWebhook (hex string compare)', fn: (i) => streamChat.verifyWebhook(bodies[i]!, signatures[i]!) },
      { name: 'pending-hooks verify(secret, body, sig) (public helper)', fn: (i) => verify(benchSecret, bodies[i]!, signatures[i]) },
      { name: 'pending-hooks verifyRequestSignature (pipeline path)', fn: (i) => verifyRequestSignature(app, bodies[i]!, bodies[i]!, signatures[i]) },
    ],
  };
}

const commit: Outcome = { action: 'commit', timedOut: false };
const blocked: Outcome = { action: 'delete', reason: 'blocklist', timedOut: false };

/** Encoding answers: each outcome against a baseline that encodes the same answer plainly. */
function encodeGroups(): Group[] {
  const protoWith = (action: Action, reason: string) =>
    toBinary(PendingMessageResponseSchema, create(PendingMessageResponseSchema, { action, reason }));
  const jsonWith = (action: Action, reason: string) =>
    toJsonString(PendingMessageResponseSchema, create(PendingMessageResponseSchema, { action, reason }), { useProtoFieldName: true, alwaysEmitImplicit: true });
  return [
    {
      name: 'encode answer: REST, commit',
      cases: [
        { name: "baseline: JSON.stringify({action: 'commit', timed_out})", fn: () => JSON.stringify({ action: 'commit', timed_out: false }) },
        { name: 'pending-hooks encodeRestPassOn (precomputed)', fn: () => encodeRestPassOn(commit) },
      ],
    },
    {
      name: 'encode answer: REST, delete + reason',
      cases: [
        { name: "baseline: JSON.stringify({action: 'delete', reason, timed_out})", fn: () => JSON.stringify({ action: 'delete', reason: 'blocklist', timed_out: false }) },
        { name: 'pending-hooks encodeRestPassOn', fn: () => encodeRestPassOn(blocked) },
      ],
    },
    {
      name: 'encode answer: Twirp protobuf, commit',
      cases: [
        { name: 'baseline: toBinary(create(PendingMessageResponse))', fn: () => protoWith(Action.COMMIT, '') },
        { name: 'pending-hooks encodePassOn (precomputed)', fn: () => twirpProtobufEncoder.encodePassOn(commit) },
      ],
    },
    {
      name: 'encode answer: Twirp protobuf, delete + reason',
      cases: [
        { name: 'baseline: toBinary(create(PendingMessageResponse))', fn: () => protoWith(Action.DELETE, 'blocklist') },
        { name: 'pending-hooks encodePassOn', fn: () => twirpProtobufEncoder.encodePassOn(blocked) },
      ],
    },
    {
      name: 'encode answer: Twirp JSON, commit',
      cases: [
        { name: 'baseline: toJsonString(create(PendingMessageResponse))', fn: () => jsonWith(Action.COMMIT, '') },
        { name: 'pending-hooks encodePassOn (precomputed)', fn: () => twirpJsonEncoder.encodePassOn(commit) },
      ],
    },
    {
      name: 'encode answer: Twirp JSON, delete + reason',
      cases: [
        { name: 'baseline: toJsonString(create(PendingMessageResponse))', fn: () => jsonWith(Action.DELETE, 'blocklist') },
        { name: 'pending-hooks encodePassOn', fn: () => twirpJsonEncoder.encodePassOn(blocked) },
      ],
    },
  ];
}

/*
 * The whole callback without HTTP: what the server does between reading the body and writing the
 * answer. The baseline is the hand-written route's work (HMAC with a prepared key, JSON.parse,
 * the trivial handler, the answer string); pending-hooks adds routing, content-type and size
 * checks, validation, the typed event, dedupe, the deadline and the encoded answer.
 */
const hooks = createPendingHooks({ apiKey: benchApiKey, apiSecret: benchSecret, logger: pino({ level: 'warn' }, pino.destination(2)) });
hooks.on('PassOnPendingMessage', (event) => {
  const decision = decideText(event.message.text);
  return decision.action === 'delete' ? decide.delete(decision.reason) : decide.commit();
});
let webhookSerial = 0;
function pipelineCase(path: string, contentType: string, encoded: EncodedBodies): (i: number) => unknown {
  return (i) =>
    hooks.pipeline.handle({
      method: 'POST',
      path,
      headers: { 'content-type': contentType, 'x-signature': encoded.signatures[i]!, 'x-api-key': benchApiKey, 'x-webhook-id': `micro-${webhookSerial++}` },
      body: encoded.bodies[i]!,
      receivedAt: performance.now(),
    });
}

function wholeCallbackGroup(): Group {
  return {
    name: 'whole callback in process (no HTTP; unique webhook ids)',
    cases: [
      {
        name: 'baseline: hand-written (prepared-key HMAC, JSON.parse, answer string)',
        fn: (i) => {
          const body = rest.bodies[i]!;
          if (!timingSafeEqual(createHmac('sha256', keyObject).update(body).digest(), Buffer.from(rest.signatures[i]!, 'hex'))) throw new Error('signature');
          const payload = JSON.parse(body.toString('utf8')) as { message?: { text?: string } };
          return restAnswer(payload.message?.text);
        },
      },
      { name: 'pending-hooks pipeline.handle, REST', fn: pipelineCase(restPath, 'application/json', rest) },
      { name: 'pending-hooks pipeline.handle, Twirp protobuf', fn: pipelineCase(twirpPath, 'application/protobuf', payloads['twirp-protobuf']) },
      { name: 'pending-hooks pipeline.handle, Twirp JSON', fn: pipelineCase(twirpPath, 'application/json', payloads['twirp-json']) },
    ],
  };
}

const groups: Group[] = [
  wholeCallbackGroup(),
  hmacGroup('REST JSON', rest),
  {
    name: `REST decode (avg ${rest.averageBytes} B)`,
    cases: [
      { name: "baseline: JSON.parse(buffer.toString('utf8'))", fn: (i) => JSON.parse(rest.bodies[i]!.toString('utf8')) },
      { name: 'jsonNestsDeeperThan (full depth scan: only for bodies with > 64 brackets)', fn: (i) => jsonNestsDeeperThan(rest.bodies[i]!, 64) },
      { name: 'jsonTextNestsDeeperThan (bracket count, part of decode)', fn: (i) => jsonTextNestsDeeperThan(restTexts[i]!, rest.bodies[i]!, 64) },
      { name: 'pendingMessageBodySchema.safeParse (zod, part of decode)', fn: (i) => pendingMessageBodySchema.safeParse(restParsed[i]) },
      { name: 'pending-hooks decodeRestBody (scan + parse + validate)', fn: (i) => decodeRestBody(rest.bodies[i]!, limits) },
    ],
  },
  {
    name: `Twirp protobuf decode (avg ${payloads['twirp-protobuf'].averageBytes} B)`,
    cases: [
      { name: 'baseline: protobuf-es fromBinary', fn: (i) => fromBinary(PendingMessageRequestSchema, protobufBodies[i]!) },
      { name: 'protobuf-ts fromBinary (what twirp-ts runs)', fn: (i) => TsPendingMessageRequest.fromBinary(protobufBodies[i]!) },
      { name: 'pending-hooks decodeTwirpProtobuf (fromBinary + to REST shape)', fn: (i) => decodeTwirpProtobuf(protobufBodies[i]!) },
    ],
  },
  {
    name: `Twirp JSON decode (avg ${payloads['twirp-json'].averageBytes} B)`,
    cases: [
      { name: 'baseline: JSON.parse + protobuf-es fromJson', fn: (i) => fromJson(PendingMessageRequestSchema, JSON.parse(twirpJsonTexts[i]!) as JsonValue, { ignoreUnknownFields: true }) },
      { name: 'JSON.parse alone', fn: (i) => JSON.parse(twirpJsonTexts[i]!) },
      { name: 'protobuf-ts fromJson(JSON.parse) (what twirp-ts runs)', fn: (i) => TsPendingMessageRequest.fromJson(JSON.parse(twirpJsonTexts[i]!), { ignoreUnknownFields: true }) },
      { name: 'pending-hooks decodeTwirpJson (scan + parse + fromJson + to REST shape)', fn: (i) => decodeTwirpJson(payloads['twirp-json'].bodies[i]!, limits) },
    ],
  },
  ...encodeGroups(),
];

interface MicroResult {
  group: string;
  name: string;
  nsPerOp: number;
  p50: number;
  p99: number;
  ratio: number;
  baseline: boolean;
}

// mitata's own warm-up is a couple of samples: too short for protobuf-es's reflection-based
// codecs to reach optimized code (measured: 144 µs/op cold vs 43 µs/op warm). Each case runs
// for `warmupMs` first.
const warmupMs = args.quick ? 60 : 400;
const options = () => (args.quick ? { min_cpu_time: 40e6, max_samples: 1e6 } : { min_cpu_time: 640e6 });
const results: MicroResult[] = [];
for (const group of groups) {
  let baseline = Number.NaN;
  for (const [index, item] of group.cases.entries()) {
    // Sanity: every case must run on a real payload without throwing.
    item.fn(0);
    const run = cycling(item.fn);
    const until = performance.now() + warmupMs;
    while (performance.now() < until) for (let k = 0; k < 64; k++) run();
    const stats = await measure(run, options());
    if (index === 0) baseline = stats.avg;
    results.push({ group: group.name, name: item.name, nsPerOp: stats.avg, p50: stats.p50, p99: stats.p99, ratio: stats.avg / baseline, baseline: index === 0 });
  }
}

const ns = (value: number) => (value >= 1e4 ? `${(value / 1e3).toFixed(1)} µs` : `${value.toFixed(value < 100 ? 1 : 0)} ns`);
const lines = ['| group | case | ns/op (mean) | p50 | ratio vs baseline |', '| --- | --- | ---: | ---: | ---: |'];
for (const result of results) {
  lines.push(`| ${result.group} | ${result.name} | ${ns(result.nsPerOp)} | ${ns(result.p50)} | ${result.baseline ? '1.00× (baseline)' : `${result.ratio.toFixed(2)}×`} |`);
}
const table = lines.join('\n');
process.stdout.write(`${table}\n`);
if (args.json) {
  writeFileSync(args.json, `${JSON.stringify({ node: process.version, quick: args.quick, results, table }, null, 2)}\n`);
}
