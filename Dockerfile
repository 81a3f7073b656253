# syntax=docker/dockerfile:1
# Kiln on the official Bun image. Two stages: dependencies are installed in the
# first (production only, exactly as bun.lock pins them), and only what runs is
# copied into the second, which runs as the image's unprivileged `bun` user.
# Bun runs the TypeScript sources directly: there is no build step.

ARG BUN_VERSION=1.4.5

FROM oven/bun:${BUN_VERSION}-slim AS deps
WORKDIR /app
COPY package.json bun.lock bunfig.toml ./
# sharp and PGlite ship prebuilt binaries (glibc) and wasm; no compiler needed.
RUN bun install --production --frozen-lockfile

FROM oven/bun:${BUN_VERSION}-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/data
COPY --from=deps --chown=bun:bun /app/node_modules ./node_modules
COPY --chown=bun:bun package.json bun.lock bunfig.toml tsconfig.json ./
COPY --chown=bun:bun drizzle ./drizzle
COPY --chown=bun:bun src ./src
# Local files and generated state live under DATA_DIR (a Fly volume, or S3 in a cluster).
RUN mkdir -p /data && chown bun:bun /data
USER bun
EXPOSE 3000
# curl is not in the slim image: Bun itself probes liveness.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM reaches Bun directly (exec form, PID 1) and starts the graceful drain.
STOPSIGNAL SIGTERM
CMD ["bun", "run", "src/main.ts"]
