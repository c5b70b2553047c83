#ifndef SEALGATE_CZLIB_H
#define SEALGATE_CZLIB_H
#include <zlib.h>
#endif
