#!/usr/bin/env bash
# Checks and unit-tests the alerting rules (make test-alerts):
#   1. promtool check rules config/prometheus/rules/aipm.rules.yaml
#   2. promtool test rules  config/prometheus/rules/aipm.rules_test.yaml
#   3. config/prometheus/prometheus_rule.yaml spec.groups == the rule file's
#      groups (go run ./hack/rulesync)
# Installs promtool from Debian's prometheus package when it is missing and
# the script runs as root; otherwise says what to install.
set -euo pipefail

cd "$(dirname "$0")/.."

RULES=config/prometheus/rules/aipm.rules.yaml
TESTS=config/prometheus/rules/aipm.rules_test.yaml
PROMRULE=config/prometheus/prometheus_rule.yaml

if ! command -v promtool >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "check-alerts: promtool not found; installing Debian's prometheus package (ships /usr/bin/promtool)"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
	else
		echo "check-alerts: promtool not found. Install it, then re-run:" >&2
		echo "  Debian/Ubuntu: sudo apt-get install prometheus   (ships /usr/bin/promtool)" >&2
		echo "  or take promtool from a Prometheus release: https://prometheus.io/download/" >&2
		exit 1
	fi
fi
echo "check-alerts: $(promtool --version 2>&1 | head -n1)"

promtool check rules "$RULES"
promtool test rules "$TESTS"
go run ./hack/rulesync -rules "$RULES" -prometheusrule "$PROMRULE"

rules=$(grep -cE '^[[:space:]]*- (alert|record):' "$RULES")
tests=$(grep -cE '^  - name:' "$TESTS")
evals=$(grep -cE '^[[:space:]]*- eval_time:' "$TESTS")
echo "check-alerts: OK: ${rules} rules valid; ${tests} promtool test cases (${evals} alert evaluations) passed; ${PROMRULE} in sync with ${RULES}"
