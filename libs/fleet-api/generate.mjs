#!/usr/bin/env node
// Generates the TypeScript for the fleet API from proto/ with protoc (Debian's
// protobuf-compiler; the well-known types come from libprotobuf-dev) and
// ts-proto (npm, pinned exactly: its output is checked in).
//
//   node libs/fleet-api/generate.mjs            rewrites src/generated/
//   node libs/fleet-api/generate.mjs --out DIR  writes into DIR (generated.test.ts does this)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const protoRoot = join(here, 'proto');

/** The ts-proto options, one place. Why each: README.md "Generated code". */
export const TS_PROTO_OPTIONS = [
  'outputServices=grpc-js', // a grpc-js service definition, server interface and client class
  'env=node', // Buffer for bytes; no browser shims
  'esModuleInterop=true', // default imports of CommonJS modules, as the repo's tsconfig allows
  'importSuffix=.js', // './google/protobuf/struct.js': what NodeNext resolution wants
  'useOptionals=messages', // message fields may be left out when building a request
  'useDate=true', // google.protobuf.Timestamp <-> Date
  'forceLong=number', // int64 <-> number (ids, counters, times: all < 2^53)
  'annotateFilesWithVersion=false', // the header names no protoc version: Debian's may differ from yours
];

function protoFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? protoFiles(join(dir, e.name))
      : e.name.endsWith('.proto')
        ? [join(dir, e.name)]
        : [],
  );
}

export function generate(outDir) {
  const require = createRequire(import.meta.url);
  const plugin = join(dirname(require.resolve('ts-proto/package.json')), 'protoc-gen-ts_proto');
  if (!existsSync(plugin)) throw new Error(`ts-proto's plugin is missing: ${plugin}`);
  const args = [
    `--plugin=protoc-gen-ts_proto=${plugin}`,
    `--ts_proto_out=${outDir}`,
    `--ts_proto_opt=${TS_PROTO_OPTIONS.join(',')}`,
    `--proto_path=${protoRoot}`,
  ];
  // Debian's protoc finds google/protobuf/*.proto under /usr/include by itself;
  // name it too in case another protoc is first on PATH.
  if (existsSync('/usr/include/google/protobuf/struct.proto'))
    args.push('--proto_path=/usr/include');
  args.push(
    ...protoFiles(protoRoot)
      .map((f) => relative(protoRoot, f))
      .sort(),
  );
  mkdirSync(outDir, { recursive: true });
  try {
    execFileSync('protoc', args, { cwd: protoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    if (e.code === 'ENOENT')
      throw new Error(
        'protoc not found: apt-get install protobuf-compiler libprotobuf-dev (tools/setup/ensure.sh does)',
        { cause: e },
      );
    throw e;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--out');
  const out = i > 0 ? process.argv[i + 1] : join(here, 'src', 'generated');
  if (i < 0) rmSync(out, { recursive: true, force: true }); // no stale files from removed protos
  generate(out);
  console.log(`generated ${relative(process.cwd(), out) || '.'}`);
}
