# syntax=docker/dockerfile:1
#
# NameServer image. Also runs the simulated broker (src/broker-sim) for demos:
#   docker build -t mq-nameserver:0.1.0 .
#   docker run --rm -p 9876:9876 -p 9877:9877 mq-nameserver:0.1.0 --http-listen 0.0.0.0:9877
#   docker run --rm mq-nameserver:0.1.0 --help
# Arguments after the image name are NameServer flags (the entrypoint is the server). The simulated
# broker: --entrypoint node ... dist/src/broker-sim/main.js --nameservers HOST:9876 ...
# deploy/README.md has the details and the Kubernetes manifests.

# ---- build: all dependencies, type check, compile to dist/ ------------------------------------------
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.sh ./scripts/
COPY proto ./proto
COPY generated ./generated
COPY src ./src
COPY deploy/healthcheck.ts ./deploy/
RUN bash scripts/build.sh

# ---- runtime: production dependencies and compiled JavaScript only, non-root, read-only ------------
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist

# The node image's "node" user, by number: Kubernetes' runAsNonRoot can only verify a numeric user.
# Files stay owned by root, so the server cannot modify its own code; nothing is written at run time
# (the root filesystem may be read-only; only --console needs a writable /tmp for its private socket).
USER 1000:1000

# 0.0.0.0 (not the loopback default) so the port is reachable from outside the container. Set as a
# variable rather than a flag so the health check (which reads it) follows it; a --listen flag wins.
ENV NAMESERVER_LISTEN=0.0.0.0:9876
# 9876: gRPC (BrokerRegistry, RouteQuery, Admin, health, reflection) and RocketMQ remoting, one port.
# 9877: operations HTTP, off unless --http-listen 0.0.0.0:9877 (or NAMESERVER_HTTP_LISTEN): /metrics, /readyz.
EXPOSE 9876 9877

# grpc.health.v1 Check on 127.0.0.1 at NAMESERVER_LISTEN's port: 0 only when SERVING. A replica is
# NOT_SERVING during its warm-up (10 s by default; the start period covers up to a minute of it) and
# while it stops. Kubernetes ignores this and uses its own gRPC probe (deploy/kubernetes).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "dist/deploy/healthcheck.js"]

# node itself is PID 1 (no npm in between), so SIGTERM reaches the server's handler, which flips
# health to NOT_SERVING, ends streams and stops within --shutdown-grace-ms. No loader, no transpiler:
# compiled JavaScript from the build stage.
ENTRYPOINT ["node", "dist/src/server/main.js"]
CMD []
