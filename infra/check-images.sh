#!/usr/bin/env sh
# Builds both images and runs `hrpipe doctor` and `hrpipe --version` inside each, where a Docker
# engine answers; prints that it skipped where none does (CI's machines have none).
# Usage: sh infra/check-images.sh
set -eu
cd "$(dirname "$0")/.."
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "check-images: skipped: no Docker engine answers here (docker info failed); run it where one does."
  exit 0
fi
# doctor checks Redis too: a private one on a private network, removed on exit.
docker network create hrpipe-check >/dev/null
trap 'docker rm -f hrpipe-check-redis >/dev/null 2>&1; docker network rm hrpipe-check >/dev/null 2>&1' EXIT
docker run -d --rm --name hrpipe-check-redis --network hrpipe-check redis:7.4.2-alpine \
  redis-server --maxmemory-policy noeviction >/dev/null
doctor() {
  docker run --rm --network hrpipe-check -e REDIS_URL=redis://hrpipe-check-redis:6379 \
    -e STORAGE_URL=file:///tmp/hrpipe "$@" doctor
}

docker build -f infra/Dockerfile -t hrpipe:check .
docker run --rm hrpipe:check --version
doctor hrpipe:check

docker build -f infra/Dockerfile.gpu --build-arg APP_IMAGE=hrpipe:check -t hrpipe-gpu:check .
docker run --rm hrpipe-gpu:check --version
# With the NVIDIA runtime the CUDA provider loads and doctor lists it; without, doctor says it is absent.
if docker info --format '{{json .Runtimes}}' | grep -q nvidia; then doctor --gpus all hrpipe-gpu:check; else doctor hrpipe-gpu:check; fi
echo "check-images: both images built and answered"
