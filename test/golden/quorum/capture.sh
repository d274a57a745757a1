#!/usr/bin/env bash
# Re-captures the quorum-protocol fixtures of this directory from a real Apache ZooKeeper 3.8.0
# ensemble (Debian's `zookeeper` package, jars in /usr/share/java). See README.md.
set -euo pipefail
cd "$(dirname "$0")/../../.."
npm run build > /dev/null
node dist/test/golden/quorum/capture.js test/golden/quorum
npx prettier --write test/golden/quorum/manifest.json > /dev/null
