# syntax=docker/dockerfile:1
# kms-change-exporter image: compiled with the dev dependencies, run with the production ones only, as a non-root user.
#
#   docker build -t kms-change-exporter .
#   docker run --rm -p 9842:9842 -e AWS_REGION=eu-west-1 -e KMS_EXPORTER_LOG_GROUPS=my-trail kms-change-exporter
#
# Without a registry (this repository's CI reaches only Debian and npm), scripts/build-image.sh
# builds it with buildah on a base made from Debian packages and npm's Node, passed as
# NODE_IMAGE; test/e2e/helm/image-run.test.ts builds and runs it. The Helm chart in helm/
# runs this image.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: TypeScript -> dist/ ------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# --- runtime: production dependencies and the compiled service ----------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# No production dependency needs an install script; skipping them keeps the install inert.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY LICENSE ./

# uid 1000 is the base image's `node` user; numeric so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 9842
# Node has fetch built in (the slim image has no curl). Follows KMS_EXPORTER_LISTEN_ADDRESS's port.
# HTTPS first (a --web-config-file with tls_server_config; the certificate is not checked, the
# server is this container), plain HTTP when the server does not speak TLS. With basic auth,
# list /-/healthy in auth_excluded_paths; with client certificates required, it reports unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const a = process.env.KMS_EXPORTER_LISTEN_ADDRESS || ':9842'; const o = { host: '127.0.0.1', port: Number(a.slice(a.lastIndexOf(':') + 1)), path: '/-/healthy', timeout: 4000, rejectUnauthorized: false }; const done = (r) => process.exit(r.statusCode === 200 ? 0 : 1); const fail = () => process.exit(1); require('node:https').get(o, done).on('error', () => require('node:http').get(o, done).on('error', fail).on('timeout', fail)).on('timeout', fail);"]
# Node 24 sizes the young generation at 2 x 64 MiB on a large host; 2 x 16 MiB keeps a saturated
# Firehose endpoint under 256 MiB resident at the same throughput (bench/push-hostile.ts).
ENTRYPOINT ["node", "--max-semi-space-size=16", "dist/src/main.js"]
CMD ["serve"]
