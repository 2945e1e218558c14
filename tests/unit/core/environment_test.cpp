// Device resolution and provenance lines.
#include <ATen/detail/CUDAHooksInterface.h>

#include "catch.h"
#include "ptm/core/environment.h"
#include "ptm/core/errors.h"

TEST_CASE("device specs resolve to what is present", "[unit][core]") {
  const bool gpu = at::detail::getCUDAHooks().hasCUDA();
  CHECK(ptm::resolve_device("cpu") == "cpu");
  CHECK(ptm::resolve_device("auto") == (gpu ? "cuda:0" : "cpu"));
  CHECK_THROWS_AS(ptm::resolve_device("gpu"), ptm::ConfigError);
  CHECK_THROWS_AS(ptm::resolve_device("cuda:999"), ptm::ConfigError);
  if (!gpu) CHECK_THROWS_AS(ptm::resolve_device("cuda"), ptm::ConfigError);
}

TEST_CASE("provenance names ptm and torch versions and the device", "[unit][core]") {
  const auto p = ptm::provenance("cpu");
  REQUIRE(p.size() == 5);
  CHECK(p[0].first == "ptm");
  CHECK(p[0].second == "0.1.0");
  CHECK(p[2].first == "torch");
  CHECK(p[2].second == "2.11.0");
  CHECK(p[4].second.rfind("cpu (", 0) == 0);
}
