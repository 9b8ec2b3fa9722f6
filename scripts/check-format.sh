#!/usr/bin/env bash
# Fails if any C++ source differs from clang-format's output (.clang-format at the root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bad=$(git ls-files '*.cpp' '*.hpp' | xargs -r clang-format --dry-run -Werror 2>&1 | grep -o '^[^:]*' | sort -u || true)
if [[ -n $bad ]]; then
  echo "clang-format would change:"; echo "$bad"
  echo "fix with: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i"
  exit 1
fi
echo "format: clean"
