#!/usr/bin/env bash
# Summarise the sanitizer logs of `make sanitize` (folder $1): exit 1 and show them when
# any holds an error (AddressSanitizer, UndefinedBehaviorSanitizer); count the known
# warning that ASan ignores a no-return on a SystemC coroutine stack.
set -euo pipefail
dir=${1:?usage: sanitizer_reports.sh REPORT_DIR}
shopt -s nullglob
logs=("$dir"/*)
errors=()
for f in "${logs[@]}"; do
  if grep -qE "ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer" "$f"; then
    errors+=("$f")
  fi
done
if ((${#errors[@]})); then
  echo "sanitize: ${#errors[@]} sanitizer error report(s):"
  for f in "${errors[@]}"; do echo "== $f"; cat "$f"; done
  exit 1
fi
warned=0
((${#logs[@]})) && warned=$(grep -l "ignoring requested __asan_handle_no_return" "${logs[@]}" | wc -l)
echo "sanitize: no AddressSanitizer or UndefinedBehaviorSanitizer error" \
  "(${warned} process(es) warned that ASan ignores a no-return on a coroutine stack)"
