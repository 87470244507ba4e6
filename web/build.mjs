// Builds the page into web/dist: `buf generate` (the protobuf and service
// code, into web/gen, not committed), then esbuild bundles and minifies the
// script and the style under names that carry a hash of their content
// (/assets/…-<hash>.js), which yeyak-static serves as immutable for a year,
// and writes index.html, which it serves as revalidated (docs/edge.md).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const web = dirname(fileURLToPath(import.meta.url));
const buf = join(web, "../.tools/node_modules/.bin/buf");
const protos = ["admission", "identity", "eligibility", "inventory", "reservation"].flatMap((s) => ["--path", `../proto/yeyak/${s}/v1`]);
rmSync(join(web, "gen"), { recursive: true, force: true });
execFileSync(buf, ["generate", "../proto", ...protos], { cwd: web, stdio: "inherit" });

const dist = join(web, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "assets"), { recursive: true });
const result = await esbuild.build({
  entryPoints: { app: join(web, "src/main.ts"), style: join(web, "src/style.css") },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome120", "firefox120", "safari17"],
  outdir: join(dist, "assets"),
  entryNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});
const outputs = Object.keys(result.metafile.outputs).map((p) => p.slice(p.indexOf("assets/")));
const script = outputs.find((p) => p.endsWith(".js"));
const style = outputs.find((p) => p.endsWith(".css"));
const html = readFileSync(join(web, "index.html"), "utf8").replace("%SCRIPT%", `/${script}`).replace("%STYLE%", `/${style}`);
writeFileSync(join(dist, "index.html"), html);
for (const [path, out] of Object.entries(result.metafile.outputs)) console.log(`web: ${path.slice(path.indexOf("dist/"))} ${out.bytes} bytes`);
