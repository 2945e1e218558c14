// Sampling filters against transformers' warpers (tests/golden/sampling_reference.py), and
// seeded draws staying inside the kept tokens.
#include <sys/wait.h>

#include <cstdlib>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/generate.h"
#include "ptm/models/safetensors.h"

using namespace ptm::models;

TEST_CASE("filter_logits matches transformers' temperature top-k and top-p warpers", "[unit][models][generate]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/sampling_reference.py' '" + d.file("ref.safetensors") + "' 2>'" +
                          d.file("err.txt") + "'";
  const int rc = WEXITSTATUS(std::system(cmd.c_str()));
  INFO(ptm::test::read_text(d.file("err.txt")));
  REQUIRE(rc == 0);
  SafetensorsFile ref(d.file("ref.safetensors"));
  const auto logits = ref.tensor("logits");
  // The CASES of sampling_reference.py.
  const std::vector<GenerateOptions> cases = {{0, 1.0, 0, 0.9}, {0, 0.7, 10, 1.0}, {0, 1.3, 20, 0.5},
                                              {0, 0.5, 0, 0.3}, {0, 1.0, 3, 0.99}, {0, 2.0, 0, 0.999}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto expected = ref.tensor("warped_" + std::to_string(i));
    for (int64_t row = 0; row < logits.size(0); ++row) {
      INFO("case " << i << " row " << row);
      const auto mine = filter_logits(logits[row], cases[i]);
      const auto kept = torch::isfinite(expected[row]);
      CHECK(torch::equal(torch::isfinite(mine), kept));
      CHECK(torch::allclose(mine.masked_select(kept), expected[row].masked_select(kept), 1e-6, 1e-6));
      CHECK(kept.sum().item<int64_t>() < logits.size(1));  // every case removes something

      // Draws come from the kept tokens only, and a seed repeats them.
      auto g1 = at::detail::createCPUGenerator(7), g2 = at::detail::createCPUGenerator(7);
      for (int n = 0; n < 50; ++n) {
        const int64_t t = next_token(logits[row], cases[i], g1);
        CHECK(kept[t].item<bool>());
        CHECK(next_token(logits[row], cases[i], g2) == t);
      }
    }
  }
  GenerateOptions greedy;
  auto g = at::detail::createCPUGenerator(1);
  CHECK(next_token(logits[0], greedy, g) == logits[0].argmax().item<int64_t>());
}
