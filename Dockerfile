# inkroom as a container: `docker build -t inkroom .`, then
# `docker run -p 8080:8080 -v inkroom-data:/data inkroom`. See docs/deploy.md.
#
# Two stages: a Rust toolchain builds the release binary (the web app is embedded in it with
# rust-embed), and a slim Debian image runs it as an unprivileged user. No BuildKit features are
# needed: `podman build --format docker` works as well (the OCI format drops HEALTHCHECK).

ARG RUST_VERSION=1

FROM rust:${RUST_VERSION}-bookworm AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src

# Dependencies first, in a layer of their own that stays cached until Cargo.toml or Cargo.lock
# change: build them against an empty crate. The manifest names the benches, so cargo wants a
# file for each even though `cargo build` does not build them; they stay stubs below as well.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && : > src/lib.rs \
    && awk '/^\[\[bench\]\]/ { b = 1; next } /^\[/ { b = 0 } \
            b && /^name *=/ { gsub(/^name *= *"|".*$/, ""); print }' Cargo.toml \
       | while read -r bench; do echo 'fn main() {}' > "benches/$bench.rs"; done \
    && cargo build --release --locked \
    && rm -rf src

# The server and the files it embeds. COPY keeps the files' own times, which may be older than
# the stub build above: touch the crate roots so cargo rebuilds inkroom itself.
COPY src ./src
COPY frontend ./frontend
COPY assets ./assets
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && ./target/release/inkroom --version

FROM debian:bookworm-slim

# curl only for the HEALTHCHECK below; ca-certificates for anything that speaks TLS outward.
# Unpinned on purpose: a rebuild picks up Debian's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid and gid, so a bind-mounted data directory can be prepared on the host:
# `chown 10001:10001 /srv/inkroom`. A named volume takes /data's owner from the image.
RUN groupadd --gid 10001 inkroom \
    && useradd --uid 10001 --gid inkroom --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin inkroom \
    && mkdir /data \
    && chown inkroom:inkroom /data

COPY --from=builder /src/target/release/inkroom /usr/local/bin/inkroom

ENV INKROOM_ADDR=0.0.0.0:8080 \
    INKROOM_DATA_DIR=/data
USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 8080

# Ready: the store takes writes and the server is not shutting down (503 otherwise, e.g. on a
# full disk). A server serving https itself needs its own check (`docker run --health-cmd`).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "--max-time", "4", "-o", "/dev/null", "http://127.0.0.1:8080/readyz"]

# SIGTERM (what `docker stop` sends) shuts down gracefully: sockets close with 1001 and every
# op is written before exit. Arguments go to the binary: `docker run inkroom --help`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/inkroom"]
