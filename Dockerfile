# flowsmith: the REST service and the sandbox org in one small image.
#
#   docker build -t flowsmith .
#   docker run --rm -p 127.0.0.1:8080:8080 -v flowsmith-data:/data -e FLOWSMITH_API_TOKENS=... flowsmith
#
# The builder compiles exactly what `cargo build --release --locked` gives outside Docker.
# `tests/image.rs` assembles this build context (honouring .dockerignore and the COPY lines
# below) and runs `cargo check --locked --offline` in it, so a file the build reads but the
# context lacks fails the test suite, not the first real `docker build`.

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /app

# Dependencies first, against placeholder sources, so editing the code does not rebuild them.
# The workspace's member crates (crates/) get placeholders too.
COPY Cargo.toml Cargo.lock ./
COPY crates/calls/Cargo.toml ./crates/calls/
COPY crates/sandbox/Cargo.toml ./crates/sandbox/
COPY crates/bench/Cargo.toml ./crates/bench/
COPY crates/cli/Cargo.toml ./crates/cli/
RUN mkdir -p src crates/calls/src crates/sandbox/src crates/bench/src crates/cli/src \
    && echo 'fn main() {}' > crates/cli/src/main.rs \
    && touch src/lib.rs crates/calls/src/lib.rs crates/sandbox/src/lib.rs crates/bench/src/lib.rs crates/cli/src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src crates/calls/src crates/sandbox/src crates/bench/src crates/cli/src

# The real sources. `sqlx::migrate!` embeds migrations/ at compile time; the benchmark
# drivers (crates/bench) and the sandbox (crates/sandbox) embed documents from examples/ and
# tests/fixtures/ with `include_str!`. The binary is crates/cli's; the integration tests it
# lists (tests/*.rs) are not needed to build it.
COPY migrations ./migrations
COPY examples ./examples
COPY tests/fixtures ./tests/fixtures
COPY crates ./crates
COPY src ./src
# Cargo compares timestamps: make sure the placeholders' build outputs are seen as stale.
RUN touch src/lib.rs crates/calls/src/lib.rs crates/sandbox/src/lib.rs crates/bench/src/lib.rs \
        crates/cli/src/lib.rs crates/cli/src/main.rs \
    && cargo build --release --locked \
    && strip target/release/flowsmith

FROM debian:bookworm-slim
# DL3008 (pin apt versions) is ignored on purpose: Debian drops superseded versions from its
# mirror, so a pinned ca-certificates breaks the build at its next security update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 flowsmith \
    && useradd --system --uid 10001 --gid flowsmith --home-dir /data --shell /usr/sbin/nologin flowsmith \
    && mkdir -p /data \
    && chown 10001:10001 /data
COPY --from=builder /app/target/release/flowsmith /usr/local/bin/flowsmith

ENV FLOWSMITH_LISTEN=0.0.0.0:8080 FLOWSMITH_DATABASE_URL=sqlite:///data/flowsmith.db FLOWSMITH_LOG_FORMAT=json
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001

# No curl in the image: the binary checks itself (GET /healthz on the FLOWSMITH_LISTEN port).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["flowsmith", "healthcheck"]
# SIGTERM (docker stop) drains requests for FLOWSMITH_SHUTDOWN_GRACE_SECS (30 s by default);
# give `docker stop --time` / compose `stop_grace_period` a little more than that.
STOPSIGNAL SIGTERM
ENTRYPOINT ["flowsmith"]
CMD ["serve"]
