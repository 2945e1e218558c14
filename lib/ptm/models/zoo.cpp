// One line per architecture. Adding a model = its files + one line here + a preset + tests.
#include "ptm/models/zoo.h"

namespace ptm::models {

void register_zoo(Registry<ModelFactory>& r) {
  (void)r;
}

}  // namespace ptm::models
