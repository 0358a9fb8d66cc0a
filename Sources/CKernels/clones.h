/* ONYX_CLONES: compile a function for AVX-512, AVX2 and baseline x86-64, one
 * picked at load time (target_clones, an ifunc), on Linux x86-64; plainly
 * elsewhere. Not under Thread or Address Sanitizer: their runtimes are not
 * ready when the dynamic loader runs an ifunc resolver (the instrumented
 * resolver crashes the process at startup). Not part of the API. */
#ifndef ONYX_CLONES_H
#define ONYX_CLONES_H

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define ONYX_NO_CLONES 1
#endif
#endif

#if defined(__x86_64__) && defined(__linux__) && !defined(ONYX_NO_CLONES)
#define ONYX_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ONYX_CLONES
#endif

#endif
