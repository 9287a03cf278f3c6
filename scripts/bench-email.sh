#!/usr/bin/env sh
# Times the email check of a domain with a three-level SPF include tree
# against a DNS server on 127.0.0.1 (examples/bench_email.rs).
# PROFILE=dev skips the release build.
set -eu
cd "$(dirname "$0")/.."
if [ "${PROFILE:-release}" = "dev" ]; then
    cargo run --quiet --example bench_email
else
    cargo run --quiet --release --example bench_email
fi
