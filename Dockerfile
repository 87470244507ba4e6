# syntax=docker/dockerfile:1.7
# One build stage for every binary, then one minimal image per binary:
#   docker build --target admission -t <registry>/yeyak-admission:<tag> .
# (`make image` builds them all). The runtime images have no shell and no
# package manager, and run as a numeric non-root user.

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
# Every binary in one release build (fat LTO, see Cargo.toml): the shared
# crates compile once. The cache mounts keep crates.io downloads and the
# target directory between builds on the same builder.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        -p admission -p identity -p eligibility -p inventory -p reservation -p notification \
        -p mock-registry -p mock-idp -p mock-sms -p edge \
    && mkdir -p /out \
    && cp target/release/yeyak-admission target/release/yeyak-identity target/release/yeyak-eligibility \
          target/release/yeyak-inventory target/release/yeyak-reservation target/release/yeyak-notification \
          target/release/yeyak-mock-registry target/release/yeyak-mock-idp target/release/yeyak-mock-sms \
          target/release/yeyak-edge target/release/yeyak-static /out/

# glibc and libgcc only (the binaries link them); "nonroot" is uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="yeyak" \
      org.opencontainers.image.description="Surge-proof national appointment booking" \
      org.opencontainers.image.source="https://github.com/yeyak/yeyak" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
USER 65532:65532

FROM runtime AS admission
LABEL org.opencontainers.image.title="yeyak-admission"
COPY --from=build /out/yeyak-admission /usr/local/bin/yeyak-admission
ENTRYPOINT ["/usr/local/bin/yeyak-admission"]

FROM runtime AS identity
LABEL org.opencontainers.image.title="yeyak-identity"
COPY --from=build /out/yeyak-identity /usr/local/bin/yeyak-identity
ENTRYPOINT ["/usr/local/bin/yeyak-identity"]

FROM runtime AS eligibility
LABEL org.opencontainers.image.title="yeyak-eligibility"
COPY --from=build /out/yeyak-eligibility /usr/local/bin/yeyak-eligibility
ENTRYPOINT ["/usr/local/bin/yeyak-eligibility"]

FROM runtime AS inventory
LABEL org.opencontainers.image.title="yeyak-inventory"
COPY --from=build /out/yeyak-inventory /usr/local/bin/yeyak-inventory
ENTRYPOINT ["/usr/local/bin/yeyak-inventory"]

FROM runtime AS reservation
LABEL org.opencontainers.image.title="yeyak-reservation"
COPY --from=build /out/yeyak-reservation /usr/local/bin/yeyak-reservation
ENTRYPOINT ["/usr/local/bin/yeyak-reservation"]

FROM runtime AS notification
LABEL org.opencontainers.image.title="yeyak-notification"
COPY --from=build /out/yeyak-notification /usr/local/bin/yeyak-notification
ENTRYPOINT ["/usr/local/bin/yeyak-notification"]

FROM runtime AS edge
LABEL org.opencontainers.image.title="yeyak-edge"
COPY --from=build /out/yeyak-edge /usr/local/bin/yeyak-edge
ENTRYPOINT ["/usr/local/bin/yeyak-edge"]

# The page is built outside this file (web/dist, with its own toolchain) and
# baked in where the chart's YEYAK_STATIC_DIR points: build it before this target.
FROM runtime AS static
LABEL org.opencontainers.image.title="yeyak-static"
COPY --from=build /out/yeyak-static /usr/local/bin/yeyak-static
COPY web/dist /usr/share/yeyak/www
ENTRYPOINT ["/usr/local/bin/yeyak-static"]

FROM runtime AS mock-registry
LABEL org.opencontainers.image.title="yeyak-mock-registry"
COPY --from=build /out/yeyak-mock-registry /usr/local/bin/yeyak-mock-registry
ENTRYPOINT ["/usr/local/bin/yeyak-mock-registry"]

FROM runtime AS mock-idp
LABEL org.opencontainers.image.title="yeyak-mock-idp"
COPY --from=build /out/yeyak-mock-idp /usr/local/bin/yeyak-mock-idp
ENTRYPOINT ["/usr/local/bin/yeyak-mock-idp"]

FROM runtime AS mock-sms
LABEL org.opencontainers.image.title="yeyak-mock-sms"
COPY --from=build /out/yeyak-mock-sms /usr/local/bin/yeyak-mock-sms
ENTRYPOINT ["/usr/local/bin/yeyak-mock-sms"]
