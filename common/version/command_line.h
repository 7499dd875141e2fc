#pragma once

// Command-line parsing every SalesOps binary built on Abseil flags shares (the
// services through ParseFlags in common/server/flags.h, salesops-bench
// directly; DECISIONS D44):
//
//   --version    prints VersionText(<binary>) (build_info.h) and exits 0.
//   --help       prints the usage line and every flag the binary defines (the
//                common service flags, the service's own, the bench's), each
//                with its help text and default, grouped by the file that
//                defines it (paths relative to the source root), and exits 0.
//                Abseil's own flags (--flagfile, --fromenv, ...) are left out;
//                --helpfull lists them too.
//   --helpshort  the same as --help.
//   --helpfull, --helpmatch=S, --helpon=F, --helppackage: Abseil's, exit 0.
//
// <binary> is the last path component of argv[0].

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace salesops {

// Sets the program usage message (`usage`: "what the binary is", one line;
// only the first call's counts) and Abseil's usage configuration, then parses
// the command line: exits 0 after a help or version flag, 1 on an unknown flag
// or a bad value (Abseil's message on stderr). Returns the positional
// arguments (argv[0] first).
std::vector<char*> ParseCommandLineWithUsage(int argc, char** argv,
                                             const char* usage);

// Abseil's normalize_filename as configured: a flag's defining file relative
// to the source root ("common/server/flags.cc"), whether the compiler saw it
// as an absolute path or as one relative to the build directory
// ("../../../common/server/flags.cc"). Exposed for tests.
std::string NormalizeFlagFilename(absl::string_view filename);

}  // namespace salesops
