// zlib through Swift: deflateInit2/inflateInit2 are macros that pass the library version and
// struct size, so they get static-inline wrappers here.
#ifndef C_ZLIB_SHIM_H
#define C_ZLIB_SHIM_H
#include <zlib.h>

static inline int hub_deflate_init_raw(z_stream *s, int level, int window_bits, int mem_level) {
    return deflateInit2(s, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY);
}
static inline int hub_inflate_init_raw(z_stream *s, int window_bits) {
    return inflateInit2(s, -window_bits);
}
#endif
