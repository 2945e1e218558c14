// Async-signal-safe stop flag (a lock-free atomic written from the handler).
#include "ptm/core/signals.h"

#include <atomic>
#include <csignal>

namespace ptm::signals {
namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "handler needs a lock-free flag");

extern "C" void on_stop_signal(int sig) {
  if (g_signal.load() == sig) std::signal(sig, SIG_DFL);  // second time: default action next
  g_signal.store(sig);
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested() { return g_signal.load() != 0; }
int stop_signal() { return g_signal.load(); }
void request_stop(int signal_number) { g_signal.store(signal_number); }
void clear_stop() { g_signal.store(0); }

}  // namespace ptm::signals
