// Package integrationtest runs mlsec's integrations the way their hosts do:
// the pre-commit hooks (.pre-commit-hooks.yaml) through the real pre-commit
// tool on a temporary git repository, and the GitHub Action's step script
// (.github/actions/mlsec/run.sh) with the environment GitHub Actions sets.
// It holds tests only.
package integrationtest
