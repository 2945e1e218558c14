// What `ptm list` prints: every registry area with its entries and one-line help.
#pragma once
#include <string>
#include <vector>

namespace ptm::recipes {

struct CatalogEntry {
  std::string name;
  std::string help;
};

struct CatalogArea {
  std::string name;  // "schedules", "sections", ...
  std::string help;
  std::vector<CatalogEntry> entries;
};

std::vector<CatalogArea> catalog();

}  // namespace ptm::recipes
