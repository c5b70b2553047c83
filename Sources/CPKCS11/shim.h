#ifndef SEALGATE_CPKCS11_SHIM_H
#define SEALGATE_CPKCS11_SHIM_H
/* PKCS#11's types and constants only (p11-kit's header, Debian's libp11-kit-dev): nothing is
   linked. A token's module is loaded at run time with dlopen (SealCrypto's Pkcs11.swift). */
#include "/usr/include/p11-kit-1/p11-kit/pkcs11.h"
#endif
