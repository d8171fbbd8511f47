#!/usr/bin/env bash
# Checks the release configuration (.goreleaser.yaml) without publishing:
# goreleaser check, a snapshot release of the full matrix without signing,
# the checksums, every SBOM against the CycloneDX schema, then
# TestGoreleaserSnapshot (internal/integrationtest), which also installs
# the archive with the GitHub Action's install step.
#
# goreleaser and cyclonedx-gomod are built from tools/release (the versions
# its go.mod pins) into a temporary directory, unless MLSEC_GORELEASER names
# a goreleaser binary with cyclonedx-gomod beside it. Building goreleaser
# takes minutes; that is why .ci/run does not run this.
# docs/integrations/releases.md describes it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

t0=$SECONDS
if [[ -n "${MLSEC_GORELEASER:-}" ]]; then
	bindir=$(cd "$(dirname "$MLSEC_GORELEASER")" && pwd)
else
	bindir=$(mktemp -d)
	bindir_tmp=$bindir
	echo "== building goreleaser and cyclonedx-gomod (tools/release)"
	(cd tools/release && go build -o "$bindir/" github.com/goreleaser/goreleaser/v2 github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod)
	echo "built in $((SECONDS - t0)) s"
fi
export PATH="$bindir:$PATH"
[[ -x "$bindir/goreleaser" && -x "$bindir/cyclonedx-gomod" ]] || { echo "goreleaser or cyclonedx-gomod missing in $bindir" >&2; exit 2; }

# A standalone git repository holding the working tree as it is:
# cyclonedx-gomod reads the main module's version from git, which it cannot
# in a git worktree checkout. dist/ is made there.
src=$(mktemp -d)
trap 'rm -rf "$src" ${bindir_tmp:-}' EXIT
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$src" 2>/dev/null || true
(cd "$src" && git init -q && git add -A && git -c user.name=release-check -c user.email=release-check@localhost -c commit.gpgsign=false commit -qm snapshot)
cd "$src"

echo "== goreleaser check"
goreleaser check

echo "== goreleaser release --snapshot (linux/darwin x amd64/arm64, no signing)"
t1=$SECONDS
# The SBOM command runs in dist/ and names the module "..".
goreleaser release --snapshot --clean --skip=sign
echo "snapshot release in $((SECONDS - t1)) s"

echo "== checksums and SBOMs"
(cd dist && sha256sum --check --strict checksums.txt)
(cd "$root" && go build -o "$src/mlsec-bin/mlsec" ./cmd/mlsec)
n=0
for os in linux darwin; do
	for arch in amd64 arm64; do
		a="dist/mlsec_${os}_${arch}.tar.gz"
		[[ -f "$a" && -f "$a.cdx.json" ]] || { echo "missing $a or its SBOM" >&2; exit 1; }
		[[ "$(tar -tzf "$a" | sort | tr '\n' ' ')" == *"mlsec mlsec-scan "* ]] || { echo "$a lacks mlsec or mlsec-scan" >&2; exit 1; }
		"$src/mlsec-bin/mlsec" bom validate "$a.cdx.json"
		n=$((n + 1))
	done
done
echo "$n archives, checksums and SBOMs valid"

echo "== TestGoreleaserSnapshot"
cd "$root"
MLSEC_GORELEASER="$bindir/goreleaser" MLSEC_REQUIRE_GORELEASER=1 go test -count=1 -run 'TestGoreleaserSnapshot|TestReleaseNames|TestActionInstallRelease' ./internal/integrationtest
echo "release check passed in $((SECONDS - t0)) s"
