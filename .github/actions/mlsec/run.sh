#!/usr/bin/env bash
# Step logic of the mlsec GitHub Action (action.yml at the repository root).
#
#   run.sh install   puts mlsec on PATH: MLSEC_BIN (a binary already on the
#                    runner), else MLSEC_VERSION (a released binary), else a
#                    build from the action's own source (ACTION_PATH).
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

install() {
	local dir="$RUNNER_TEMP/mlsec-bin"
	mkdir -p "$dir"
	if [[ -n "${MLSEC_BIN:-}" ]]; then
		[[ -x "$MLSEC_BIN" ]] || die "mlsec-binary $MLSEC_BIN is not an executable file"
		cp "$MLSEC_BIN" "$dir/mlsec"
	elif [[ -n "${MLSEC_VERSION:-}" ]]; then
		local os arch url
		os=$(uname -s | tr '[:upper:]' '[:lower:]')
		case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) die "no release for $(uname -m)" ;; esac
		url="${MLSEC_RELEASE_URL:-https://github.com/mlsecops/mlsec/releases/download}/v${MLSEC_VERSION#v}/mlsec_${os}_${arch}.tar.gz"
		curl -fsSL "$url" -o "$RUNNER_TEMP/mlsec.tar.gz" || die "download $url failed"
		tar -xzf "$RUNNER_TEMP/mlsec.tar.gz" -C "$dir" mlsec
	else
		[[ -n "${ACTION_PATH:-}" && -f "$ACTION_PATH/go.mod" ]] || die "ACTION_PATH does not hold mlsec's source (go.mod)"
		(cd "$ACTION_PATH" && CGO_ENABLED=0 go build -trimpath -o "$dir/mlsec" ./cmd/mlsec) || die "building mlsec from $ACTION_PATH failed"
	fi
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
install) install ;;
run) run ;;
*) die "usage: run.sh install|run" ;;
esac
