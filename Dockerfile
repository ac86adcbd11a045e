# A small image with istio-tui installed, for in-cluster load pods (`istio-tui traffic URL --in-cluster N`).
# Build: make image (docker or podman). The entry point is istio-tui; the Job passes the subcommand as args.
# The build stage installs into a virtualenv that the final stage copies whole, so no wheel is left in a layer.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY tui ./tui
COPY manifests ./manifests
RUN python -m venv /opt/istio-tui && /opt/istio-tui/bin/pip install --no-cache-dir . \
    && /opt/istio-tui/bin/pip uninstall --yes pip setuptools

FROM python:3.11-slim
RUN useradd --uid 10001 --create-home istio-tui
COPY --from=build /opt/istio-tui /opt/istio-tui
ENV PATH=/opt/istio-tui/bin:$PATH
USER 10001
ENTRYPOINT ["istio-tui"]
CMD ["--help"]
