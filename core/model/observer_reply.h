// What the observer of a block run (core/model/block_forward.h's
// LinearInputObserver, core/backend/activations.h's ActivationsObserver)
// answers after seeing a linear's input.
#pragma once

namespace gptq::model {

enum class ObserverReply {
  kRunOn,  // run the linear and the rest of the block
  // The caller needs nothing more from this run: it ends here, the rest of
  // the block is not computed and the hidden state is left undefined (a
  // pipeline that wants only a sequential group's input, not the block's
  // output: core/pipeline/quantize_model.cpp's passes over chunks).
  kStop,
};

}  // namespace gptq::model
