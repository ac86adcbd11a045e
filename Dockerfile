# A small image with istio-tui installed, for in-cluster load pods (`istio-tui traffic URL --in-cluster N`).
# Build: make image (docker or podman). The entry point is istio-tui; the Job passes the subcommand as args.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY tui ./tui
COPY manifests ./manifests
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --uid 10001 --create-home istio-tui
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
ENTRYPOINT ["istio-tui"]
CMD ["--help"]
