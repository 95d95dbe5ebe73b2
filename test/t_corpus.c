/* See LICENSE file for copyright and license details. */
/*
 * Replays test/corpus/ (under $TOP) through both fuzz targets' checks
 * with a plain main: every crash the fuzzers once found stays fixed.
 */
#define FUZZ_REPLAY
#include "fuzz.c"
