// Target selection by module name.
#include "ptm/compress/targets.h"

#include <regex>

#include "ptm/models/low_rank.h"
#include "ptm/peft/peft_config.h"

namespace ptm::compress {

Targets select_targets(models::ModelImpl& model, const std::vector<std::string>& patterns) {
  static const std::regex in_layer(R"((^|\.)(h|layer|layers|blocks)\.\d+\.)");
  Targets out;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto* lin = item.value()->as<models::LinearImpl>();
    if (!lin || models::is_factorised(*lin)) continue;  // its two factors are Linears of their own
    const std::string& name = item.key();
    bool chosen = false;
    if (patterns.empty())
      chosen = std::regex_search(name, in_layer);
    else
      for (const auto& p : patterns) chosen = chosen || peft::name_matches(name, p);
    if (chosen) out.emplace_back(name, lin);
  }
  return out;
}

}  // namespace ptm::compress
