# The exporter's container image, for the optional in-cluster deployment in
# k8s/ (docs/kubernetes.md). Debian bookworm, the same packages as the host
# build; the runtime stage has only the libraries the binary links.
#
#   docker buildx build --platform linux/arm64 -t joelclaw-exporter:0.1.0 --load .
#   docker buildx build --platform linux/amd64 -t joelclaw-exporter:0.1.0 --load .
#
# Both stages run on the target platform (no cross-compiler): build each
# architecture on a machine of that architecture, or let buildx emulate it.
# scripts/check-image.py (CTests image_packages and image_runtime_libs) keeps
# the build stage's packages equal to scripts/setup-deps.sh's BUILD_PKGS and
# the runtime stage's to the packages of the libraries the built binary needs.

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      build-essential cmake pkg-config \
      prometheus-cpp-dev libcivetweb-dev civetweb libssl-dev \
      libyaml-cpp-dev libcurl4-openssl-dev libspdlog-dev nlohmann-json3-dev \
      zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what configuring and building the binary reads: a change to the docs
# or the tests does not rebuild it.
COPY CMakeLists.txt ./
COPY exporter/ exporter/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DJOELCLAW_BUILD_TESTS=OFF \
 && cmake --build build --target joelclaw_exporter -j"$(nproc)" \
 && build/joelclaw_exporter version

FROM debian:bookworm-slim
# civetweb opens "libssl.so" and "libcrypto.so" by those names when the
# exporter serves TLS (--web.config.file), and only libssl-dev ships them: two
# links to libssl3's libraries instead. A named user, because ssh (the NAS
# collector) refuses to run for a uid without a passwd entry and looks for
# ~/.ssh in its home.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libprometheus-cpp-core1.0 libcivetweb1 libyaml-cpp0.7 libcurl4 libssl3 \
      libspdlog1.10 libfmt9 libcrypt1 zlib1g \
      ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && libdir="$(dirname "$(dpkg -L libssl3 | grep '/libssl\.so\.3$')")" \
 && ln -s libssl.so.3 "$libdir/libssl.so" \
 && ln -s libcrypto.so.3 "$libdir/libcrypto.so" \
 && groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --home-dir /home/nonroot --create-home \
      --shell /usr/sbin/nologin nonroot
COPY --from=build /src/build/joelclaw_exporter /usr/local/bin/joelclaw_exporter
USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 10042
ENTRYPOINT ["/usr/local/bin/joelclaw_exporter"]
