// Build step: copies the project's .proto into the package (the client
// loads it at run time with @grpc/proto-loader) and generates TypeScript
// types from it with proto-loader-gen-types. Both outputs are build
// products (gitignored), so they can never go stale: every `npm run
// build` regenerates them from ../../proto.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "..", "..", "proto", "chronicle", "v1", "chronicle.proto");
const target = join(root, "proto", "chronicle", "v1", "chronicle.proto");
mkdirSync(dirname(target), { recursive: true });
copyFileSync(source, target);

const out = join(root, "src", "gen");
rmSync(out, { recursive: true, force: true });
// These options must match LOADER_OPTIONS in src/client.ts.
execFileSync(
  process.execPath,
  [
    join(root, "node_modules", "@grpc", "proto-loader", "build", "bin", "proto-loader-gen-types.js"),
    "--longs=Number",
    "--enums=String",
    "--defaults",
    "--oneofs",
    "--grpcLib=@grpc/grpc-js",
    "--includeDirs", join(root, "proto"),
    "--outDir", out,
    "chronicle/v1/chronicle.proto",
  ],
  { stdio: "inherit" },
);
