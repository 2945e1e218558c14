// Reading a gpt model: section onto given options: GPT's counterpart of bind_bert / bind_vit,
// for a recipe's keys laid over a config.json's (hf_auto.h).
#pragma once
#include "ptm/config/binder.h"
#include "ptm/models/gpt.h"

namespace ptm::models {

// Keys absent from `s` keep o's values (and config.yaml records those).
void bind_gpt(config::Section& s, GptOptions& o);

}  // namespace ptm::models
