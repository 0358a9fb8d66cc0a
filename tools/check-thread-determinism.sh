#!/usr/bin/env bash
# Runs each backend-test-layout case (model.onnx + test_data_set_0/input_K.pb)
# with --threads 1 and --threads 2 and checks that the outputs are bitwise
# identical. Usage: tools/check-thread-determinism.sh ONYX CASE_DIR...
set -euo pipefail
onyx=$1
shift
status=0
for dir in "$@"; do
    [ -f "$dir/model.onnx" ] || continue
    inputs=$(ls "$dir"/test_data_set_0/input_*.pb | sort -V)
    one=$(mktemp -d)
    two=$(mktemp -d)
    # shellcheck disable=SC2086
    "$onyx" run "$dir/model.onnx" $inputs --threads 1 --output-dir "$one" >/dev/null
    # shellcheck disable=SC2086
    "$onyx" run "$dir/model.onnx" $inputs --threads 2 --output-dir "$two" >/dev/null
    if diff -r -q "$one" "$two" >/dev/null; then
        echo "identical  $(basename "$dir") ($(ls "$one" | wc -l) outputs)"
    else
        echo "DIFFERENT  $(basename "$dir")"
        status=1
    fi
    rm -rf "$one" "$two"
done
exit $status
