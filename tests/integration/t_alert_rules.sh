#!/bin/bash
# conf/prometheus-alerts.yaml under promtool's rule tests
# (tests/integration/prometheus-alerts.test.yaml): the expiry alert fires
# for a 90-day certificate with 7 days left, and for a 6-day one (a
# short-lived ACME profile, always under 7 days) only once its renewal is
# late, not for its whole life.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || bail "promtool is not installed (apt-get install prometheus)"
promtool test rules "$top_srcdir/tests/integration/prometheus-alerts.test.yaml" >"$T/promtool.log" 2>&1
check "promtool test rules: the expiry alert as the tests expect" test $? -eq 0
sed 's/^/# /' "$T/promtool.log"
done_testing
