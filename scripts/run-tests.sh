#!/usr/bin/env bash
# Runs the compiled tests in two tiers, the unit tier first:
#   unit: test/unit/**/*.test.ts, with no S3 or PostgreSQL server (S3_ENDPOINT and HOIST_TEST_PG_URL
#         are taken away, so a unit test that starts needing one fails loudly), two files at a time;
#   s3:   every other test/**/*.test.ts, against the local S3 server (with-s3.sh starts one unless
#         S3_ENDPOINT points at one) and a PostgreSQL server (with-pg.sh starts one unless
#         HOIST_TEST_PG_URL points at one), one file at a time: they share the servers and the 2 cores.
# Usage: run-tests.sh [--unit | --s3] [build/test/…/NAME.test.js …]
# With no files, every test in the sources (not build/, where a moved test leaves its old .js behind).
# Both tiers always run; the exit status is non-zero if either failed, and when both ran the last
# lines are the totals of the two, in the form of node's own summary ("# pass N", "# fail N").
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
cd "$HERE/.."

tier=all
case ${1:-} in
  --unit) tier=unit; shift ;;
  --s3) tier=s3; shift ;;
esac
files=("$@")
if ((${#files[@]} == 0)); then mapfile -t files < <(find test -name '*.test.ts' | sort | sed -E 's#^(.*)\.ts$#build/\1.js#'); fi
unit=()
s3=()
for f in "${files[@]}"; do
  case /$f in
    */test/unit/*) unit+=("$f") ;;
    *) s3+=("$f") ;;
  esac
done
[[ $tier == s3 ]] && unit=()
[[ $tier == unit ]] && s3=()

# Node's default reporter (spec on a terminal, TAP otherwise) on stdout, and TAP into a file for the totals.
RESULTS=build/test-results
mkdir -p "$RESULTS"
if [[ -t 1 ]]; then shown=spec; else shown=tap; fi
reporters() { echo --test-reporter="$shown" --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$RESULTS/$1.tap"; }

# The tests' temporary folders (os.tmpdir()) go in one folder per run, removed when the run ends:
# left in /tmp, a few thousand of them a day (up to 1 GiB each) filled this machine's disk.
# HOIST_KEEP_TEMP=1 keeps it, to look at what a failed test left.
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hoist-tests-XXXXXX")
chmod 1777 "$TEST_TMP" # as /tmp is: a test's own PostgreSQL cluster runs as the postgres user, in a folder below it
if [[ ${HOIST_KEEP_TEMP:-} == 1 ]]; then echo "test temporary files kept in $TEST_TMP"; else trap 'rm -rf "$TEST_TMP"' EXIT; fi

ran=()
rc=0
if ((${#unit[@]})); then
  rm -f "$RESULTS/unit.tap"
  # shellcheck disable=SC2046
  env -u S3_ENDPOINT -u AWS_ENDPOINT_URL_S3 -u HOIST_TEST_PG_URL NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost TMPDIR="$TEST_TMP" \
    node --test --test-concurrency=2 $(reporters unit) "${unit[@]}" || rc=1
  ran+=(unit)
fi
if ((${#s3[@]})); then
  rm -f "$RESULTS/s3.tap"
  # shellcheck disable=SC2046
  # The servers keep the caller's TMPDIR: one kept running (HOIST_KEEP_S3) outlives this run's folder.
  bash "$HERE/with-s3.sh" bash "$HERE/with-pg.sh" env TMPDIR="$TEST_TMP" node --test --test-concurrency=1 $(reporters s3) "${s3[@]}" || rc=1
  ran+=(s3)
fi

if ((${#ran[@]} > 1)); then
  # Each tier's closing summary (the last value of each line in its TAP), added up.
  taps=()
  for t in "${ran[@]}"; do
    taps+=("$RESULTS/$t.tap")
    [[ -s $RESULTS/$t.tap ]] || echo '# fail 1' >"$RESULTS/$t.tap" # it wrote no results: count that as a failure
  done
  echo "# totals of the ${ran[*]} tiers"
  awk '
    /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) [0-9.]+$/ { last[FILENAME, $2] = $3 }
    END {
      n = split("tests suites pass fail cancelled skipped todo duration_ms", names, " ")
      for (i = 1; i <= n; i++) {
        sum = 0
        for (k in last) { split(k, p, SUBSEP); if (p[2] == names[i]) sum += last[k] }
        printf "# %s %s\n", names[i], sum
      }
    }' "${taps[@]}"
fi
exit $rc
