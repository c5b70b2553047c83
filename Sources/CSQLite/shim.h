#ifndef SEALGATE_CSQLITE_SHIM_H
#define SEALGATE_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
