#ifndef SEALGATE_CSODIUM_SHIM_H
#define SEALGATE_CSODIUM_SHIM_H
#include <sodium.h>
#endif
