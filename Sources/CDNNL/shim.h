#ifndef FTTRAIN_CDNNL_SHIM_H
#define FTTRAIN_CDNNL_SHIM_H
// oneDNN's C API (Debian's libdnnl-dev 2.6; it ships no pkg-config file, so the module links
// "dnnl" by name): bfloat16 and int8 (VNNI) matrix products with run-time CPU dispatch.
#include <oneapi/dnnl/dnnl.h>
#endif
