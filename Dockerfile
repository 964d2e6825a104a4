# syntax=docker/dockerfile:1
#
# Security MCP Server image: HTTP transport on port 8080, non-root (uid 10001),
# friendly to a read-only root filesystem; or MCP over stdio for a local client.
#
#   docker build -t security-mcp-server .
#   docker run --rm -p 127.0.0.1:8080:8080 --read-only --tmpfs /tmp --cap-drop ALL \
#     --security-opt no-new-privileges -v mcp-audit:/var/lib/security-mcp-server \
#     -e MCP_AUTH_API_KEYS='[{"id":"me","sha256":"<sha256 from hash-key>","scopes":["execute"]}]' \
#     security-mcp-server
#
# Stdio mode (Claude Desktop on macOS or Windows gets util-linux's resource limits
# this way; config/deploy/claude_desktop_config.docker.json is the client entry):
# -i keeps stdin open, no -t (a TTY would garble the protocol), no health check
# (there is no HTTP server to probe), logs on stderr.
#   docker run -i --rm --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
#     --no-healthcheck -v mcp-audit:/var/lib/security-mcp-server \
#     -e MCP_SECURITY_ALLOWED_TARGETS=RFC1918 security-mcp-server serve --transport stdio
# Targets are reached from the container's network: its loopback is its own, and
# on Docker Desktop the private ranges are those behind the VM's NAT.
#
# The server binds 0.0.0.0 inside the container, and a non-loopback bind refuses
# to start without API keys: give them in MCP_AUTH_API_KEYS (JSON, as above) or
# in a config file mounted at $MCP_CONFIG_FILE. Only behind a proxy that
# authenticates every request may MCP_AUTH_ALLOW_UNAUTHENTICATED_NON_LOOPBACK=true
# replace them. Create a key with:
#   docker run --rm security-mcp-server hash-key
#
# Raw sockets: the process is not root, so nmap SYN/OS/UDP scans are rewritten
# to connect scans (with a note in each result) and masscan cannot run. The
# server decides this by its uid, so granting NET_RAW/NET_ADMIN (for example
# `--cap-add NET_RAW` with `setcap cap_net_raw,cap_net_admin+eip /usr/bin/nmap`,
# which also needs nmap's --privileged) does not change what the server asks
# nmap to do; run as root only if raw-socket scans are a requirement.
# ping works unprivileged through ICMP datagram sockets, which Docker enables by
# default (net.ipv4.ping_group_range); the image strips setuid bits instead.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY .ci/build.mjs ./.ci/
COPY src ./src
# What stays in node_modules after the prune is package.json's dependencies: the modules the bundle cannot hold.
RUN npm run build --silent && npm prune --omit=dev --no-audit --no-fund --loglevel=error && mkdir -p node_modules

FROM ${NODE_IMAGE}
# The tools the server runs (the same packages .ci/setup installs for them);
# ca-certificates lets HttpProbeTool verify HTTPS certificates.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      nmap iputils-ping traceroute dnsutils curl sslscan masscan util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && find / -xdev -type f -perm /6000 -exec chmod a-s {} + \
 && groupadd --system --gid 10001 mcp \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin mcp \
 && mkdir -p /var/lib/security-mcp-server /etc/security-mcp-server \
 && chown 10001:10001 /var/lib/security-mcp-server

WORKDIR /app
# The launcher (dist/package.json makes it CommonJS), the bundle and the V8 code cache written by
# the build (start-up time); the runtime dependencies; package.json names the package.
COPY --from=build /src/dist/server.js /src/dist/package.json /src/dist/main.cjs /src/dist/main.cjs.v8cache ./dist/
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/package.json ./package.json

ENV MCP_SERVER_TRANSPORT=http \
    MCP_SERVER_HOST=0.0.0.0 \
    MCP_SERVER_PORT=8080 \
    MCP_SECURITY_AUDIT_LOG_PATH=/var/lib/security-mcp-server/audit.jsonl \
    MCP_STORAGE_PATH=/var/lib/security-mcp-server/data \
    MCP_HEALTH_DISK_PATH=/var/lib/security-mcp-server \
    HOME=/tmp

VOLUME ["/var/lib/security-mcp-server"]
USER 10001:10001
EXPOSE 8080

# node's own fetch: no curl needed for the check. 207 (degraded) is still healthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.MCP_SERVER_PORT||8080)+'/health').then(r=>process.exit(r.status<400?0:1),()=>process.exit(1))"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/server.js"]
CMD ["serve"]
