// `ptm list [area]`: registry contents with one-line help.
#include <algorithm>
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/core/errors.h"
#include "ptm/core/text.h"
#include "ptm/recipes/catalog.h"

namespace ptm::cli {
namespace {

int run_list(const std::string& wanted) {
  const auto areas = recipes::catalog();
  std::vector<std::string> names;
  for (const auto& a : areas) names.push_back(a.name);
  if (!wanted.empty() && std::find(names.begin(), names.end(), wanted) == names.end())
    throw ConfigError(Origin{"command line"}, "list",
                      "unknown area '" + wanted + "'" + text::did_you_mean(wanted, names) +
                          "; areas: " + text::join(names, ", "));
  bool first = true;
  for (const auto& area : areas) {
    if (!wanted.empty() && area.name != wanted) continue;
    if (!first) std::cout << "\n";
    first = false;
    std::cout << area.name << ": " << area.help << "\n";
    size_t width = 0;
    for (const auto& e : area.entries) width = std::max(width, e.name.size());
    for (const auto& e : area.entries)
      std::cout << "  " << e.name << std::string(width - e.name.size() + 2, ' ') << e.help << "\n";
  }
  return 0;
}

}  // namespace

void add_list(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("list", "List registered components (sections, schedules, ...)");
  auto area = std::make_shared<std::string>();
  sub->add_option("area", *area, "one area only");
  sub->callback([&action, area] { action = [area] { return run_list(*area); }; });
}

}  // namespace ptm::cli
