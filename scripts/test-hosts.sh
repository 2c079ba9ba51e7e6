#!/usr/bin/env bash
# Tests of the CRM host adapters, each with its vendor's own tooling where it installs from npm:
#   - Pipedrive panel (real @pipedrive/app-extensions-sdk), Zoho CRM widget (fake ZOHO), HubSpot app card
#     (@hubspot/ui-extensions/testing renderer): node:test, tests/hosts/
#   - Salesforce Lightning Web Component: @salesforce/sfdx-lwc-jest (Jest), run from the SFDX project
#     folder www/hosts/salesforce (it reads sfdx-project.json from the working directory)
# Needs `npm ci` at the repository root (every tool is a root devDependency). Prints each runner's
# summary, then one "hosts: N passed, N failed" line; exits non-zero when anything failed.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1

for package in @pipedrive/app-extensions-sdk @hubspot/ui-extensions @salesforce/sfdx-lwc-jest react typescript; do
  if [ ! -d "node_modules/$package" ]; then
    echo "test-hosts: node_modules/$package is missing; run 'npm ci' at the repository root first" >&2
    exit 1
  fi
done

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
status=0

echo "== host adapters: Pipedrive, Zoho CRM, HubSpot (node:test) =="
node --test --test-reporter=spec tests/hosts/ 2>&1 | tee "$logs/node.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== host adapters: Salesforce LWC (sfdx-lwc-jest) =="
(cd www/hosts/salesforce && "$root/node_modules/.bin/sfdx-lwc-jest" -- --ci) 2>&1 | tee "$logs/jest.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

count() { # count <file> <pattern with one number group>
  sed -nE "s/$2/\1/p" "$1" | tail -n 1
}
node_pass="$(count "$logs/node.txt" '^ℹ pass ([0-9]+)$')"
node_fail="$(count "$logs/node.txt" '^ℹ fail ([0-9]+)$')"
jest_line="$(grep -E '^Tests:' "$logs/jest.txt" | tail -n 1)"
jest_pass="$(echo "$jest_line" | sed -nE 's/.* ([0-9]+) passed.*/\1/p')"
jest_fail="$(echo "$jest_line" | sed -nE 's/.* ([0-9]+) failed.*/\1/p')"
passed=$(( ${node_pass:-0} + ${jest_pass:-0} ))
failed=$(( ${node_fail:-0} + ${jest_fail:-0} ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # a runner failed before counting (syntax error, missing file): never report it green
fi
echo "hosts: $passed passed, $failed failed"
exit "$status"
