#include "onyx-onnx.pb-c.h"
#include "onyx_wire.h"
