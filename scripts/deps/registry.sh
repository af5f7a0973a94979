#!/usr/bin/env bash
# Test tools of slipway-registry: two real registries and an independent client.
#  - docker-registry: the reference distribution registry (2.8.x), which answers the OCI 1.1
#    referrers API with 404, so pushes fall back to the referrers tag schema;
#  - ferro-oci-server (crates.io): a registry that implements the OCI 1.1 referrers API and the
#    OCI-Subject header, for the other path;
#  - skopeo: an independent client that inspects and copies what we push;
#  - htpasswd (apache2-utils): the bcrypt password file of the basic-auth test.
set -euo pipefail
cd "$(dirname "$0")/../.."

tools="${SLIPWAY_TEST_TOOLS:-${CARGO_TARGET_DIR:-$PWD/target}/test-tools}"
ferro_version="1.0.0"

need_apt=()
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v skopeo >/dev/null || need_apt+=(skopeo)
command -v htpasswd >/dev/null || need_apt+=(apache2-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -qq
  # The package's service must not start here: the tests start their own registries.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

ferro_bin="$tools/cargo/bin/ferro-oci-server"
if ! [ -x "$ferro_bin" ] || ! grep -qs "^$ferro_version\$" "$tools/cargo/ferro-oci-server.version"; then
  echo "installing ferro-oci-server $ferro_version"
  mkdir -p "$tools/cargo"
  # A target directory of its own, so this build neither waits for nor invalidates the workspace's.
  CARGO_TARGET_DIR="$tools/cargo/build" \
    cargo install ferro-oci-server --version "$ferro_version" --locked --root "$tools/cargo"
  echo "$ferro_version" >"$tools/cargo/ferro-oci-server.version"
  rm -rf "$tools/cargo/build"
fi
