// The architectures of the zoo: each .cpp defines its factory; register_zoo lists them all.
#pragma once
#include "ptm/models/model.h"

namespace ptm::models {

// Adds every architecture to the registry (zoo.cpp).
void register_zoo(Registry<ModelFactory>& r);
void register_gpt(Registry<ModelFactory>& r);  // gpt_hf.cpp
void register_bert(Registry<ModelFactory>& r);  // bert.cpp
void register_resnet(Registry<ModelFactory>& r);  // resnet.cpp
void register_vit(Registry<ModelFactory>& r);  // vit.cpp

}  // namespace ptm::models
