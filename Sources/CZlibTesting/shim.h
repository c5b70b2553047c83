#ifndef SEALGATE_CZLIB_SHIM_H
#define SEALGATE_CZLIB_SHIM_H
#include <zlib.h>
#endif
