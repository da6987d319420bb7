#!/usr/bin/env bash
# Makes the Lambda python3.11 image `sam local invoke` runs the functions in, tagged $IMAGE:
# 1. AWS's published image (public.ecr.aws/lambda/python:3.11) when it can be pulled: a developer's machine with
#    a normal Docker, macOS with Docker Desktop alone included.
# 2. Otherwise (no registry reachable; always in CI, and with SAGEWATCH_OFFLINE_IMAGE=1) a stand-in built
#    offline: Debian bookworm (its python3 is 3.11) from debootstrap, the awslambdaric and boto3 wheels in
#    /var/runtime, and a /var/runtime/bootstrap that runs the handler through the runtime interface client.
#    It is labelled with a hash of its inputs and rebuilt only when they change.
set -euo pipefail
IMAGE="${SAGEWATCH_LAMBDA_IMAGE:-sagewatch/lambda-python3.11:local}"
AWS_IMAGE="public.ecr.aws/lambda/python:3.11"
PIP="${PIP:-python3 -m pip}"
RIC_VERSION="4.2.2"
BOTO3_VERSION="1.43.108"

if [ "${CI:-}" != "true" ] && [ -z "${SAGEWATCH_OFFLINE_IMAGE:-}" ]; then
  limit=""
  command -v timeout >/dev/null && limit="timeout 180"  # macOS has no timeout(1): docker's own limits apply
  if $limit docker pull --quiet "$AWS_IMAGE" >/dev/null 2>&1; then
    docker tag "$AWS_IMAGE" "$IMAGE"
    echo "using AWS's $AWS_IMAGE as $IMAGE"
    exit 0
  fi
  echo "cannot pull $AWS_IMAGE: building an offline stand-in instead" >&2
fi

sha() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi; }
inputs_hash=$(printf '%s\n' "$RIC_VERSION" "$BOTO3_VERSION" "$(sha < "$0")" | sha | cut -c1-16)

if [ "$(docker image inspect -f '{{ index .Config.Labels "sagewatch.inputs" }}' "$IMAGE" 2>/dev/null || true)" = "$inputs_hash" ]; then
  echo "lambda image $IMAGE is current ($inputs_hash)"
  exit 0
fi
command -v debootstrap >/dev/null || {
  echo "lambda-image.sh: cannot pull $AWS_IMAGE and debootstrap is not installed to build a stand-in" >&2
  echo "  (on Debian/Ubuntu: apt-get install debootstrap; elsewhere: make the registry reachable)" >&2
  exit 1
}
rootfs=$(mktemp -d /tmp/sagewatch-lambda-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "building $IMAGE in $rootfs (debootstrap bookworm, about a minute)"
debootstrap --variant=minbase --include=python3,ca-certificates bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
$PIP install --quiet --disable-pip-version-check --target "$rootfs/var/runtime" --python-version 3.11 \
  --only-binary=:all: --platform manylinux2014_x86_64 --implementation cp \
  "awslambdaric==$RIC_VERSION" "boto3==$BOTO3_VERSION" 2>&1 | grep -v -e '^WARNING' -e 'dependency resolver' -e 'requires boto3' || true
cat > "$rootfs/var/runtime/bootstrap" <<'BOOT'
#!/bin/sh
export PYTHONPATH="/var/runtime:/var/task:/opt/python${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 -m awslambdaric "$_HANDLER"
BOOT
chmod +x "$rootfs/var/runtime/bootstrap"
mkdir -p "$rootfs/var/task" "$rootfs/opt"
tar -C "$rootfs" -c . | docker import \
  -c 'ENTRYPOINT ["/var/runtime/bootstrap"]' -c 'WORKDIR /var/task' \
  -c 'ENV LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime LANG=C.UTF-8' \
  -c "LABEL sagewatch.inputs=$inputs_hash" - "$IMAGE" >/dev/null
echo "built $IMAGE ($inputs_hash)"
