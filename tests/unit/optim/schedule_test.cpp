// Learning-rate schedules against Hugging Face transformers' multipliers (golden file made by
// tests/golden/make_schedule_golden.py), plus the shapes transformers does not have.
#include <cmath>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/config/emit.h"
#include "ptm/config/load.h"
#include "ptm/optim/schedule.h"

using namespace ptm;

namespace {

// Builds a schedule from YAML text through the registry, as a recipe would.
std::unique_ptr<optim::Schedule> from_yaml(const std::string& yaml, int64_t total) {
  const auto node = config::parse_yaml(yaml, "schedule.yaml");
  config::BindContext ctx;
  auto builder = optim::parse_schedule(config::Section(ctx, &node, "schedule", {}));
  ctx.throw_if_any();
  REQUIRE(builder);
  return builder(total);
}

}  // namespace

TEST_CASE("schedules match transformers step by step", "[unit][optim]") {
  const auto golden = nlohmann::json::parse(test::read_text(std::string(ptm::test::fixtures_dir()) + "/golden/schedules.json"));
  const int64_t total = golden["total_steps"];
  for (const auto& c : golden["cases"]) {
    std::string yaml;
    for (const auto& [k, v] : c["schedule"].items())
      yaml += k + ": " + (v.is_string() ? v.get<std::string>() : v.dump()) + "\n";
    INFO(yaml);
    const auto s = from_yaml(yaml, total);
    const auto& expected = c["multipliers"];
    REQUIRE(expected.size() == static_cast<size_t>(total + 1));
    for (int64_t step = 0; step <= total; ++step) {
      INFO("step " << step);
      CHECK(s->factor(step) == Approx(expected[step].get<double>()).margin(1e-12));
    }
  }
}

TEST_CASE("decaying schedules hold their final value past the end", "[unit][optim]") {
  const auto cos = from_yaml("type: cosine\nwarmup_steps: 2\nfinal_lr_fraction: 0.1\n", 10);
  CHECK(cos->factor(10) == Approx(0.1));
  CHECK(cos->factor(15) == Approx(0.1));
  const auto lin = from_yaml("type: linear\n", 10);
  CHECK(lin->factor(0) == Approx(1.0));
  CHECK(lin->factor(5) == Approx(0.5));
  CHECK(lin->factor(50) == Approx(0.0));
}

TEST_CASE("warmup can be given as a fraction of training", "[unit][optim]") {
  const auto s = from_yaml("type: constant\nwarmup_fraction: 0.1\n", 200);  // 20 steps
  CHECK(s->factor(10) == Approx(0.5));
  CHECK(s->factor(20) == Approx(1.0));
}

TEST_CASE("piecewise interpolates between breakpoints (slow start fast decay)", "[unit][optim]") {
  const auto s = from_yaml("type: piecewise\npoints: [[0, 0.1], [0.5, 1.0], [0.8, 1.0], [1.0, 0.0]]\n", 100);
  CHECK(s->factor(0) == Approx(0.1));
  CHECK(s->factor(25) == Approx(0.55));
  CHECK(s->factor(50) == Approx(1.0));
  CHECK(s->factor(70) == Approx(1.0));
  CHECK(s->factor(90) == Approx(0.5));
  CHECK(s->factor(100) == Approx(0.0));
}

TEST_CASE("bad schedule settings are reported with their keys", "[unit][optim]") {
  auto problems = [](const std::string& yaml) {
    const auto node = config::parse_yaml(yaml, "s.yaml");
    config::BindContext ctx;
    optim::parse_schedule(config::Section(ctx, &node, "schedule", {}));
    std::vector<std::string> out;
    for (const auto& p : ctx.problems()) out.push_back(p.path + ": " + p.message);
    return out;
  };
  CHECK(problems("type: cosin\n").at(0).find("did you mean cosine?") != std::string::npos);
  CHECK(problems("type: cosine\nfinal_lr_fraction: 2\n").at(0) == "schedule.final_lr_fraction: must be <= 1.0, got 2.0");
  CHECK(problems("type: wsd\ndecay: sqrt\n").at(0).find("schedule.decay: 'sqrt' is not one of") == 0);
  CHECK(problems("type: piecewise\npoints: [[0, 1], [0, 0]]\n").at(0).find("increase strictly") != std::string::npos);
  CHECK(problems("type: piecewise\n").at(0).find("schedule.points: missing required key") == 0);
  CHECK(problems("type: linear\nwarmup: 3\n").at(0).find("unknown key (did you mean warmup_steps?)") != std::string::npos);
}
