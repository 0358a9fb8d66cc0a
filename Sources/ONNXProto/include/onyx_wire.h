#ifndef ONYX_WIRE_H
#define ONYX_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "onyx-onnx.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of `onyx_wire_scan`.
typedef enum {
    ONYX_WIRE_OK = 0,
    ONYX_WIRE_MALFORMED = 1,   ///< not a well-formed protobuf message
    ONYX_WIRE_TOO_DEEP = 2,    ///< message nesting exceeds the limit
} OnyxWireStatus;

/// Result details of `onyx_wire_scan`.
typedef struct {
    OnyxWireStatus status;
    size_t offset;     ///< byte offset of the problem
    int depth;         ///< deepest message nesting seen
    const char *what;  ///< static description of the problem (or "")
} OnyxWireResult;

/// Walks the protobuf wire format of a serialized ModelProto without
/// recursion, descending into every field our schema declares as a message,
/// and checks that it is well formed and nests no deeper than `max_depth`.
/// libprotobuf-c recurses once per nesting level with no limit, so this must
/// pass before `onnx__model_proto__unpack` is called on untrusted bytes.
OnyxWireResult onyx_wire_scan(const uint8_t *data, size_t len, int max_depth);

/// Where a `TensorProto.raw_data` payload lies in the serialized bytes.
typedef struct {
    size_t offset;
    size_t length;
} OnyxSpan;

/// Like `onyx_wire_scan`, and also lists (in file order) the `raw_data`
/// payloads of at least `min_length` bytes in `*spans` (malloc'd, caller
/// frees; NULL when there are none).
OnyxWireResult onyx_wire_scan_spans(const uint8_t *data, size_t len, int max_depth,
                                    size_t min_length, OnyxSpan **spans, size_t *n_spans);

/// Unpacks a ModelProto from `data`, a read-only private file mapping, and
/// lets the kernel drop the mapping's pages of each listed `raw_data` span
/// once protobuf-c has copied it (protobuf-c copies in file order), so the
/// weights are resident about once instead of twice while loading.
/// Free the result with `onnx__model_proto__free_unpacked(m, NULL)`.
Onnx__ModelProto *onyx_unpack_model_releasing(const uint8_t *data, size_t len,
                                              const OnyxSpan *spans, size_t n_spans);

/// Serializes `model` to the file descriptor through a buffered
/// `ProtobufCBuffer`, never holding the whole encoding in memory.
/// Returns 0 on success or an errno value.
int onyx_pack_model_to_fd(const Onnx__ModelProto *model, int fd);

#ifdef __cplusplus
}
#endif

#endif
