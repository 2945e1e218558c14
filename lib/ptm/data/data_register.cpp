// The "data" registry: every data set type, with one-line help for `ptm list data`.
#include "ptm/config/component.h"
#include "ptm/data/dataset.h"
#include "ptm/data/idx_images.h"
#include "ptm/data/text_classification.h"
#include "ptm/data/task_mixture.h"
#include "ptm/data/token_classification.h"
#include "ptm/data/token_mixture.h"
#include "ptm/data/token_windows.h"

namespace ptm::data {

StreamBuilder synthetic_factory(config::Section& s);  // synthetic.cpp

Registry<DataFactory>& datasets() {
  static Registry<DataFactory> registry = [] {
    Registry<DataFactory> r("data");
    r.add("tokens", "language-modelling windows from prepared token shards (ptm data prepare)", token_windows_factory);
    r.add("mixture", "language-modelling windows from several prepared folders in given proportions (sources: [{path, weight}])",
          token_mixture_factory);
    r.add("text_classification", "TSV/JSONL text (or pairs) with labels, encoded by a tokenizer",
          text_classification_factory);
    r.add("token_classification",
          "CoNLL-style word/tag files (NER, POS, chunks), tags aligned to word pieces as Hugging Face does",
          token_classification_factory);
    r.add("task_mixture",
          "fine-tuning examples from several labelled data sets (tasks) for one head, in given proportions "
          "(sources: [{type: text_classification, ..., weight, name}])",
          task_mixture_factory);
    r.add("idx_images", "MNIST-format IDX images (Fashion-MNIST, MNIST), normalised", idx_images_factory);
    r.add("synthetic", "seeded random batches (lm, classification, images) for tests and benchmarks",
          synthetic_factory);
    return r;
  }();
  return registry;
}

StreamBuilder parse_dataset(config::Section s) {
  const auto* entry = config::component_entry(s, datasets());
  if (!entry) {
    s.finish();
    return nullptr;
  }
  return entry->factory(s);
}

}  // namespace ptm::data
