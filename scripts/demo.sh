#!/usr/bin/env bash
# The main job on the bundled example with embedded defaults: examples/hello-service becomes a
# repository of its own (as a user's service would be), then Slipway lints it, shows the plan,
# and runs its pipeline for real: fmt, clippy, tests and the release build in clean
# workspaces, with history under the example's .slipway/; then it lists the artifact the run
# packaged and verifies it (digests, signatures, provenance, SBOM against the contents).
# Then delivery: `slipway up` serves dev, staging and production through the built-in proxy;
# the digest is promoted dev → staging → production; a second version (built once) follows and
# is canaried into production under a small load, judged by analysis; the environments keep
# serving until Ctrl-C (SLIPWAY_DEMO_EXIT=1 stops after the canary instead).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --locked -p slipway-cli
slipway="$PWD/target/debug/slipway"

repo="${SLIPWAY_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/slipway-demo.XXXXXX")}"
mkdir -p "$repo"
cp -R examples/hello-service/. "$repo/"
# The example's .slipway/ holds its policy overrides; anything else there is state.
rm -rf "$repo/target"
find "$repo/.slipway" -mindepth 1 -maxdepth 1 ! -name policy.yml -exec rm -rf {} +
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

# Delivery. The controllers run in the background; every command below only records intent.
"$slipway" up >"$repo/.slipway/up.log" 2>&1 &
up_pid=$!
load_pids=()
stop() {
  kill "${load_pids[@]}" 2>/dev/null || true
  kill -TERM "$up_pid" 2>/dev/null || true
  wait "$up_pid" 2>/dev/null || true
}
trap stop EXIT
serving() { "$slipway" env status "$1" --json | grep -q "\"serving\": \"$2\""; }
promote() {
  step slipway promote "$1" --to "$2"
  "$slipway" promote "$1" --to "$2"
  digest="$("$slipway" artifact inspect "$1" --json | sed -n 's/^  "digest": "\(.*\)",$/\1/p' | head -n 1)"
  until serving "$2" "$digest"; do
    if "$slipway" rollout status "$2" --json | grep -q '"phase": "\(aborted\|paused\)"'; then
      "$slipway" rollout status "$2"
      exit 1
    fi
    sleep 0.5
  done
  "$slipway" rollout status "$2"
}
for env in dev staging production; do promote "$tag" "$env"; done

# A second version: the same binary, configured differently, so a new digest.
sed -i 's/      entrypoint: \["hello-service"\]/&\n      env: { HELLO_VERSION: "2.0.0-demo" }/' slipway.yml
git commit -q -am "hello-service 2.0.0-demo"
step slipway run --event manual --job build
"$slipway" run --event manual --job build
tag2="$(git rev-parse HEAD)-2"
promote "$tag2" dev
promote "$tag2" staging

# A steady load at production (four clients) while its canary rolls out.
address="$("$slipway" env status production --json | sed -n 's/^  "address": "\(.*\)",$/\1/p')"
for _ in 1 2 3 4; do
  ( while :; do curl -s -o /dev/null "$address/api/hello"; sleep 0.01; done ) &
  load_pids+=("$!")
done
promote "$tag2" production
kill "${load_pids[@]}"
load_pids=()

printf '\nThe example repository is %s (its run history is in .slipway/).\n' "$repo"
for env in dev staging production; do
  printf '%-10s %s\n' "$env" "$("$slipway" env status "$env" --json | sed -n 's/^  "address": "\(.*\)",$/\1/p')"
done
if [ "${SLIPWAY_DEMO_EXIT:-0}" != 1 ]; then
  printf 'serving until Ctrl-C (try: curl %s/api/hello)\n' "$address"
  wait "$up_pid"
fi
