/* The daemon (`ezlb run`): see src/daemon.c. Its entry point is cmd_run() in cli.h. */
#pragma once
#include "cli.h"
