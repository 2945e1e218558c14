// The stop flag: a real SIGTERM/SIGINT sets it and the process carries on (the trainer then
// saves and exits with 128+signal).
#include <csignal>

#include "catch.h"
#include "ptm/core/signals.h"

TEST_CASE("SIGTERM and SIGINT raise the stop flag instead of killing", "[unit][core]") {
  ptm::signals::clear_stop();
  ptm::signals::install_stop_handlers();
  CHECK_FALSE(ptm::signals::stop_requested());
  std::raise(SIGTERM);
  CHECK(ptm::signals::stop_requested());
  CHECK(ptm::signals::stop_signal() == SIGTERM);
  ptm::signals::clear_stop();
  std::raise(SIGINT);
  CHECK(ptm::signals::stop_signal() == SIGINT);
  ptm::signals::clear_stop();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}
