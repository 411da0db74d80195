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
      prometheus-cpp-dev libcivetweb-dev civetweb libssl-dev libboost-dev \
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
# A named user, because ssh (the NAS collector) refuses to run for a uid
# without a passwd entry and looks for ~/.ssh in its home.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libprometheus-cpp-core1.0 libyaml-cpp0.7 libcurl4 libssl3 \
      libspdlog1.10 libfmt9 libcrypt1 zlib1g \
      ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --home-dir /home/nonroot --create-home \
      --shell /usr/sbin/nologin nonroot
COPY --from=build /src/build/joelclaw_exporter /usr/local/bin/joelclaw_exporter
USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 10042
ENTRYPOINT ["/usr/local/bin/joelclaw_exporter"]
