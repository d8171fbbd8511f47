#!/usr/bin/env bash
# The example pipeline, offline, from one command (see examples/README.md):
#
#   examples/run.sh [WORKDIR]
#
# An external Hugging Face-style model and a dataset are taken in as
# untrusted, a model is fine-tuned from them with provenance, and every
# hand-off passes a gate whose decision is a signed VSA in the artifact's
# claims. Model files are generated at run time by examples/mkfixtures.
# Set MLSEC to a built binary to skip `go run` for each step.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d "${TMPDIR:-/tmp}/mlsec-example.XXXXXX")}
mkdir -p "$WORK"

mlsec() {
	if [ -n "${MLSEC:-}" ]; then "$MLSEC" "$@"; else go run ./cmd/mlsec "$@"; fi
}
step() { printf '\n\033[1m== %s\033[0m\n$ mlsec %s\n' "$1" "${*:2}"; mlsec "${@:2}"; }
expect_fail() {
	printf '\n\033[1m== %s (expected to fail)\033[0m\n$ mlsec %s\n' "$1" "${*:2}"
	if mlsec "${@:2}"; then echo "example: this step should have failed" >&2; exit 1; fi
}

go run ./examples/mkfixtures init "$WORK"
P=$WORK/pipeline.yaml K=$WORK/keys U=$WORK/upstream M=$WORK/models/sentiment
echo "example workspace: $WORK"

step "Roles: who signs what" roles --pipeline "$P"
step "The organisation's own policy has tests" policy test "$WORK/policies"

# Intake: quarantine, scan, verify the upstream signature, re-sign, record provenance.
step "Intake the base model (security engineering)" intake "$U/tiny-bert" --pipeline "$P" \
	--source https://huggingface.co/tiny-org/tiny-bert --upstream-key "$WORK/upstream-keys/tiny-org.pub" --key "$K/security.pem"
step "Intake the dataset (data engineering)" intake "$U/reviews" --pipeline "$P" --kind dataset \
	--source https://huggingface.co/datasets/tiny-org/reviews --key "$K/data.pem"
expect_fail "Intake a model whose pickle runs a command" intake "$U/evil-bert" --pipeline "$P" \
	--source https://huggingface.co/tiny-org/evil-bert --key "$K/security.pem"

# A gate at each stage.
step "Data engineering gate" gate --stage data --pipeline "$P" --key "$K/data.pem" "$U/reviews"
step "Experimentation gate" gate --stage experimentation --pipeline "$P" --key "$K/security.pem" "$U/tiny-bert"

# Fine-tune with provenance and evaluation.
printf '\n\033[1m== Fine-tune (a deterministic stand-in for training)\033[0m\n'
go run ./examples/mkfixtures finetune "$U/tiny-bert" "$U/reviews" "$M"
step "Sign the fine-tuned model (CI)" sign "$M" --key "$K/platform.pem"
step "Record its provenance" attest provenance --model "$M" --dataset "$U/reviews" --base-model "$U/tiny-bert" \
	--code git+https://git.acme.example/ml/sentiment@0123456789abcdef0123456789abcdef01234567 \
	--config "$WORK/train-config.yaml" --builder-id https://ci.acme.example/runners/gpu --run-type fine-tuning --key "$K/platform.pem"
step "Record its evaluation" attest eval --metrics "$WORK/metrics.json" --threshold 'accuracy>=0.9' --key "$K/platform.pem" "$M"
step "Record its AI-BOM" attest bom --key "$K/platform.pem" "$M"
step "CI gate" gate --stage ci --pipeline "$P" --key "$K/platform.pem" "$M"

# The deployment gate: released only when verified, signed, with provenance and a passing CI decision.
step "Deployment gate (model owner)" gate --stage cd --pipeline "$P" --key "$K/owner.pem" "$M"
step "Serving gate: verify at load" gate --stage serving --pipeline "$P" --key "$K/platform.pem" "$M"

step "Maturity scorecard" assess --pipeline "$P"
mlsec assess --pipeline "$P" --format html >"$WORK/scorecard.html"
mlsec frameworks coverage --pipeline "$P" --format html >"$WORK/coverage.html"

# Tampering after release is caught at load.
printf '\x01' | dd of="$M/model.safetensors" bs=1 seek=100 conv=notrunc status=none
expect_fail "Serving gate after the weights were tampered with" gate --stage serving --pipeline "$P" --key "$K/platform.pem" "$M"

printf '\nDone. Reports: %s/scorecard.html, %s/coverage.html; claims: %s/claims.jsonl\n' "$WORK" "$WORK" "$M"
