# cubelab: one static binary and the shipped stimulus sets.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/server ./cmd/server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 cubelab
WORKDIR /app
COPY --from=build /out/server /app/server
COPY assets/stimuli /app/assets/stimuli
USER cubelab
ENV ADDR=:8080 CUBELAB_STIMULI=/app/assets/stimuli
EXPOSE 8080
ENTRYPOINT ["/app/server"]
CMD ["serve", "-demo"]
