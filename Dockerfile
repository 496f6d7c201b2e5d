# syntax=docker/dockerfile:1
#
# NameServer image. Also runs the simulated broker (src/broker-sim) for demos:
#   docker build -t mq-nameserver:0.1.0 .
#   docker run --rm -p 9876:9876 -p 9877:9877 mq-nameserver:0.1.0 --http-listen 0.0.0.0:9877
#   docker run --rm mq-nameserver:0.1.0 --help
# Arguments after the image name are NameServer flags (the entrypoint is the server). The simulated
# broker: --entrypoint node ... --import tsx src/broker-sim/main.ts --nameservers HOST:9876 ...
# deploy/README.md has the details and the Kubernetes manifests.

# ---- build: all dependencies, and a type check of what the image ships --------------------------
# The server runs from TypeScript through tsx (as `npm start` does), so nothing here is compiled
# into the image: tsx strips types without checking them, so this stage checks them, and the runtime
# stage copies its sources from here, so an image is only built from a tree that type-checks.
# (`npm run build` emits only the SDK package exports under dist/, which the server does not use.)
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY proto ./proto
COPY generated ./generated
COPY src ./src
COPY deploy/healthcheck.ts deploy/tsconfig.json ./deploy/
RUN npx tsc -p deploy/tsconfig.json

# ---- runtime: production dependencies only, non-root --------------------------------------------
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# tsx must be a production dependency: it is the runtime loader of the entrypoint below.
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force \
    && if ! node -e "require.resolve('tsx')" 2>/dev/null; then \
         echo 'tsx is missing after npm ci --omit=dev: it must be in dependencies, not devDependencies' >&2; exit 1; \
       fi
COPY --from=build /app/tsconfig.json ./
COPY --from=build /app/proto ./proto
COPY --from=build /app/generated ./generated
COPY --from=build /app/src ./src
COPY --from=build /app/deploy/healthcheck.ts ./deploy/healthcheck.ts

# The node image's "node" user, by number: Kubernetes' runAsNonRoot can only verify a numeric user.
# Files stay owned by root, so the server cannot modify its own code.
USER 1000:1000

# 0.0.0.0 (not the loopback default) so the port is reachable from outside the container. Set as a
# variable rather than a flag so the health check (which reads it) follows it; a --listen flag wins.
ENV NAMESERVER_LISTEN=0.0.0.0:9876
# 9876: gRPC (BrokerRegistry, RouteQuery, Admin, health, reflection).
# 9877: operations HTTP, off unless --http-listen 0.0.0.0:9877 (or NAMESERVER_HTTP_LISTEN): /metrics, /readyz.
EXPOSE 9876 9877

# grpc.health.v1 Check on 127.0.0.1 at NAMESERVER_LISTEN's port: 0 only when SERVING. A replica is
# NOT_SERVING during its warm-up (10 s by default; the start period covers up to a minute of it) and
# while it stops. Kubernetes ignores this and uses its own gRPC probe (deploy/kubernetes).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "--import", "tsx", "deploy/healthcheck.ts"]

# node itself is PID 1 (no npm or tsx CLI in between), so SIGTERM reaches the server's handler,
# which flips health to NOT_SERVING, ends streams and stops within --shutdown-grace-ms.
ENTRYPOINT ["node", "--import", "tsx", "src/server/main.ts"]
CMD []
