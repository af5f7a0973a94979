#!/usr/bin/env bash
# The main job on the bundled example with embedded defaults: lint and plan
# examples/hello-service. Grows into the full run-and-promote story as the runner lands.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --locked -p slipway-cli
slipway=./target/debug/slipway
pipeline=examples/hello-service/slipway.yml
echo "\$ slipway lint --file $pipeline"
"$slipway" lint --file "$pipeline"
echo
echo "\$ slipway plan --file $pipeline --changed-files src/main.rs"
"$slipway" plan --file "$pipeline" --changed-files src/main.rs
echo
echo "\$ slipway plan --file $pipeline --changed-files README.md"
"$slipway" plan --file "$pipeline" --changed-files README.md
