#!/usr/bin/env bash
# clang-tidy over every production source (src/ and tools/, tests excluded) with the repo's
# .clang-tidy; any warning fails. Needs a build directory configured with clang (its
# compile_commands.json): scripts/tidy.sh [BUILD_DIR, default build-san] [FILE_REGEX].
# scripts/test.sh runs it on the sanitizer build; by hand, a subpath narrows it:
#   scripts/tidy.sh build-san src/virtio/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build-san}
subpath=${2:-(src|tools)/}
[[ -f $dir/compile_commands.json ]] || { echo "tidy: no $dir/compile_commands.json" >&2; exit 2; }
# Sources only, not the tests, fuzzers or benchmarks (those are held to -Wall -Wextra -Werror).
root_re=$(printf '%s' "$root" | sed 's/[][\\.*^$+?(){}|]/\\&/g')  # the checkout path, literally
regex="^$root_re/${subpath}(?!.*_test\\.cpp$).*\\.cpp$"
exec run-clang-tidy-19 -quiet -p "$dir" -j "$(nproc)" -clang-tidy-binary clang-tidy-19 "$regex"
