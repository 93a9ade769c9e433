# syntax=docker/dockerfile:1
#
# inkan as a container: one static binary on distroless, running as nonroot.
#
#   docker build -t inkan .
#   docker run --rm -p 8000:8000 -v inkan-data:/data inkan
#
# With no settings it serves on :8000 with SQLite in /data (keep that volume:
# it holds the users and the private signing keys). Every flag has an INKAN_*
# variable, but a flag wins over its variable, so the --addr and --data-dir of
# CMD below cannot be changed by INKAN_ADDR or INKAN_DATA_DIR: pass a new
# command instead (docker run inkan serve --addr :9000 ...).
#
# Health: GET /healthz answers 200 while the process is up; GET /readyz answers
# 200 while the database answers, 503 otherwise. The image has no shell and no
# curl, so a HEALTHCHECK that execs a command cannot work here; probe those
# routes from outside (the load balancer, Kubernetes httpGet probes).

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# Modules first, so that this layer stays cached until a go.mod or go.sum
# changes. verify is a module of its own (go.work, and the replace in go.mod).
COPY go.mod go.sum go.work ./
COPY verify/go.mod verify/go.sum ./verify/
RUN go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /inkan ./cmd/inkan
# An empty /data to copy into the final image owned by nonroot (65532), so
# that a named volume mounted there starts out writable for inkan.
RUN mkdir -p /out/data && chmod 0700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /inkan /inkan
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["/inkan"]
CMD ["serve", "--addr", ":8000", "--data-dir", "/data"]
