/*
 * agbench's report: a summary for people on stderr and one JSON line on
 * stdout, whose names docs/benchmarks.md and tools/bench/compare.sh use.
 */
#ifndef AG_AGBENCH_REPORT_H
#define AG_AGBENCH_REPORT_H

#include "tools/agbench_run.h"

/* Prints the report of res (borrowed) for the run of o (borrowed); label
 * (borrowed) is copied into the JSON line; quiet leaves out the summary. */
void agbench_report(const struct agbench_opts *o,
    const struct agbench_result *res, const char *label, int quiet);

#endif
