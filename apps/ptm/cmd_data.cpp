// `ptm data prepare --config R`: corpus -> tokenizer -> token shards + manifest.
// `ptm data inspect DIR`: what a prepared folder holds, and its first tokens decoded.
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/config/emit.h"
#include "ptm/core/errors.h"
#include "ptm/core/log.h"
#include "ptm/data/inspect.h"
#include "recipe_cli.h"

namespace ptm::cli {
namespace {

int run_prepare(const RecipeArgs& args) {
  const auto recipe = recipes::load(args.source());
  log::Level level;
  if (log::parse_level(recipe.run.log_level, level)) log::set_level(level);
  if (!recipe.prepare)
    throw ConfigError(Origin{args.config}, "prepare", "missing: ptm data prepare needs a prepare: section");
  const auto r = data::prepare_corpus(*recipe.prepare, config::to_yaml(recipe.resolved), args.overwrite);
  std::cout << "prepared " << r.out << ": " << r.documents << " documents, " << r.train_tokens << " train + "
            << r.val_tokens << " val tokens, vocab " << r.vocab_size << ", " << r.seconds << " s\n"
            << "documents: " << r.documents_read << " read, " << r.dropped_length << " outside the length filter, "
            << r.dropped_exact << " exact and " << r.dropped_near << " near duplicates, " << r.unused_by_mixture
            << " unused by the mixture, " << r.documents << " written\n"
            << "invalid UTF-8 (" << recipe.prepare->invalid_utf8 << "): " << r.invalid_utf8_documents
            << " documents, " << r.invalid_utf8_sequences << " sequences"
            << (r.dropped_invalid_utf8 > 0 ? ", " + std::to_string(r.dropped_invalid_utf8) + " documents skipped" : "")
            << "\n";
  for (const auto& m : r.mixture)
    std::cout << "mixture: " << m.source << " weight " << m.weight << ": " << m.documents << " documents, "
              << m.tokens << " tokens, share " << m.byte_share << " of text bytes, " << m.token_share
              << " of tokens\n";
  std::cout << "manifest sha256 " << r.manifest_sha256 << "\n";
  return 0;
}

}  // namespace

void add_data(CLI::App& app, Action& action) {
  auto* data = app.add_subcommand("data", "Prepare and inspect data: corpora -> tokenizer -> token shards");
  data->require_subcommand(1);

  auto* prepare = data->add_subcommand("prepare", "Tokenize a corpus into shards with a train/val split and a manifest");
  auto args = std::make_shared<RecipeArgs>();
  add_recipe_options(prepare, *args);
  prepare->callback([&action, args] { action = [args] { return run_prepare(*args); }; });

  auto* inspect = data->add_subcommand("inspect", "Summarise a prepared folder and decode its first tokens");
  auto path = std::make_shared<std::string>();
  auto count = std::make_shared<int64_t>(64);
  inspect->add_option("path", *path, "folder made by ptm data prepare")->required();
  inspect->add_option("--tokens", *count, "how many validation tokens to decode");
  inspect->callback([&action, path, count] {
    action = [path, count] {
      std::cout << data::inspect_prepared(*path, *count);
      return 0;
    };
  });
}

}  // namespace ptm::cli
