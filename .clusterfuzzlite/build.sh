#!/bin/bash -eu
# SPDX-License-Identifier: MIT
# ClusterFuzzLite entry point: the project's OSS-Fuzz build script does the work.
exec "$SRC/gale/fuzz/oss-fuzz/build.sh"
