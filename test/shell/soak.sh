#!/usr/bin/env bash
# The soak of bench/soak/soak.sh, 60 s (SOAK_SECONDS to change it): mixed
# writers, readers, refreshes, training, random cancels and one kill -9;
# afterwards the aggregate is exact, nothing is lost, no unexpected error,
# no reader's memory grew.
cd "$(dirname "$0")/../.."
SOAK_SECONDS=${SOAK_SECONDS:-60} exec bash bench/soak/soak.sh
