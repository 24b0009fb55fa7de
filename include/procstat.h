/* This process's resource use, for the standard process_* metrics (the names and meanings of
 * the Prometheus client libraries, so that existing dashboards and alerts apply unchanged). */
#pragma once

struct lb_procstat {
	double rss_bytes;          /* resident set size */
	double vsize_bytes;        /* virtual memory size */
	double cpu_seconds;        /* user + system CPU time of the process (not of its children) */
	double start_time_seconds; /* CLOCK_REALTIME seconds since the epoch */
	double open_fds;
	double max_fds;            /* the soft RLIMIT_NOFILE */
};

/* Reads /proc/self/stat (rss, vsize, start time), getrusage (CPU time, microseconds rather than
 * clock ticks), /proc/self/fd (open fds) and RLIMIT_NOFILE.
 *
 * The start time is the kernel's, like the Go client's: starttime of /proc/self/stat (clock ticks
 * after boot) plus btime of /proc/stat. It is computed on the first successful call and then
 * remembered, since it cannot change and /proc/stat grows with the number of CPUs.
 *
 * Open fds: the size that stat(2) reports for /proc/self/fd (the number of open fds, one call, on
 * Linux 6.2 and later), else the directory's entries counted, the reading's own fd excluded, at
 * most LB_PROCSTAT_MAX_FDS (a bound on the time one read can take; the kernel's own default
 * ceiling, fs.nr_open, is the same number).
 *
 * Returns 0 or a negative errno (out is then undefined). Logs nothing: the caller knows what the
 * numbers were for. */
#define LB_PROCSTAT_MAX_FDS (1 << 20)
int lb_procstat_read(struct lb_procstat *out);
