# syntax=docker/dockerfile:1
# flowsmith: the REST service and the sandbox org in one small image.
#
#   docker build -t flowsmith .
#   docker run --rm -p 8080:8080 -v flowsmith-data:/data -e FLOWSMITH_API_TOKENS=change-me flowsmith
#
# The builder compiles exactly what `cargo build --release --locked` gives outside Docker.

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /app

# Dependencies first, against placeholder sources, so editing the code does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

# The real sources. `sqlx::migrate!` embeds migrations/ at compile time, so it comes first.
COPY migrations ./migrations
# `serve --sandbox` seeds the org objects the examples name (include_str! in src/sandbox).
COPY examples/sandbox-org.json ./examples/sandbox-org.json
COPY src ./src
# Cargo compares timestamps: make sure the placeholders' build outputs are seen as stale.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && strip target/release/flowsmith

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 flowsmith \
    && useradd --system --uid 10001 --gid flowsmith --home-dir /data --shell /usr/sbin/nologin flowsmith \
    && mkdir -p /data \
    && chown flowsmith:flowsmith /data
COPY --from=builder /app/target/release/flowsmith /usr/local/bin/flowsmith

ENV FLOWSMITH_LISTEN=0.0.0.0:8080 FLOWSMITH_DATABASE_URL=sqlite:///data/flowsmith.db FLOWSMITH_LOG_FORMAT=json
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
USER flowsmith:flowsmith

# No curl in the image: the binary checks itself (GET /healthz on the FLOWSMITH_LISTEN port).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["flowsmith", "healthcheck"]
# SIGTERM (docker stop) drains requests for FLOWSMITH_SHUTDOWN_GRACE_SECS (30 s by default);
# give `docker stop --time` / compose `stop_grace_period` a little more than that.
STOPSIGNAL SIGTERM
ENTRYPOINT ["flowsmith"]
CMD ["serve"]
