#!/bin/sh
# make fuzz: each target for RUNS inputs, from its seeds (copied to a
# scratch corpus, so the seeds stay as they are), then every seed and every
# saved crash (fuzz/crashes/<target>/) replayed.  Fails on a crash.
set -u
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-200000}
status=0
for t in rpc app_path; do
    corpus=$(mktemp -d)
    log=$(mktemp)
    cp fuzz/seeds/$t/* "$corpus"/
    echo "fuzz $t: $RUNS runs"
    if ! "$PY" fuzz/fuzz_$t.py -runs="$RUNS" -print_final_stats=1 \
            -artifact_prefix=./crash-$t- "$corpus" >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz $t: FAILED (the input is in ./crash-$t-*)"
        status=1
    else
        grep -E "^(Done|stat::number_of_executed_units)" "$log"
    fi
    mkdir -p fuzz/crashes/$t
    if ! "$PY" fuzz/fuzz_$t.py -runs=0 fuzz/seeds/$t fuzz/crashes/$t \
            >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz $t: a seed or a saved crash fails"
        status=1
    fi
    rm -rf "$corpus" "$log"
done
exit $status
