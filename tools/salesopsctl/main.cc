// salesopsctl: the command-line client of the suite (see cli.h for flags and
// tools/salesopsctl/README in docs/API.md for examples).

#include <iostream>

#include "tools/salesopsctl/cli.h"

int main(int argc, char** argv) {
  return salesops::ctl::Main(argc, argv, std::cout, std::cerr);
}
