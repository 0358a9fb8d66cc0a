#include "onyx_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Message kinds of the schema (Sources/ONNXProto/schema/onyx-onnx.proto). */
enum {
    K_LEAF = -1,
    K_MODEL = 0, K_GRAPH, K_NODE, K_ATTRIBUTE, K_TENSOR, K_SPARSE, K_VALUE_INFO,
    K_TYPE, K_TYPE_TENSOR, K_TYPE_SEQUENCE, K_TYPE_MAP, K_TYPE_OPTIONAL,
    K_TYPE_SPARSE, K_SHAPE, K_FUNCTION, K_ANNOTATION,
    K_NONE = -2, /* a field that is not a message: skip its bytes */
};

/* The message kind of field `field` inside a message of kind `kind`. */
static int child_kind(int kind, uint32_t field) {
    switch (kind) {
    case K_MODEL:
        switch (field) {
        case 7: return K_GRAPH;
        case 8: case 14: return K_LEAF;
        case 25: return K_FUNCTION;
        }
        break;
    case K_GRAPH:
        switch (field) {
        case 1: return K_NODE;
        case 5: return K_TENSOR;
        case 15: return K_SPARSE;
        case 11: case 12: case 13: return K_VALUE_INFO;
        case 14: return K_ANNOTATION;
        case 16: return K_LEAF;
        }
        break;
    case K_NODE:
        switch (field) {
        case 5: return K_ATTRIBUTE;
        case 9: return K_LEAF;
        }
        break;
    case K_ATTRIBUTE:
        switch (field) {
        case 5: case 10: return K_TENSOR;
        case 6: case 11: return K_GRAPH;
        case 22: case 23: return K_SPARSE;
        case 14: case 15: return K_TYPE;
        }
        break;
    case K_TENSOR:
        switch (field) {
        case 3: case 13: case 16: return K_LEAF;
        }
        break;
    case K_SPARSE:
        if (field == 1 || field == 2) return K_TENSOR;
        break;
    case K_VALUE_INFO:
        switch (field) {
        case 2: return K_TYPE;
        case 4: return K_LEAF;
        }
        break;
    case K_TYPE:
        switch (field) {
        case 1: return K_TYPE_TENSOR;
        case 4: return K_TYPE_SEQUENCE;
        case 5: return K_TYPE_MAP;
        case 9: return K_TYPE_OPTIONAL;
        case 8: return K_TYPE_SPARSE;
        }
        break;
    case K_TYPE_TENSOR:
    case K_TYPE_SPARSE:
        if (field == 2) return K_SHAPE;
        break;
    case K_TYPE_SEQUENCE:
    case K_TYPE_OPTIONAL:
        if (field == 1) return K_TYPE;
        break;
    case K_TYPE_MAP:
        if (field == 2) return K_TYPE;
        break;
    case K_SHAPE:
        if (field == 1) return K_LEAF;
        break;
    case K_FUNCTION:
        switch (field) {
        case 11: return K_ATTRIBUTE;
        case 7: return K_NODE;
        case 12: return K_VALUE_INFO;
        case 9: case 14: return K_LEAF;
        }
        break;
    case K_ANNOTATION:
        if (field == 2) return K_LEAF;
        break;
    }
    return K_NONE;
}

/* Reads a varint at *pos (< end). Returns 0 when malformed. */
static int read_varint(const uint8_t *data, size_t *pos, size_t end, uint64_t *out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= end) return 0;
        uint8_t byte = data[(*pos)++];
        value |= (uint64_t)(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            *out = value;
            return 1;
        }
    }
    return 0;
}

OnyxWireResult onyx_wire_scan(const uint8_t *data, size_t len, int max_depth) {
    return onyx_wire_scan_spans(data, len, max_depth, 0, NULL, NULL);
}

/* Appends a span to a growable array; returns 0 when out of memory. */
static int push_span(OnyxSpan **spans, size_t *count, size_t *capacity, size_t offset, size_t length) {
    if (*count == *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 64;
        OnyxSpan *bigger = realloc(*spans, grown * sizeof(OnyxSpan));
        if (!bigger) return 0;
        *spans = bigger;
        *capacity = grown;
    }
    (*spans)[*count].offset = offset;
    (*spans)[*count].length = length;
    (*count)++;
    return 1;
}

OnyxWireResult onyx_wire_scan_spans(const uint8_t *data, size_t len, int max_depth,
                                    size_t min_length, OnyxSpan **spans, size_t *n_spans) {
    OnyxWireResult result = { ONYX_WIRE_OK, 0, 0, "" };
    size_t span_capacity = 0;
    if (spans) *spans = NULL;
    if (n_spans) *n_spans = 0;
    if (max_depth < 1) max_depth = 1;
    int *kinds = malloc(sizeof(int) * (size_t)(max_depth + 1));
    size_t *ends = malloc(sizeof(size_t) * (size_t)(max_depth + 1));
    if (!kinds || !ends) {
        free(kinds);
        free(ends);
        result.status = ONYX_WIRE_MALFORMED;
        result.what = "out of memory";
        return result;
    }
    int depth = 0;
    kinds[0] = K_MODEL;
    ends[0] = len;
    size_t pos = 0;
    result.depth = 1;
    for (;;) {
        while (depth > 0 && pos == ends[depth]) depth--;
        if (depth == 0 && pos == ends[0]) break;
        size_t tag_at = pos;
        uint64_t tag;
        if (!read_varint(data, &pos, ends[depth], &tag)) {
            result.status = ONYX_WIRE_MALFORMED; result.offset = tag_at;
            result.what = "truncated or overlong field tag";
            break;
        }
        uint32_t field = (uint32_t)(tag >> 3);
        uint32_t wire = (uint32_t)(tag & 7);
        if (field == 0 || (tag >> 3) > 0x1fffffff) {
            result.status = ONYX_WIRE_MALFORMED; result.offset = tag_at;
            result.what = "invalid field number";
            break;
        }
        uint64_t value;
        switch (wire) {
        case 0:
            if (!read_varint(data, &pos, ends[depth], &value)) {
                result.status = ONYX_WIRE_MALFORMED; result.offset = tag_at;
                result.what = "truncated varint";
            }
            break;
        case 1:
        case 5: {
            size_t width = wire == 1 ? 8 : 4;
            if (ends[depth] - pos < width) {
                result.status = ONYX_WIRE_MALFORMED; result.offset = tag_at;
                result.what = "truncated fixed-width field";
            } else {
                pos += width;
            }
            break;
        }
        case 2: {
            if (!read_varint(data, &pos, ends[depth], &value) || value > ends[depth] - pos) {
                result.status = ONYX_WIRE_MALFORMED; result.offset = tag_at;
                result.what = "length-delimited field runs past its enclosing message";
                break;
            }
            int kind = child_kind(kinds[depth], field);
            if (spans && n_spans && kinds[depth] == K_TENSOR && field == 9 && value >= min_length && value > 0) {
                if (!push_span(spans, n_spans, &span_capacity, pos, (size_t)value)) {
                    result.status = ONYX_WIRE_MALFORMED; result.offset = tag_at;
                    result.what = "out of memory";
                    break;
                }
            }
            if (kind == K_NONE || kind == K_LEAF) {
                /* Leaf messages nest one level; their fields are scalars. */
                if (kind == K_LEAF && depth + 2 > max_depth) {
                    result.status = ONYX_WIRE_TOO_DEEP; result.offset = tag_at;
                    result.what = "message nesting too deep";
                    break;
                }
                pos += (size_t)value;
                break;
            }
            if (depth + 1 >= max_depth) {
                result.status = ONYX_WIRE_TOO_DEEP; result.offset = tag_at;
                result.what = "message nesting too deep";
                break;
            }
            depth++;
            kinds[depth] = kind;
            ends[depth] = pos + (size_t)value;
            if (depth + 1 > result.depth) result.depth = depth + 1;
            break;
        }
        default:
            result.status = ONYX_WIRE_MALFORMED; result.offset = tag_at;
            result.what = "unsupported wire type (groups or invalid)";
            break;
        }
        if (result.status != ONYX_WIRE_OK) break;
    }
    free(kinds);
    free(ends);
    return result;
}

/* State of the allocator that releases copied raw_data pages. */
typedef struct {
    const uint8_t *data;
    const OnyxSpan *spans;
    size_t n_spans;
    size_t expect;        /* next span whose copy target is not yet allocated */
    size_t released;      /* spans before this index have been released */
    size_t page;
} ReleasingState;

static void release_span(ReleasingState *state, size_t index) {
    const OnyxSpan *span = &state->spans[index];
    /* Whole pages inside the span only: neighbours may still be unread. */
    uintptr_t start = (uintptr_t)(state->data + span->offset);
    uintptr_t end = start + span->length;
    uintptr_t first = (start + state->page - 1) & ~(uintptr_t)(state->page - 1);
    uintptr_t last = end & ~(uintptr_t)(state->page - 1);
    if (last > first) madvise((void *)first, last - first, MADV_DONTNEED);
}

static void *releasing_alloc(void *opaque, size_t size) {
    ReleasingState *state = opaque;
    /* An allocation the size of an upcoming raw_data span is that span's
       copy target, so every span before it has been copied already. */
    for (size_t i = state->expect; i < state->n_spans && i < state->expect + 4; i++) {
        if (state->spans[i].length == size) {
            for (; state->released < i; state->released++) release_span(state, state->released);
            state->expect = i + 1;
            break;
        }
    }
    return malloc(size ? size : 1);
}

static void releasing_free(void *opaque, void *pointer) {
    (void)opaque;
    free(pointer);
}

Onnx__ModelProto *onyx_unpack_model_releasing(const uint8_t *data, size_t len,
                                              const OnyxSpan *spans, size_t n_spans) {
    long page = sysconf(_SC_PAGESIZE);
    ReleasingState state = { data, spans, n_spans, 0, 0, page > 0 ? (size_t)page : 4096 };
    ProtobufCAllocator allocator = { releasing_alloc, releasing_free, &state };
    Onnx__ModelProto *model = onnx__model_proto__unpack(&allocator, len, data);
    for (; state.released < n_spans; state.released++) release_span(&state, state.released);
    return model;
}

/* A ProtobufCBuffer that flushes to a file descriptor in 1 MiB chunks. */
typedef struct {
    ProtobufCBuffer base;
    int fd;
    int error;
    size_t used;
    uint8_t *chunk;
} FileBuffer;

enum { FILE_BUFFER_CHUNK = 1 << 20 };

static void write_all(FileBuffer *buffer, const uint8_t *bytes, size_t len) {
    while (len > 0 && buffer->error == 0) {
        ssize_t written = write(buffer->fd, bytes, len);
        if (written < 0) {
            if (errno == EINTR) continue;
            buffer->error = errno ? errno : EIO;
            return;
        }
        bytes += written;
        len -= (size_t)written;
    }
}

static void file_buffer_append(ProtobufCBuffer *base, size_t len, const uint8_t *bytes) {
    FileBuffer *buffer = (FileBuffer *)base;
    if (buffer->error) return;
    if (buffer->used + len > FILE_BUFFER_CHUNK) {
        write_all(buffer, buffer->chunk, buffer->used);
        buffer->used = 0;
    }
    if (len >= FILE_BUFFER_CHUNK) {
        write_all(buffer, bytes, len);
        return;
    }
    memcpy(buffer->chunk + buffer->used, bytes, len);
    buffer->used += len;
}

int onyx_pack_model_to_fd(const Onnx__ModelProto *model, int fd) {
    FileBuffer buffer;
    buffer.base.append = file_buffer_append;
    buffer.fd = fd;
    buffer.error = 0;
    buffer.used = 0;
    buffer.chunk = malloc(FILE_BUFFER_CHUNK);
    if (!buffer.chunk) return ENOMEM;
    onnx__model_proto__pack_to_buffer(model, &buffer.base);
    if (buffer.used > 0) write_all(&buffer, buffer.chunk, buffer.used);
    free(buffer.chunk);
    return buffer.error;
}
