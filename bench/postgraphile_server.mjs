// PostGraphile 5 (amber preset) serving the bench database, as a third target of `python -m bench run`.
//
// The harness copies this file next to the node_modules it installed (bench/.postgraphile/) and runs it
// with Node >= 22. Configuration comes from the environment:
//   BENCH_DATABASE_URL   what to connect with (the non-superuser role, so row-level security applies)
//   BENCH_JWT_SECRET / BENCH_JWT_AUDIENCE / BENCH_JWT_ISSUER   Rigbook's access-token settings
//   BENCH_PORT, BENCH_WORKERS (node:cluster processes sharing the port), BENCH_POOL_SIZE
//   BENCH_PRINT_SCHEMA=1  print the GraphQL schema and exit (to look up field names)
//
// Each request carries Rigbook's own access token. It is verified here exactly as the baseline does
// (HS256, audience, issuer, typ=access, the required claims) and its tenant becomes the transaction-local
// setting `app.tenant_id` through PostGraphile's `pgSettings`, which Rigbook's row-level security
// policies read. A request without a valid token gets no tenant, so the policies show it nothing.
import cluster from "node:cluster";
import { createServer } from "node:http";

import jwt from "jsonwebtoken";
import { makePgService } from "postgraphile/adaptors/pg";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { printSchema } from "postgraphile/graphql";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const env = process.env;
const workers = Number(env.BENCH_WORKERS ?? "1");
const REQUIRED = ["exp", "iat", "sub", "aud", "iss", "typ", "sid", "tid"];

function tenantOf(authorization) {
  if (typeof authorization !== "string") return null;
  const [scheme, token] = authorization.split(" ");
  if (scheme?.toLowerCase() !== "bearer" || !token) return null;
  try {
    const claims = jwt.verify(token, env.BENCH_JWT_SECRET, {
      algorithms: ["HS256"],
      audience: env.BENCH_JWT_AUDIENCE,
      issuer: env.BENCH_JWT_ISSUER,
    });
    if (typeof claims !== "object" || claims.typ !== "access") return null;
    if (REQUIRED.some((name) => !(name in claims))) return null;
    return String(claims.tid);
  } catch {
    return null;
  }
}

const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: env.BENCH_DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(env.BENCH_POOL_SIZE ?? "20") },
    }),
  ],
  grafast: {
    // A fresh object per request: pgSettings become `set_config(..., true)` in the request's transaction.
    context(requestContext) {
      const tenant = tenantOf(requestContext.node?.req?.headers?.authorization);
      return { pgSettings: tenant ? { "app.tenant_id": tenant } : {} };
    },
    explain: false,
  },
  grafserv: { port: Number(env.BENCH_PORT ?? "5678"), graphiql: false, watch: false, maxRequestLength: 1e6 },
};

async function serve() {
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  // Build the schema before accepting connections, so the first timed request does not pay for it.
  await pgl.getSchema();
  // A plain handler (no websockets: the benchmark sends none) with a health route in front of it.
  const graphql = serv.createHandler();
  const server = createServer((req, res) => {
    if (req.url === "/health") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status":"ok"}');
      return;
    }
    graphql(req, res);
  });
  server.keepAliveTimeout = 5000;
  server.listen(preset.grafserv.port, "127.0.0.1");
  const stop = async () => {
    server.close();
    await pgl.release();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

async function print() {
  const pgl = postgraphile(preset);
  process.stdout.write(printSchema(await pgl.getSchema()));
  await pgl.release();
}

if (env.BENCH_PRINT_SCHEMA === "1") {
  await print();
} else if (workers > 1 && cluster.isPrimary) {
  for (let index = 0; index < workers; index += 1) cluster.fork();
  const stop = () => {
    for (const worker of Object.values(cluster.workers)) worker.process.kill("SIGTERM");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  await serve();
}
