#!/usr/bin/env bash
# Re-fetch the vendored Apache ECharts from the npm registry (`npm pack`, the exact pinned
# version), check dist/echarts.min.js against the pinned sha256, and copy it with its LICENSE
# and NOTICE into queue_server/web/static/vendor/echarts/. The halls run on intranets: the
# management pages load ECharts from this server, never from a CDN.
# Usage: scripts/vendor-echarts.sh            (refuses a file whose sha256 differs)
# To move to a new version, change VERSION and SHA256 together, after reviewing the release.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=6.1.0
SHA256=b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0
DEST=queue_server/web/static/vendor/echarts

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "echarts@$VERSION" >/dev/null)
tar -xzf "$work/echarts-$VERSION.tgz" -C "$work"
got=$(sha256sum "$work/package/dist/echarts.min.js" | cut -d' ' -f1)
if [[ $got != "$SHA256" ]]; then
  echo "vendor-echarts: echarts@$VERSION dist/echarts.min.js has sha256 $got, expected $SHA256" >&2
  exit 1
fi
mkdir -p "$DEST"
cp "$work/package/dist/echarts.min.js" "$work/package/LICENSE" "$work/package/NOTICE" "$DEST/"
cp "$work/package/licenses/LICENSE-d3" "$DEST/LICENSE-d3"
echo "vendor-echarts: echarts@$VERSION copied to $DEST (sha256 $got)"
