#!/usr/bin/env bash
# Step logic of the mlsec GitHub Action (action.yml at the repository root).
#
#   run.sh plan      says whether install builds from source (output
#                    source=true: action.yml then sets up Go).
#   run.sh install   puts mlsec on PATH: MLSEC_BIN (a binary already on the
#                    runner), else a release (MLSEC_VERSION, or the action's
#                    own tag MLSEC_ACTION_REF) checked against the release's
#                    checksums.txt and, with cosign, its Sigstore bundle,
#                    else a build from the action's own source (ACTION_PATH;
#                    MLSEC_VERSION=source).
#   run.sh run       scans, optionally verifies and gates, writes SARIF, the
#                    job summary and the step outputs.
#
# Inputs arrive as environment variables (action.yml maps them): MLSEC_PATH,
# MLSEC_FAIL_ON, MLSEC_VERIFY, MLSEC_VERIFY_KEY, MLSEC_VERIFY_IDENTITY,
# MLSEC_VERIFY_ISSUER, MLSEC_GATE_STAGE, MLSEC_GATE_KEY, MLSEC_PIPELINE,
# MLSEC_SCAN_CONFIG. GitHub's own variables are used as GitHub sets them:
# GITHUB_WORKSPACE, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_PATH,
# RUNNER_TEMP. docs/integrations/github-action.md describes everything.
set -euo pipefail

die() { echo "::error title=mlsec::$*" >&2; exit 2; }

: "${RUNNER_TEMP:?RUNNER_TEMP is not set (run inside GitHub Actions or set it)}"
: "${GITHUB_WORKSPACE:?GITHUB_WORKSPACE is not set}"

# release_identity is the certificate identity of a release's Sigstore
# signature: the release workflow at the version's tag.
release_identity() {
	echo "${MLSEC_RELEASE_IDENTITY:-https://github.com/mlsecops/mlsec/.github/workflows/release.yml@refs/tags/v$1}"
}

# plan decides how install gets mlsec and prints source=true when it builds
# from source (action.yml then sets up Go first): MLSEC_BIN wins; version
# "source" builds; another version downloads that release; an empty version
# downloads the release named by the action's own ref (MLSEC_ACTION_REF,
# github.action_ref) when that is a release tag vX.Y.Z, else builds (a
# branch or commit of the action is built from that source).
plan() {
	local how
	how=$(install_kind)
	echo "install: ${how}"
	if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
		echo "source=$([[ $how == source ]] && echo true || echo false)" >>"$GITHUB_OUTPUT"
	fi
}

# install_kind prints binary, source or release:VERSION.
install_kind() {
	if [[ -n "${MLSEC_BIN:-}" ]]; then
		echo binary
	elif [[ "${MLSEC_VERSION:-}" == source ]]; then
		echo source
	elif [[ -n "${MLSEC_VERSION:-}" ]]; then
		echo "release:${MLSEC_VERSION#v}"
	elif [[ "${MLSEC_ACTION_REF:-}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
		echo "release:${MLSEC_ACTION_REF#v}"
	else
		echo source
	fi
}

# download_release fetches the release archive for this runner's OS and
# architecture (the names .goreleaser.yaml gives them), checks its sha256
# against the release's checksums.txt and, when cosign is on PATH (or
# MLSEC_RELEASE_SIGNATURE=required), the Sigstore bundle of checksums.txt,
# then unpacks mlsec and mlsec-scan into $2. Nothing is unpacked unless
# every check passed.
download_release() {
	local ver="$1" dir="$2" os arch
	[[ "$ver" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] || die "version $ver is not a release version (X.Y.Z) or source"
	os=$(uname -s | tr '[:upper:]' '[:lower:]')
	case "$os" in linux | darwin) ;; *) die "no release for $os (use version: source)" ;; esac
	case "$(uname -m)" in x86_64 | amd64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) die "no release for $(uname -m) (use version: source)" ;; esac
	local name="mlsec_${os}_${arch}.tar.gz"
	local base="${MLSEC_RELEASE_URL:-https://github.com/mlsecops/mlsec/releases/download}/v${ver}"
	local dl="$RUNNER_TEMP/mlsec-release"
	rm -rf "$dl" && mkdir -p "$dl"
	curl -fsSL --retry 3 "$base/$name" -o "$dl/$name" || die "download $base/$name failed"
	curl -fsSL --retry 3 "$base/checksums.txt" -o "$dl/checksums.txt" || die "download $base/checksums.txt failed"

	local sig="${MLSEC_RELEASE_SIGNATURE:-auto}"
	case "$sig" in auto | required | skip) ;; *) die "release-signature $sig: want auto, required or skip" ;; esac
	if [[ "$sig" == required ]] || { [[ "$sig" == auto ]] && command -v cosign >/dev/null; }; then
		command -v cosign >/dev/null || die "release-signature required but cosign is not on PATH (sigstore/cosign-installer)"
		curl -fsSL --retry 3 "$base/checksums.txt.sigstore.json" -o "$dl/checksums.txt.sigstore.json" || die "download $base/checksums.txt.sigstore.json failed"
		cosign verify-blob --bundle "$dl/checksums.txt.sigstore.json" \
			--certificate-identity "$(release_identity "$ver")" \
			--certificate-oidc-issuer "${MLSEC_RELEASE_ISSUER:-https://token.actions.githubusercontent.com}" \
			"$dl/checksums.txt" || die "checksums.txt of v$ver: Sigstore signature verification failed"
		echo "checksums.txt of v$ver: Sigstore signature verified ($(release_identity "$ver"))"
	else
		echo "checksums.txt of v$ver: signature not verified (cosign is not on PATH; release-signature: $sig)"
	fi

	# Exactly one line for the archive, then sha256sum --check of that line.
	local lines
	lines=$(awk -v n="$name" '$2 == n || $2 == "*" n' "$dl/checksums.txt")
	[[ -n "$lines" && $(wc -l <<<"$lines") == 1 ]] || die "checksums.txt of v$ver has no single entry for $name"
	[[ "$lines" =~ ^[0-9a-f]{64}\ [\ *]"$name"$ ]] || die "checksums.txt of v$ver: malformed entry for $name"
	(cd "$dl" && sha256sum --check --strict --quiet - <<<"$lines") || die "$name of v$ver does not match its sha256 in checksums.txt"
	echo "$name of v$ver: sha256 matches checksums.txt"
	tar -xzf "$dl/$name" -C "$dir" mlsec mlsec-scan || die "unpacking $name failed"
}

install() {
	local dir="$RUNNER_TEMP/mlsec-bin" how
	mkdir -p "$dir"
	how=$(install_kind)
	case "$how" in
	binary)
		[[ -x "$MLSEC_BIN" ]] || die "mlsec-binary $MLSEC_BIN is not an executable file"
		cp "$MLSEC_BIN" "$dir/mlsec"
		;;
	release:*)
		download_release "${how#release:}" "$dir"
		;;
	source)
		[[ -n "${ACTION_PATH:-}" && -f "$ACTION_PATH/go.mod" ]] || die "ACTION_PATH does not hold mlsec's source (go.mod)"
		(cd "$ACTION_PATH" && CGO_ENABLED=0 go build -trimpath -o "$dir/" ./cmd/mlsec ./cmd/mlsec-scan) || die "building mlsec from $ACTION_PATH failed"
		;;
	esac
	"$dir/mlsec" version
	if [[ -n "${GITHUB_PATH:-}" ]]; then echo "$dir" >>"$GITHUB_PATH"; fi
	if [[ -n "${GITHUB_OUTPUT:-}" ]]; then echo "mlsec=$dir/mlsec" >>"$GITHUB_OUTPUT"; fi
}

# md escapes a value for a Markdown table cell.
md() { local s="${1//|/\\|}"; s="${s//$'\n'/ }"; printf '%s' "$s"; }

run() {
	local mlsec="${MLSEC:-mlsec}"
	command -v "$mlsec" >/dev/null || die "mlsec is not on PATH (run the install step first)"
	# Relative paths from the workspace root: SARIF artifact URIs then
	# resolve against the checkout (absolute paths become file:// URIs).
	cd "$GITHUB_WORKSPACE"
	local target="${MLSEC_PATH:-.}"
	[[ -e "$target" ]] || die "path $target does not exist in the workspace"
	local failon="${MLSEC_FAIL_ON:-high}"
	local out="$RUNNER_TEMP/mlsec"
	mkdir -p "$out"
	local sarif="$out/mlsec.sarif" json="$out/scan.json"
	local cfg=()
	[[ -n "${MLSEC_SCAN_CONFIG:-}" ]] && cfg=(--config "$MLSEC_SCAN_CONFIG")

	# Scan once for SARIF (code scanning) and once for JSON (summary); the
	# decision uses --fail-on on the JSON run.
	local rc=0 scan_rc=0
	"$mlsec" scan "${cfg[@]}" --fail-on none --format sarif --output "$sarif" "$target" || die "scan (SARIF) failed"
	"$mlsec" scan "${cfg[@]}" --fail-on "$failon" --format json --output "$json" "$target" || scan_rc=$?
	((scan_rc <= 1)) || die "scan failed (exit $scan_rc)"
	local findings max
	findings=$(jq '[.artifacts[].findings[]] | length' "$json")
	max=$(jq -r '.summary.max_severity' "$json")

	local verify_result=skipped
	if [[ "${MLSEC_VERIFY:-false}" == true ]]; then
		local vargs=()
		[[ -n "${MLSEC_VERIFY_KEY:-}" ]] && vargs+=(--key "$MLSEC_VERIFY_KEY")
		[[ -n "${MLSEC_VERIFY_IDENTITY:-}" ]] && vargs+=(--identity "$MLSEC_VERIFY_IDENTITY")
		[[ -n "${MLSEC_VERIFY_ISSUER:-}" ]] && vargs+=(--issuer "$MLSEC_VERIFY_ISSUER")
		local vrc=0
		"$mlsec" verify "${vargs[@]}" "$target" >"$out/verify.txt" 2>&1 || vrc=$?
		cat "$out/verify.txt"
		case $vrc in 0) verify_result=passed ;; 1) verify_result=failed ;; *) verify_result=error ;; esac
	fi

	local gate_result=skipped gjson="$out/gate.json"
	if [[ -n "${MLSEC_GATE_STAGE:-}" ]]; then
		local gargs=(--stage "$MLSEC_GATE_STAGE" --format json)
		[[ -n "${MLSEC_PIPELINE:-}" ]] && gargs+=(--pipeline "$MLSEC_PIPELINE")
		if [[ -n "${MLSEC_GATE_KEY:-}" ]]; then gargs+=(--key "$MLSEC_GATE_KEY"); else gargs+=(--dry-run); fi
		local grc=0
		"$mlsec" gate "${gargs[@]}" "$target" >"$gjson" 2>"$out/gate.err" || grc=$?
		cat "$out/gate.err" >&2
		if ((grc <= 1)) && jq -e .result "$gjson" >/dev/null 2>&1; then
			gate_result=$(jq -r .result "$gjson")
		else
			gate_result=error
		fi
	fi

	# Job summary.
	{
		echo "## mlsec"
		echo
		echo "| Check | Result |"
		echo "|---|---|"
		echo "| scan (fail on $failon) | $([[ $scan_rc == 0 ]] && echo passed || echo failed): $findings finding(s), highest $max |"
		echo "| verify | $verify_result |"
		echo "| gate ${MLSEC_GATE_STAGE:-} | $gate_result |"
		echo
		if ((findings > 0)); then
			echo "### Findings"
			echo
			echo "| Severity | Rule | Path | Message |"
			echo "|---|---|---|---|"
			jq -r '[.artifacts[].findings[]] | sort_by(.severity) | .[:100][] | [.severity, .rule_id, .path, .message] | @tsv' "$json" |
				while IFS=$'\t' read -r sev rule path msg; do
					echo "| $(md "$sev") | $(md "$rule") | \`$(md "${path#./}")\` | $(md "$msg") |"
				done
			((findings <= 100)) || echo "| … | | | $((findings - 100)) more in the SARIF file |"
			echo
		fi
		if [[ "$gate_result" != skipped && "$gate_result" != error ]]; then
			echo "### Gate $(md "$MLSEC_GATE_STAGE")"
			echo
			echo "| Rule | Result | Reason |"
			echo "|---|---|---|"
			jq -r '.rules[] | [.rule, .result, .reason] | @tsv' "$gjson" |
				while IFS=$'\t' read -r rule res reason; do echo "| $(md "$rule") | $(md "$res") | $(md "$reason") |"; done
			echo
		fi
	} >>"${GITHUB_STEP_SUMMARY:-/dev/stdout}"

	if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
		{
			echo "sarif-file=$sarif"
			echo "findings=$findings"
			echo "max-severity=$max"
			echo "verify=$verify_result"
			echo "gate=$gate_result"
		} >>"$GITHUB_OUTPUT"
	fi

	((scan_rc == 0)) || { echo "::error title=mlsec scan::$findings finding(s), highest $max (fail-on $failon)"; rc=1; }
	[[ "$verify_result" != failed && "$verify_result" != error ]] || { echo "::error title=mlsec verify::signature verification $verify_result"; rc=1; }
	case "$gate_result" in FAIL | error) echo "::error title=mlsec gate::gate ${MLSEC_GATE_STAGE} $gate_result"; rc=1 ;; esac
	return $rc
}

case "${1:-}" in
plan) plan ;;
install) install ;;
run) run ;;
*) die "usage: run.sh plan|install|run" ;;
esac
