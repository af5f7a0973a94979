#!/usr/bin/env bash
# The main job on the bundled example with embedded defaults: examples/hello-service becomes a
# repository of its own (as a user's service would be), then Slipway lints it, shows the plan,
# and runs its pipeline for real: fmt, clippy, tests and the release build in clean
# workspaces, with history under the example's .slipway/; then it lists the artifact the run
# packaged and verifies it (digests, signatures, provenance, SBOM against the contents).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --locked -p slipway-cli
slipway="$PWD/target/debug/slipway"

repo="${SLIPWAY_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/slipway-demo.XXXXXX")}"
mkdir -p "$repo"
cp -R examples/hello-service/. "$repo/"
rm -rf "$repo/target" "$repo/.slipway"
cd "$repo"
if [ ! -d .git ]; then
  git init -q -b main
  git config user.email "demo@slipway.invalid"
  git config user.name "Slipway demo"
fi
git add -A
git commit -q -m "hello-service" --allow-empty

step() { printf '\n$ %s\n' "$*"; }
step slipway lint
"$slipway" lint
step slipway plan
"$slipway" plan --changed-files src/main.rs
step slipway run
"$slipway" run
step slipway runs
"$slipway" runs
# The run packaged the service as an OCI image and signed its evidence; tags are <commit>-<run>.
tag="$(git rev-parse HEAD)-1"
step slipway artifact ls
"$slipway" artifact ls
step slipway verify "$tag"
"$slipway" verify "$tag"
printf '\nThe example repository is %s (its run history is in .slipway/).\n' "$repo"
