// Heartbeats in a c10d store, with ranks as threads of this process (an in-memory HashStore,
// periods of 0.1 s): a rank whose counter stands still is named by the survivors' diagnosis and
// by its ring neighbour's watchdog, whose report every rank passes on; a rank that stopped on
// its own is never called lost.
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "ptm/dist/heartbeat.h"

using namespace std::chrono_literals;
using ptm::test::contains;

namespace {

struct Reports {
  std::mutex mu;
  std::vector<std::string> lost;
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return lost.size();
  }
};

ptm::dist::HeartbeatOptions fast(Reports& reports) {
  ptm::dist::HeartbeatOptions o;
  o.period = 100ms;
  o.silence = 1000ms;
  o.grace = 0ms;
  o.on_lost = [&reports](const std::string& m) {
    std::lock_guard<std::mutex> lock(reports.mu);
    reports.lost.push_back(m);
  };
  return o;
}

}  // namespace

TEST_CASE("a rank whose heartbeat stands still is named by the survivors and by its watchdog", "[dist]") {
  auto store = c10::make_intrusive<c10d::HashStore>();
  Reports r0, r1;
  // Ranks 0 and 1 of 3 beat; rank 2 beat a few times and froze.
  store->add("hb/2", 5);
  ptm::dist::Heartbeat h0(store, 0, 3, fast(r0)), h1(store, 1, 3, fast(r1));
  CHECK(h0.diagnose() == "rank 2 of 3 was lost: its heartbeat stood still for 0.2 s");
  // Rank 1 watches rank 2: its watchdog reports once the silence has lasted 1 s.
  for (int i = 0; i < 100 && r1.count() == 0; ++i) std::this_thread::sleep_for(50ms);
  REQUIRE(r1.count() == 1);
  CHECK(contains(r1.lost[0], "rank 2 of 3 was lost: its heartbeat stood still for 1"));
  // Rank 0 watches rank 1, which beats, but passes rank 1's report on; the diagnoses take it too.
  for (int i = 0; i < 100 && r0.count() == 0; ++i) std::this_thread::sleep_for(50ms);
  REQUIRE(r0.count() == 1);
  CHECK(r0.lost[0] == r1.lost[0]);
  CHECK(h0.diagnose() == r1.lost[0]);
  CHECK(h1.diagnose() == r1.lost[0]);
}

TEST_CASE("ranks that all beat are not lost, and a rank that stopped on its own is named as stopped",
          "[dist]") {
  auto store = c10::make_intrusive<c10d::HashStore>();
  Reports r0, r1;
  ptm::dist::Heartbeat h0(store, 0, 2, fast(r0));
  {
    ptm::dist::Heartbeat h1(store, 1, 2, fast(r1));
    CHECK(h0.diagnose() == "");
  }  // rank 1 ends: its counter is marked stopped
  CHECK(h0.diagnose() == "rank 1 of 2 stopped (its own log says why)");
  std::this_thread::sleep_for(1500ms);  // longer than the silence: still not lost
  CHECK(r0.count() == 0);
  CHECK(r1.count() == 0);
}
