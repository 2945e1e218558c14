// One line per architecture. Adding a model = its files + one line here + a preset + tests.
#include "ptm/models/zoo.h"

#include "ptm/models/mlp.h"

namespace ptm::models {

void register_zoo(Registry<ModelFactory>& r) {
  register_gpt(r);
  register_bert(r);
  register_resnet(r);
  register_vit(r);
  r.add("mlp", "small MLP classifier / position-wise LM for tests and quick experiments", mlp_factory());
}

}  // namespace ptm::models
